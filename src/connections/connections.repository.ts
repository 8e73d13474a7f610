import { Injectable } from '@nestjs/common';
import { DataSource, type DeepPartial, type Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { returnedRows } from '../database/returned-rows';
import type { Transaction } from '../database/transactions';
import { ConnectionEntity } from './connection.entity';

/** Which connections a page lists: a case-insensitive substring of slug, name or a domain. */
export interface ConnectionPageQuery {
  q?: string;
  limit: number;
  offset: number;
}

/** The connections table: every statement on it (admin reads and writes, metadata refresh, login lookups). */
@Injectable()
export class ConnectionsRepository {
  private readonly connections: Repository<ConnectionEntity>;

  constructor(private readonly dataSource: DataSource) {
    this.connections = dataSource.getRepository(ConnectionEntity);
  }

  /** A new, unsaved connection with these fields. */
  build(fields: DeepPartial<ConnectionEntity>): ConnectionEntity {
    return this.connections.create(fields);
  }

  existsBySlug(slug: string): Promise<boolean> {
    return this.connections.existsBy({ slug });
  }

  findById(id: string): Promise<ConnectionEntity | null> {
    return this.connections.findOne({ where: { id } });
  }

  findBySlug(slug: string): Promise<ConnectionEntity | null> {
    return this.connections.findOne({ where: { slug } });
  }

  /** The slugs of the enabled connections that list this domain, in slug order. */
  enabledWithDomain(domain: string): Promise<Array<{ slug: string }>> {
    return this.dataSource.query(
      `SELECT slug FROM connections WHERE enabled AND $1 = ANY(domains) ORDER BY slug`,
      [domain],
    );
  }

  /** Connections oldest first (then by id), matching `q` when given. */
  async page(query: ConnectionPageQuery): Promise<{ items: ConnectionEntity[]; total: number }> {
    const qb = this.connections
      .createQueryBuilder('c')
      .orderBy('c.created_at', 'ASC')
      .addOrderBy('c.id', 'ASC');
    if (query.q) {
      const needle = `%${query.q.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
      qb.where(
        "(c.slug LIKE :needle OR lower(c.name) LIKE :needle OR array_to_string(c.domains, ',') LIKE :needle)",
        { needle },
      );
    }
    const [items, total] = await qb.take(query.limit).skip(query.offset).getManyAndCount();
    return { items, total };
  }

  /** Inserts or updates the connection in the transaction and returns it as saved. */
  save(tx: Transaction, entity: ConnectionEntity): Promise<ConnectionEntity> {
    return tx.getRepository(ConnectionEntity).save(entity);
  }

  async update(tx: Transaction, id: string, fields: QueryDeepPartialEntity<ConnectionEntity>): Promise<void> {
    await tx.getRepository(ConnectionEntity).update({ id }, fields);
  }

  /** The connection locked for update until the transaction ends, or null. */
  lockById(tx: Transaction, id: string): Promise<ConnectionEntity | null> {
    return tx.getRepository(ConnectionEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  /** Deletes the connection (its users, SP keys and sessions go with it: ON DELETE CASCADE). */
  async delete(tx: Transaction, id: string): Promise<void> {
    await tx.getRepository(ConnectionEntity).delete({ id });
  }

  /**
   * Claims up to `limit` connections whose metadata refresh is due at `now`: each gets a lease (its next
   * refresh moves `leaseSeconds` ahead), and FOR UPDATE SKIP LOCKED gives each to exactly one instance.
   */
  async claimDueRefreshes(now: Date, leaseSeconds: number, limit: number): Promise<string[]> {
    const claimed: unknown = await this.dataSource.query(
      `UPDATE connections SET metadata_next_refresh_at = now() + make_interval(secs => $2)
        WHERE id IN (
          SELECT id FROM connections
           WHERE metadata_url IS NOT NULL AND metadata_next_refresh_at <= $1
           ORDER BY metadata_next_refresh_at
           LIMIT $3
           FOR UPDATE SKIP LOCKED)
        RETURNING id`,
      [now, leaseSeconds, limit],
    );
    return returnedRows<{ id: string }>(claimed).map((r) => r.id);
  }
}
