import { DataSource } from 'typeorm';
import { SsoTraceEntity } from '../../src/audit/sso-trace.entity';
import { Statements } from '../../src/database/statements';
import { SamlRequestEntity } from '../../src/saml/saml-request.entity';
import { createTestConnection } from '../support/saml-flow';
import { databaseKinds, startTestApp, TestApp } from '../support/test-app';

/** The hot paths' statements on the pg pool give the same entities as TypeORM's repositories. */
describe.each(databaseKinds())('Statements on %s', (kind) => {
  let t: TestApp;
  let statements: Statements;
  let dataSource: DataSource;
  let connectionId: string;
  beforeAll(async () => {
    t = await startTestApp(kind);
    statements = t.app.get(Statements);
    dataSource = t.app.get(DataSource);
    connectionId = (await createTestConnection(t, 'statements')).id;
  });
  afterAll(async () => t?.close());

  it('inserts an entity with generated keys and json values, and reads it back as TypeORM does', async () => {
    const traces = dataSource.getRepository(SsoTraceEntity);
    const trace = traces.create({
      connectionId,
      createdAt: new Date('2026-11-23T10:00:00.000Z'),
      kind: 'acs',
      outcome: 'failure',
      reason: 'saml_signature_invalid',
      message: null,
      detail: { attempts: [1, 2], nested: { ok: false } },
      samlMessage: null,
      userId: null,
      requestId: null,
    });
    const keys = await statements.insert(traces, trace);
    expect(keys).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(trace.id).toBe(keys.id);
    const read = await statements.findOne(traces, { id: keys.id as string });
    expect(read).toEqual(await traces.findOne({ where: { id: keys.id as string } }));
    expect(read).toMatchObject({
      detail: { attempts: [1, 2], nested: { ok: false } },
      reason: 'saml_signature_invalid',
    });
  });

  it('leaves out what the entity does not set (the column default applies) and matches on several columns', async () => {
    const requests = dataSource.getRepository(SamlRequestEntity);
    const now = new Date();
    const request = requests.create({
      id: '_statements-1',
      connectionId,
      kind: 'authn',
      returnTo: null,
      browserBinding: null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + 60_000),
    });
    await statements.insert(requests, request);
    const found = await statements.findOne(requests, { id: '_statements-1', connectionId, kind: 'authn' });
    expect(found).toEqual(await requests.findOne({ where: { id: '_statements-1' } }));
    expect(found?.context).toEqual({});
    await expect(statements.findOne(requests, { id: '_statements-1', kind: 'logout' })).resolves.toBeNull();
  });

  it('refuses one name for two statements', async () => {
    await expect(statements.rows('statements_spec', 'SELECT 1 AS one', [])).resolves.toEqual([{ one: 1 }]);
    await expect(statements.rows('statements_spec', 'SELECT 2 AS two', [])).rejects.toThrow(
      /used for two different statements/,
    );
  });

  it("runs a statement inside the caller's transaction, prepared on that connection on PostgreSQL", async () => {
    const seen = await dataSource.transaction(async (m) => {
      await m.query(`CREATE TEMP TABLE statements_in_tx (n int) ON COMMIT DROP`);
      await statements.rowsIn(m, 'statements_spec_in_tx', 'INSERT INTO statements_in_tx VALUES ($1)', [7]);
      // The same transaction sees its own write: the statement ran on its connection.
      const [row] = await statements.rowsIn<{ n: number }>(
        m,
        'statements_spec_in_tx_read',
        'SELECT n FROM statements_in_tx',
      );
      const prepared: Array<{ name: string }> = await m.query(
        `SELECT name FROM pg_prepared_statements WHERE name LIKE 'statements_spec_in_tx%'`,
      );
      return { n: row?.n, prepared: prepared.map((p) => p.name).sort() };
    });
    expect(seen.n).toBe(7);
    // The embedded database shares one session between its connections: nothing is prepared there.
    expect(seen.prepared).toEqual(
      kind === 'postgres' ? ['statements_spec_in_tx', 'statements_spec_in_tx_read'] : [],
    );
    await expect(
      dataSource.transaction((m) => statements.rowsIn(m, 'statements_spec_in_tx', 'SELECT 2', [])),
    ).rejects.toThrow(/used for two different statements/);
  });
});
