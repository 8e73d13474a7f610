import { DataSource } from 'typeorm';
import { PeriodicJobs } from '../../src/database/periodic-jobs';
import { createTestConnection } from '../support/saml-flow';
import { postgresAvailable, startTestApp, type TestApp } from '../support/test-app';

/**
 * The users table keeps room on its pages (fillfactor 80), so the updates a user row keeps getting — the
 * login's profile and last_login_at, directory sync's groups claim — are HOT updates: the row is rewritten on
 * its page without a new entry in each of the table's five indexes. Measured here as PostgreSQL counts it,
 * on one backend (its statistics are flushed on demand).
 */
(postgresAvailable() ? describe : describe.skip)('the users table', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp('postgres');
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('updates columns no index covers in place (HOT), even right after a bulk insert', async () => {
    const connectionId = (await createTestConnection(t, 'hot-updates')).id;
    // HOT needs the dead versions of the earlier batches pruned: a transaction of the app's own periodic
    // jobs (the audit sweep, the purges) open in this database meanwhile would hold that back.
    t.app.get(PeriodicJobs).onApplicationShutdown();
    await new Promise((r) => setTimeout(r, 200));
    const runner = t.app.get(DataSource).createQueryRunner();
    try {
      const ids = (
        (await runner.query(
          `INSERT INTO users (connection_id, subject, user_name, email, scim_active, scim_resource)
           SELECT $1, 'user-' || g, 'user-' || g, 'user-' || g || '@example.com', true,
                  jsonb_build_object('displayName', repeat('x', 300))
             FROM generate_series(1, 1000) g RETURNING id`,
          [connectionId],
        )) as Array<{ id: string }>
      ).map((r) => r.id);
      const counts = async () => {
        await runner.query('SELECT pg_stat_force_next_flush()');
        await new Promise((r) => setTimeout(r, 50));
        const [row] = (await runner.query(
          `SELECT n_tup_upd::int AS updated, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables
            WHERE relname = 'users'`,
        )) as Array<{ updated: number; hot: number }>;
        return row!;
      };
      const before = await counts();
      // A directory sync's group batches, spread over the directory, each batch its own transaction: one user
      // in seven is updated once (at most two per page). That is within the room each page keeps, so no
      // update needs the page's dead versions pruned first (which another session's open snapshot in this
      // database could hold back): what is measured is the room itself.
      const touched = ids.filter((_, i) => i % 7 === 0);
      for (let batch = 0; batch < 20; batch++) {
        await runner.query(
          `UPDATE users SET directory_groups = ARRAY['Engineering', 'Everyone'], last_login_at = now()
            WHERE id = ANY($1::uuid[])`,
          [touched.filter((_, i) => i % 20 === batch)],
        );
      }
      const after = await counts();
      const updated = after.updated - before.updated;
      expect(updated).toBe(touched.length);
      // Without the room (fillfactor 100) the pages of a bulk insert are nearly full: 46 % of these were not HOT.
      expect((after.hot - before.hot) / updated).toBeGreaterThanOrEqual(0.97);
    } finally {
      await runner.release();
    }
  });
});
