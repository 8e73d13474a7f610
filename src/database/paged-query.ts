import type { EntityManager } from 'typeorm';

/**
 * A page of rows and the count of all that match: `SELECT count(*)` and `SELECT <columns>` over the same
 * FROM / WHERE (`source`, with its parameters), ordered, offset and limited (no rows are read for limit 0).
 */
export async function pagedQuery<R>(
  m: EntityManager,
  q: { columns: string; source: string; values: unknown[]; orderBy: string },
  offset: number,
  limit: number,
): Promise<{ rows: R[]; total: number }> {
  const [count] = (await m.query(`SELECT count(*)::int AS n ${q.source}`, q.values)) as Array<{ n: number }>;
  const rows: R[] =
    limit > 0
      ? await m.query(
          `SELECT ${q.columns} ${q.source} ORDER BY ${q.orderBy} OFFSET ${Math.max(0, Math.floor(offset))} LIMIT ${Math.floor(limit)}`,
          q.values,
        )
      : [];
  return { rows, total: count?.n ?? 0 };
}
