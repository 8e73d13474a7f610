import type { Pool, PoolClient } from 'pg';
import type { Socket } from 'node:net';
import { DataSource } from 'typeorm';
import { Database } from '../../src/database/database';
import { pgPoolOf } from '../../src/database/pg-pool';
import { Statements } from '../../src/database/statements';
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
});
