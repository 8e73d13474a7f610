import type { EntityManager } from 'typeorm';

/**
 * A page of rows and the count of all that match, in one statement (one round trip): `count(*)` and
 * `SELECT <columns>` over the same FROM / WHERE (`source`, with its parameters), ordered, offset and limited,
 * each planned as it would be alone (no rows are read for limit 0). The count is not a window over the
 * page's query, which would read every matching row before the limit.
 */
export async function pagedQuery<R>(
  m: EntityManager,
  q: { columns: string; source: string; values: unknown[]; orderBy: string },
  offset: number,
  limit: number,
): Promise<{ rows: R[]; total: number }> {
  if (limit <= 0) {
    const [count] = (await m.query(`SELECT count(*)::int AS n ${q.source}`, q.values)) as Array<{
      n: number;
    }>;
    return { rows: [], total: count?.n ?? 0 };
  }
  const found = (await m.query(
    `WITH page AS (
       SELECT ${q.columns}, row_number() OVER (ORDER BY ${q.orderBy}) AS paged_row__ ${q.source}
        ORDER BY ${q.orderBy} OFFSET ${Math.max(0, Math.floor(offset))} LIMIT ${Math.floor(limit)}),
     total AS (SELECT count(*)::int AS paged_total__ ${q.source})
     SELECT page.*, total.paged_total__ FROM total LEFT JOIN page ON true ORDER BY page.paged_row__`,
    q.values,
  )) as Array<Record<string, unknown> & { paged_row__: unknown; paged_total__: number }>;
  const total = found[0]?.paged_total__ ?? 0;
  const rows = found
    .filter((row) => row.paged_row__ !== null)
    .map(({ paged_row__: _row, paged_total__: _total, ...row }) => row as R);
  return { rows, total };
}
