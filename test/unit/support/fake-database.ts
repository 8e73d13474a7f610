import type { AuditEvent, AuditEventInput, AuditService } from '../../../src/audit/audit.service';
import type { Transaction, Transactions } from '../../../src/database/transactions';

/** A fake transaction: the writes fake repositories stage on it, applied only when the work succeeds. */
interface FakeTransaction {
  staged: Array<() => void>;
}

/** Stages a fake repository's write on the transaction (applied at commit, dropped at rollback). */
export function stage(tx: Transaction, write: () => void): void {
  (tx as unknown as FakeTransaction).staged.push(write);
}

/** Transactions without a database: commit applies the staged writes in order, a thrown error drops them. */
export class FakeTransactions implements Pick<Transactions, 'run'> {
  committed = 0;
  rolledBack = 0;

  async run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const tx: FakeTransaction = { staged: [] };
    let result: T;
    try {
      result = await work(tx as unknown as Transaction);
    } catch (err) {
      this.rolledBack++;
      throw err;
    }
    for (const write of tx.staged) write();
    this.committed++;
    return result;
  }

  asTransactions(): Transactions {
    return this as unknown as Transactions;
  }
}

/** An audit log in memory: what `record` (in a transaction or not) and `recordSafely` were given. */
export class FakeAudit implements Pick<AuditService, 'record' | 'recordSafely'> {
  readonly recorded: Array<{ input: AuditEventInput; inTransaction: boolean }> = [];
  readonly recordedSafely: AuditEventInput[] = [];
  /** When set, `record` throws it (the audit log is unavailable). */
  failWith: Error | null = null;

  readonly record = (async (input: AuditEventInput, manager?: Transaction) => {
    if (this.failWith) throw this.failWith;
    this.recorded.push({ input, inTransaction: manager !== undefined });
    return manager ? undefined : ({ type: input.type } as AuditEvent);
  }) as AuditService['record'];

  async recordSafely(input: AuditEventInput): Promise<AuditEvent | undefined> {
    this.recordedSafely.push(input);
    return undefined;
  }

  types(): string[] {
    return [...this.recorded.map((r) => r.input.type), ...this.recordedSafely.map((i) => i.type)];
  }

  asAuditService(): AuditService {
    return this as unknown as AuditService;
  }
}
