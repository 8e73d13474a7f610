import { Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/** A transaction's handle: repositories run their statements on it; `AuditService.record` appends on it. */
export type Transaction = EntityManager;

/** What to do once each open transaction (of `Transactions.run`) has committed. */
const afterCommitTasks = new WeakMap<Transaction, Array<() => Promise<void>>>();

/**
 * Runs `task` once the transaction `tx` (opened by `Transactions.run`) has committed, before `run` returns
 * to its caller; never when it rolls back. The work is done by then, so a task that fails is logged and
 * does not fail the caller: it is for what must follow a commit and is also recovered otherwise (the audit
 * log chains a transaction's queued events this way; its periodic sweep chains any left behind).
 */
export function afterCommit(tx: Transaction, task: () => Promise<void>): void {
  const tasks = afterCommitTasks.get(tx);
  if (!tasks) throw new Error('afterCommit(tx, …) needs a transaction opened by Transactions.run');
  tasks.push(task);
}

/**
 * Runs work in one database transaction (all its statements commit together or none does). Services open
 * transactions through this seam and hand the transaction to their repositories, so they hold no database
 * handle themselves and unit tests run them with a fake that calls the work directly.
 */
@Injectable()
export class Transactions {
  private readonly logger = new Logger('Transactions');

  constructor(private readonly dataSource: DataSource) {}

  async run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const tasks: Array<() => Promise<void>> = [];
    const result = await this.dataSource.transaction((tx) => {
      afterCommitTasks.set(tx, tasks);
      return work(tx);
    });
    for (const task of tasks) {
      await task().catch((err: Error) =>
        this.logger.error({ err }, `A task after a commit failed: ${err.message}`),
      );
    }
    return result;
  }

  /** A handle outside any transaction: each statement commits on its own (reads, single writes). */
  get autocommit(): Transaction {
    return this.dataSource.manager;
  }
}
