import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { pgPoolOf } from '../database/pg-pool';

/** A connection's soonest IdP signing certificate expiry (ISO text), null when it lists none. */
export interface CertificateExpiryRow {
  slug: string;
  not_after: string | null;
}

export interface MetadataStatusRow {
  slug: string;
  metadata_status: string;
}

/** How many database pool connections there are, idle, and requests waiting for one. */
export interface PoolCounts {
  total: number;
  idle: number;
  waiting: number;
}

/** The read model of the gauges /metrics reports: what it reads from the database and its pool. */
@Injectable()
export class MetricsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Each connection's soonest-expiring IdP signing certificate. */
  certificateExpiries(): Promise<CertificateExpiryRow[]> {
    return this.dataSource.query(
      `SELECT slug, (SELECT min((c->>'notAfter')::timestamptz) FROM jsonb_array_elements(idp->'signingCertificates') c) AS not_after
         FROM connections`,
    );
  }

  /** Each connection's metadata status. */
  metadataStatuses(): Promise<MetadataStatusRow[]> {
    return this.dataSource.query(`SELECT slug, metadata_status FROM connections`);
  }

  /** The pool's counts, or undefined before the database is open. */
  poolCounts(): PoolCounts | undefined {
    const pool = pgPoolOf(this.dataSource);
    if (!pool) return undefined;
    return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
  }
}
