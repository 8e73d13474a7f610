import type { Transactions } from '../database/transactions';
import { SecretBox } from './secret-box';
import { SealedValuesRepository } from './sealed-values.repository';

export interface ResealReport {
  /** Values re-sealed with the current secret, per table. */
  resealed: Record<string, number>;
  /** Values that already were sealed with the current secret, per table. */
  current: Record<string, number>;
}

/**
 * Re-seals every sealed value with the box's current secret, in one transaction (all or nothing; rows are
 * locked so a concurrent rollover waits). Idempotent: values already under the current secret are left
 * alone. Throws, changing nothing, when a value opens with neither secret.
 */
export async function resealAll(
  transactions: Transactions,
  box: SecretBox,
  values = new SealedValuesRepository(),
): Promise<ResealReport> {
  const report: ResealReport = { resealed: {}, current: {} };
  await transactions.run(async (tx) => {
    for (const table of values.tables()) {
      const rows = await values.lockAll(tx, table);
      report.resealed[table] = 0;
      report.current[table] = 0;
      for (const row of rows) {
        let resealed: string | undefined;
        try {
          resealed = box.reseal(row.sealed);
        } catch (err) {
          throw new Error(`${table} ${row.key}: ${(err as Error).message}`, { cause: err });
        }
        if (resealed === undefined) {
          report.current[table]++;
          continue;
        }
        await values.write(tx, table, row.key, resealed);
        report.resealed[table]++;
      }
    }
  });
  return report;
}
