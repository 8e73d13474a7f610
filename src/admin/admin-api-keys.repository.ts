import { Injectable } from '@nestjs/common';
import { DataSource, IsNull, type DeepPartial, type Repository } from 'typeorm';
import type { Transaction } from '../database/transactions';
import { AdminApiKeyEntity } from './admin-api-key.entity';

/** The admin_api_keys table: every statement on it (authentication lookups, create, list, revoke). */
@Injectable()
export class AdminApiKeysRepository {
  private readonly keys: Repository<AdminApiKeyEntity>;

  constructor(dataSource: DataSource) {
    this.keys = dataSource.getRepository(AdminApiKeyEntity);
  }

  /** The unrevoked key with this SHA-256, or null. */
  findActiveByHash(keyHash: string): Promise<AdminApiKeyEntity | null> {
    return this.keys.findOne({ where: { keyHash, revokedAt: IsNull() } });
  }

  async touchLastUsed(id: string, at: Date): Promise<void> {
    await this.keys.update({ id }, { lastUsedAt: at });
  }

  /** Inserts the key in the transaction and returns it as saved (with its id and creation time). */
  insert(tx: Transaction, fields: DeepPartial<AdminApiKeyEntity>): Promise<AdminApiKeyEntity> {
    const repo = tx.getRepository(AdminApiKeyEntity);
    return repo.save(repo.create(fields));
  }

  /** Every key, oldest first. */
  list(): Promise<AdminApiKeyEntity[]> {
    return this.keys.find({ order: { createdAt: 'ASC' } });
  }

  /** The key locked for update until the transaction ends, or null. */
  lockById(tx: Transaction, id: string): Promise<AdminApiKeyEntity | null> {
    return tx
      .getRepository(AdminApiKeyEntity)
      .findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  async markRevoked(tx: Transaction, id: string, revokedAt: Date): Promise<void> {
    await tx.getRepository(AdminApiKeyEntity).update({ id }, { revokedAt });
  }
}
