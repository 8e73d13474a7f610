import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/** A transaction's handle: repositories run their statements on it; `AuditService.record` appends on it. */
export type Transaction = EntityManager;

/**
 * Runs work in one database transaction (all its statements commit together or none does). Services open
 * transactions through this seam and hand the transaction to their repositories, so they hold no database
 * handle themselves and unit tests run them with a fake that calls the work directly.
 */
@Injectable()
export class Transactions {
  constructor(private readonly dataSource: DataSource) {}

  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** A handle outside any transaction: each statement commits on its own (reads, single writes). */
  get autocommit(): Transaction {
    return this.dataSource.manager;
  }
}
