import { Injectable } from '@nestjs/common';
import { DataSource, type DeepPartial, type Repository } from 'typeorm';
import type { Transaction } from '../../database/transactions';
import { SetupLinkEntity } from './setup-link.entity';

/** The setup_links table: every statement on it (admin create, list and revoke; the customer's lookups). */
@Injectable()
export class SetupLinksRepository {
  private readonly links: Repository<SetupLinkEntity>;

  constructor(dataSource: DataSource) {
    this.links = dataSource.getRepository(SetupLinkEntity);
  }

  /** Inserts the link in the transaction and returns it as saved (with its id). */
  insert(tx: Transaction, fields: DeepPartial<SetupLinkEntity>): Promise<SetupLinkEntity> {
    const repo = tx.getRepository(SetupLinkEntity);
    return repo.save(repo.create(fields));
  }

  /** A connection's links, newest first, at most `limit`. */
  listByConnection(connectionId: string, limit: number): Promise<SetupLinkEntity[]> {
    return this.links.find({ where: { connectionId }, order: { createdAt: 'DESC' }, take: limit });
  }

  /** The link whose token has this SHA-256, or null. */
  findByTokenHash(tokenHash: string): Promise<SetupLinkEntity | null> {
    return this.links.findOne({ where: { tokenHash } });
  }

  /** The connection's link, locked for update until the transaction ends, or null. */
  lockForConnection(tx: Transaction, connectionId: string, id: string): Promise<SetupLinkEntity | null> {
    return tx
      .getRepository(SetupLinkEntity)
      .findOne({ where: { id, connectionId }, lock: { mode: 'pessimistic_write' } });
  }

  /** Writes the link's revocation time. */
  async markRevoked(tx: Transaction, id: string, revokedAt: Date): Promise<void> {
    await tx.getRepository(SetupLinkEntity).update({ id }, { revokedAt });
  }

  /** Writes the time the link was last opened. */
  async markOpened(tx: Transaction, id: string, openedAt: Date): Promise<void> {
    await tx.getRepository(SetupLinkEntity).update({ id }, { lastOpenedAt: openedAt });
  }
}
