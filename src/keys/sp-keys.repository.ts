import { Injectable } from '@nestjs/common';
import { DataSource, type DeepPartial, type Repository } from 'typeorm';
import type { Transaction } from '../database/transactions';
import { SpKeyEntity } from './sp-key.entity';

/** The sp_keys table: each connection's SP signing/decryption keys (private keys sealed). */
@Injectable()
export class SpKeysRepository {
  private readonly keys: Repository<SpKeyEntity>;

  constructor(dataSource: DataSource) {
    this.keys = dataSource.getRepository(SpKeyEntity);
  }

  /** Inserts a key (in the transaction when given) and returns it as stored. */
  insert(fields: DeepPartial<SpKeyEntity>, tx?: Transaction): Promise<SpKeyEntity> {
    const repo = tx ? tx.getRepository(SpKeyEntity) : this.keys;
    return repo.save(repo.create(fields));
  }

  /** The connection's keys, newest first or oldest first. */
  byConnection(connectionId: string, order: 'newest' | 'oldest'): Promise<SpKeyEntity[]> {
    return this.keys.find({
      where: { connectionId },
      order: { createdAt: order === 'newest' ? 'DESC' : 'ASC' },
    });
  }

  /** The current and next keys of every connection whose certificate ends before `date`. */
  liveExpiringBefore(date: Date): Promise<SpKeyEntity[]> {
    return this.keys
      .createQueryBuilder('k')
      .where('k.status IN (:...live)', { live: ['current', 'next'] })
      .andWhere('k.not_after < :date', { date })
      .getMany();
  }

  hasNext(connectionId: string): Promise<boolean> {
    return this.keys.existsBy({ connectionId, status: 'next' });
  }

  /** The connection's next key locked for update until the transaction ends, or null. */
  lockNext(tx: Transaction, connectionId: string): Promise<SpKeyEntity | null> {
    return tx.getRepository(SpKeyEntity).findOne({
      where: { connectionId, status: 'next' },
      lock: { mode: 'pessimistic_write' },
    });
  }

  currentKeys(tx: Transaction, connectionId: string): Promise<SpKeyEntity[]> {
    return tx.getRepository(SpKeyEntity).find({ where: { connectionId, status: 'current' } });
  }

  /** Retires the connection's current keys at `at` and makes `nextId` current. */
  async promote(tx: Transaction, connectionId: string, nextId: string, at: Date): Promise<void> {
    const repo = tx.getRepository(SpKeyEntity);
    await repo.update({ connectionId, status: 'current' }, { status: 'retired', retiredAt: at });
    await repo.update({ id: nextId }, { status: 'current' });
  }
}
