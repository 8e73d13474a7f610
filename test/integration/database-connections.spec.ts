import type { Pool, PoolClient } from 'pg';
import type { Socket } from 'node:net';
import { DataSource } from 'typeorm';
import { AuditService } from '../../src/audit/audit.service';
import { Database } from '../../src/database/database';
import { isDatabaseUnavailable } from '../../src/database/database-errors';
import { PeriodicJobs } from '../../src/database/periodic-jobs';
import { pgPoolOf } from '../../src/database/pg-pool';
import { Statements } from '../../src/database/statements';
import { freeLoopbackPort } from '../support/bridge-process';
import { PrivatePostgres, postgresBinDir } from '../support/private-postgres';
import { databaseKinds, startTestApp, TestApp } from '../support/test-app';

/** Resolves when the client's connection has ended (its socket closed). */
const ended = (client: PoolClient) => new Promise<void>((resolve) => client.once('end', () => resolve()));

/**
 * The bridge's own connections, in-process, on both database kinds: a query that fails is an error for its
 * caller and never a crash, and a connection that dies while someone holds it (as the audit log's group
 * commit does) is replaced, with no unhandled `error` event.
 */
describe.each(databaseKinds())('database connections on %s', (kind) => {
  let t: TestApp;
  let dataSource: DataSource;
  let pool: Pool;
  beforeAll(async () => {
    t = await startTestApp(kind);
    dataSource = t.app.get(DataSource);
    pool = pgPoolOf(dataSource) as Pool;
  });
  afterAll(async () => t?.close());

  it('fails a bad query as an error, on every path, and keeps serving', async () => {
    const statements = t.app.get(Statements);
    await expect(dataSource.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
    await expect(statements.rows('bad_division', 'SELECT 1 / $1::int AS x', [0])).rejects.toMatchObject({
      code: '22012',
    });
    await expect(
      dataSource.transaction(async (m) => {
        await m.query('SELECT 1');
        await m.query('SELECT no_such_column FROM users');
      }),
    ).rejects.toMatchObject({ code: '42703' });
    const client = await pool.connect();
    try {
      await expect(client.query('SELEC 1')).rejects.toMatchObject({ code: '42601' });
      expect((await client.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    } finally {
      client.release();
    }
    expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await t.http().get('/readyz').expect(200);
    expect(t.app.get(Database).mode).toBe(kind);
  });

  it('survives the loss of a connection that is checked out of the pool, and replaces it', async () => {
    const client = await pool.connect();
    const gone = ended(client);
    if (kind === 'postgres') {
      // What a restart or failover does to each backend: FATAL 57P01, then the socket closes.
      await dataSource.query('SELECT pg_terminate_backend($1)', [
        (client as unknown as { processID: number }).processID,
      ]);
    } else {
      // The embedded server has one backend for every connection: cut this connection's socket instead.
      (client as unknown as { connection: { stream: Socket } }).connection.stream.destroy();
    }
    await gone;
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release();
    expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect((await pool.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
    await t.http().get('/readyz').expect(200);
  });

  (kind === 'postgres' ? it : it.skip)(
    'replaces an idle ephemeral connection the server dropped, counted once in the warning',
    async () => {
      const database = t.app.get(Database);
      const ephemeral = database.ephemeralPool() as Pool;
      const [{ pid }] = (await ephemeral.query('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
      const logged = database as unknown as {
        logger: { warn: (message: string) => void };
        lostLoggedAt: number;
        lostSinceLog: number;
      };
      logged.lostLoggedAt = 0;
      logged.lostSinceLog = 0;
      const warn = jest.spyOn(logged.logger, 'warn').mockImplementation(() => undefined);
      try {
        // The connection is idle in the pool: the pool re-emits its 'error' (which must not count twice).
        const dropped = new Promise<void>((resolve) => ephemeral.once('error', () => resolve()));
        await dataSource.query('SELECT pg_terminate_backend($1)', [pid]);
        await dropped;
        await new Promise((resolve) => setImmediate(resolve));
        expect(warn).toHaveBeenCalledTimes(1);
        expect(warn.mock.calls[0]?.[0]).toMatch(/^Lost 1 database connection\(s\)/);
        // Nothing left over for the next warning to count.
        expect(logged.lostSinceLog).toBe(0);
      } finally {
        warn.mockRestore();
      }
      expect((await ephemeral.query('SELECT 4 AS four')).rows).toEqual([{ four: 4 }]);
    },
  );
});

/** Needs PostgreSQL's server binaries, to stop and start a server of the test's own. */
(postgresBinDir() || process.env.REQUIRE_POSTGRES === '1' ? describe : describe.skip)(
  'while PostgreSQL is stopped (in-process)',
  () => {
    let pg: PrivatePostgres;
    let t: TestApp;
    beforeAll(async () => {
      pg = PrivatePostgres.create(await freeLoopbackPort());
      t = await startTestApp('postgres', { DATABASE_URL: pg.url() });
    });
    afterAll(async () => {
      await t?.close();
      pg?.destroy();
    });

    it('keeps a login audit event and appends it once the database is back; periodic jobs skip their turn', async () => {
      const audit = t.app.get(AuditService);
      const jobs = t.app.get(PeriodicJobs);
      const dataSource = t.app.get(DataSource);
      let runs = 0;
      const job = { name: 'test-outage-job', periodMs: 60_000, run: async () => void runs++ };
      pg.stop();
      try {
        await expect(
          audit.recordSafely({
            type: 'login.succeeded',
            actor: { type: 'user', id: 'outage-user', name: 'outage@example.com' },
            data: { marker: 'while-down' },
          }),
        ).resolves.toBeUndefined();
        const skipped = jobs.runIfDue(job);
        await expect(skipped).rejects.toThrow();
        expect(isDatabaseUnavailable(await skipped.catch((err: unknown) => err))).toBe(true);
        expect(runs).toBe(0);
        await t.http().get('/readyz').expect(503).expect('retry-after', /\d+/);
      } finally {
        pg.start();
      }
      // Appended by the retry (with backoff) once the database answers again.
      let rows: Array<{ data: Record<string, unknown> }> = [];
      for (let i = 0; i < 100 && rows.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 200));
        rows = await dataSource
          .query(`SELECT data FROM audit_events WHERE data->>'marker' = 'while-down'`)
          .catch(() => []);
      }
      expect(rows).toEqual([
        { data: { marker: 'while-down', delayedFrom: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) } },
      ]);
      expect(await audit.verify()).toMatchObject({ ok: true });
      expect(await jobs.runIfDue(job)).toBe(true);
      expect(runs).toBe(1);
      await t.http().get('/readyz').expect(200);
    }, 60_000);
  },
);
