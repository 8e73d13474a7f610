import { DataSource } from 'typeorm';
import { pagedQuery } from '../../src/database/paged-query';
import { createTestConnection } from '../support/saml-flow';
import { databaseKinds, startTestApp, type TestApp } from '../support/test-app';

/** A page and the count of all matching rows in one statement, on both databases. */
describe.each(databaseKinds())('pagedQuery on %s', (kind) => {
  let t: TestApp;
  let connectionId: string;
  let subjects: string[];

  beforeAll(async () => {
    t = await startTestApp(kind);
    connectionId = (await createTestConnection(t, 'paged')).id;
    const rows: Array<{ subject: string }> = await t.app.get(DataSource).query(
      `INSERT INTO users (connection_id, subject, user_name, created_at)
       SELECT $1, 'user-' || g, 'user-' || g, timestamptz '2026-01-01' + g * interval '1 minute'
         FROM generate_series(1, 5) g RETURNING subject`,
      [connectionId],
    );
    subjects = rows.map((r) => r.subject);
  }, 60_000);
  afterAll(async () => t?.close());

  const page = (offset: number, limit: number, where = '') =>
    pagedQuery<{ subject: string; id: string }>(
      t.app.get(DataSource).manager,
      {
        columns: 'u.*',
        source: `FROM users u WHERE u.connection_id = $1${where}`,
        values: [connectionId],
        orderBy: 'u.created_at, u.id',
      },
      offset,
      limit,
    );

  it('pages in order with the total on every page, before and beyond the end', async () => {
    const pages = await Promise.all([page(0, 2), page(2, 2), page(4, 2), page(6, 2)]);
    expect(pages.map((p) => p.total)).toEqual([5, 5, 5, 5]);
    expect(pages.map((p) => p.rows.map((r) => r.subject))).toEqual([
      subjects.slice(0, 2),
      subjects.slice(2, 4),
      subjects.slice(4),
      [],
    ]);
    // Whole rows, without the statement's own columns.
    expect(Object.keys(pages[0]!.rows[0]!)).toEqual(
      expect.arrayContaining(['id', 'subject', 'connection_id']),
    );
    expect(Object.keys(pages[0]!.rows[0]!).filter((k) => k.startsWith('paged_'))).toEqual([]);
  });

  it('counts without reading rows for a page of 0, and answers 0 when nothing matches', async () => {
    expect(await page(0, 0)).toEqual({ rows: [], total: 5 });
    expect(await page(0, 10, ` AND u.subject = 'nobody'`)).toEqual({ rows: [], total: 0 });
  });
});
