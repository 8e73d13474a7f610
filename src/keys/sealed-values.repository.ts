import { Injectable } from '@nestjs/common';
import type { Transaction } from '../database/transactions';

/** Every column holding a value sealed with BRIDGE_SECRET, by table and primary key. */
const SEALED_COLUMNS = [
  { table: 'sp_keys', key: 'id', column: 'private_key_sealed' },
  { table: 'oidc_signing_keys', key: 'kid', column: 'private_jwk_sealed' },
  { table: 'webhook_endpoints', key: 'id', column: 'secret_sealed' },
] as const;

/** A table holding sealed values. */
export type SealedTable = (typeof SEALED_COLUMNS)[number]['table'];

/** One sealed value and the primary key (as text) of its row. */
export interface SealedValue {
  key: string;
  sealed: string;
}

function columnsOf(table: SealedTable): (typeof SEALED_COLUMNS)[number] {
  const found = SEALED_COLUMNS.find((c) => c.table === table);
  if (!found) throw new Error(`No sealed column in ${table}`);
  return found;
}

/** The values sealed with BRIDGE_SECRET, across the tables that hold them (for re-sealing them all). */
@Injectable()
export class SealedValuesRepository {
  /** The tables holding sealed values, in the order they are re-sealed. */
  tables(): SealedTable[] {
    return SEALED_COLUMNS.map((c) => c.table);
  }

  /** Every sealed value of the table, by primary key, locked for update until the transaction ends. */
  lockAll(tx: Transaction, table: SealedTable): Promise<SealedValue[]> {
    const { key, column } = columnsOf(table);
    return tx.query(
      `SELECT ${key}::text AS key, ${column} AS sealed FROM ${table} ORDER BY ${key} FOR UPDATE`,
    );
  }

  /** Replaces the sealed value of the row with this primary key. */
  async write(tx: Transaction, table: SealedTable, rowKey: string, sealed: string): Promise<void> {
    const { key, column } = columnsOf(table);
    await tx.query(`UPDATE ${table} SET ${column} = $1 WHERE ${key}::text = $2`, [sealed, rowKey]);
  }
}
