/**
 * The rows of a `RETURNING` query run through `DataSource.query`: TypeORM's PostgreSQL driver answers
 * UPDATE and DELETE with `[rows, rowCount]` and INSERT with the rows alone.
 */
export function returnedRows<T>(result: unknown): T[] {
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  ) {
    return result[0] as T[];
  }
  return Array.isArray(result) ? (result as T[]) : [];
}

/** How many rows an UPDATE or DELETE run through `DataSource.query` affected. */
export function affectedRows(result: unknown): number {
  return Array.isArray(result) && result.length === 2 && typeof result[1] === 'number' ? result[1] : 0;
}
