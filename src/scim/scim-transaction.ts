import type { Transaction, Transactions } from '../database/transactions';
import { ScimError } from './scim-error';

/** A unique violation (two requests creating the same resource at once). */
function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string } };
  return e?.code === '23505' || e?.driverError?.code === '23505';
}

/**
 * One SCIM request's writes and their audit event, all or nothing. A unique violation the checks could not
 * see coming (a concurrent create) is answered as the SCIM 409 `uniqueness` it is.
 */
export async function scimTransaction<T>(
  transactions: Transactions,
  conflict: string,
  work: (m: Transaction) => Promise<T>,
): Promise<T> {
  try {
    return await transactions.run(work);
  } catch (err) {
    if (isUniqueViolation(err)) throw ScimError.conflict(conflict);
    throw err;
  }
}
