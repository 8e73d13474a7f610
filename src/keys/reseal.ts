import type { DataSource } from 'typeorm';
import { SecretBox } from './secret-box';

/** Every column holding a value sealed with BRIDGE_SECRET, by table and primary key. */
const SEALED_COLUMNS = [
  { table: 'sp_keys', key: 'id', column: 'private_key_sealed' },
  { table: 'oidc_signing_keys', key: 'kid', column: 'private_jwk_sealed' },
  { table: 'webhook_endpoints', key: 'id', column: 'secret_sealed' },
] as const;

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
export async function resealAll(dataSource: DataSource, box: SecretBox): Promise<ResealReport> {
  const report: ResealReport = { resealed: {}, current: {} };
  await dataSource.transaction(async (manager) => {
    for (const { table, key, column } of SEALED_COLUMNS) {
      const rows: Array<{ key: string; sealed: string }> = await manager.query(
        `SELECT ${key}::text AS key, ${column} AS sealed FROM ${table} ORDER BY ${key} FOR UPDATE`,
      );
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
        await manager.query(`UPDATE ${table} SET ${column} = $1 WHERE ${key}::text = $2`, [
          resealed,
          row.key,
        ]);
        report.resealed[table]++;
      }
    }
  });
  return report;
}
