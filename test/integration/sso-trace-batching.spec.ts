import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { SsoTraceEntity } from '../../src/audit/sso-trace.entity';
import { SsoTracesRepository } from '../../src/audit/sso-traces.repository';
import { SsoTracesService } from '../../src/audit/sso-traces.service';
import type { LoginClient, LoginEvidence } from '../support/login-client';
import { watchStatements } from '../support/pg-statements';
import { appLoginClient, createTestConnection, type SamlConnectionFixture } from '../support/saml-flow';
import { databaseKinds, startTestApp, type TestApp } from '../support/test-app';

/**
 * SSO traces are written by a group commit (SsoTracesService): traces recorded while a statement is in
 * flight go into the next one, one multi-row INSERT (unnest of one array per column). On both databases:
 * the arrays carry every column type of the table (uuid, timestamptz, varchar, text, jsonb, NULLs) intact,
 * a statement is all or nothing, and 32 concurrent logins keep every trace with fewer INSERTs than traces.
 * SSO_TRACE_BATCH_REPORT=1 prints the statements counted under concurrency.
 */
const REDIRECT = 'https://app.example.com/callback';
const CONCURRENT_LOGINS = 32;
const TRACE_INSERT = /^\s*INSERT INTO "?sso_traces"?/i;
const noEvidence = (): LoginEvidence => ({ samlResponses: [], continues: [], codes: [] });

describe.each(databaseKinds())('SSO trace group commit (%s)', (kind) => {
  let t: TestApp;
  let saml: SamlConnectionFixture;
  let login: LoginClient;
  let db: DataSource;
  let traceInserts = 0;
  let unwatch: (() => void) | undefined;

  beforeAll(async () => {
    unwatch = watchStatements((_client, text) => {
      if (TRACE_INSERT.test(text)) traceInserts++;
    });
    t = await startTestApp(kind, {}, undefined, { listen: true });
    db = t.app.get(DataSource);
    saml = await createTestConnection(t, `trace-batch-${kind}`);
    ({ login } = await appLoginClient(t, saml, 'Trace batch app', REDIRECT));
  }, 120_000);
  afterAll(async () => {
    unwatch?.();
    await t?.close();
  });

  const traceCount = async () =>
    (
      (await db.query('SELECT count(*)::int AS n FROM sso_traces WHERE connection_id = $1', [saml.id])) as [
        { n: number },
      ]
    )[0].n;

  const stored = async (ids: string[]) =>
    (await db.query(
      `SELECT id, connection_id, created_at, kind, outcome, reason, message, detail, saml_message, user_id,
              request_id FROM sso_traces WHERE id = ANY($1::uuid[])`,
      [ids],
    )) as Array<Record<string, unknown>>;

  const row = (fields: Partial<SsoTraceEntity>): SsoTraceEntity => ({
    id: randomUUID(),
    connectionId: saml.id,
    createdAt: new Date('2026-03-01T10:00:00.123Z'),
    kind: 'acs',
    outcome: 'failure',
    reason: null,
    message: null,
    detail: {},
    samlMessage: null,
    userId: null,
    requestId: null,
    ...fields,
  });

  it('one statement inserts every column type intact, NULLs and array-literal characters included', async () => {
    const tricky = 'quotes " and \\ backslash, {braces}, commas, NULL, é ✓ 𝄞';
    const traces = [
      row({
        reason: 'saml_signature_invalid',
        message: tricky,
        detail: { nested: { list: [1, 'two', null], text: tricky }, empty: '' },
        samlMessage: `<samlp:Response ID="_1">${tricky}</samlp:Response>`,
        userId: randomUUID(),
        requestId: 'req-1',
      }),
      row({ connectionId: null, kind: 'login', outcome: 'success', message: '' }),
      row({ kind: 'slo', reason: 'NULL', message: 'NULL', samlMessage: 'NULL', requestId: 'NULL' }),
    ];
    const before = traceInserts;
    const ids = await t.app.get(SsoTracesRepository).insertMany(traces);
    expect(traceInserts - before).toBe(1);
    expect([...ids].sort()).toEqual(traces.map((x) => x.id).sort());
    const rows = await stored(ids);
    for (const x of traces) {
      expect(rows.find((r) => r.id === x.id)).toEqual({
        id: x.id,
        connection_id: x.connectionId,
        created_at: x.createdAt,
        kind: x.kind,
        outcome: x.outcome,
        reason: x.reason,
        message: x.message,
        detail: x.detail,
        saml_message: x.samlMessage,
        user_id: x.userId,
        request_id: x.requestId,
      });
    }
  });

  it('a statement is all or nothing: one row PostgreSQL cannot store, and none of its rows is there', async () => {
    const good = row({ message: 'good' });
    const bad = row({ samlMessage: '<x>\u0000</x>' });
    await expect(t.app.get(SsoTracesRepository).insertMany([good, bad])).rejects.toThrow();
    expect(await stored([good.id, bad.id])).toEqual([]);
  });

  it('concurrent records share statements; each caller gets its own committed row', async () => {
    const traces = t.app.get(SsoTracesService);
    const before = traceInserts;
    const ids = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        traces.record({ connectionId: saml.id, kind: 'acs', outcome: 'failure', message: `concurrent ${i}` }),
      ),
    );
    expect(traceInserts - before).toBeLessThan(50);
    const rows = await stored(ids as string[]);
    expect(rows).toHaveLength(50);
    ids.forEach((id, i) => expect(rows.find((r) => r.id === id)?.message).toBe(`concurrent ${i}`));
  });

  it('a trace PostgreSQL cannot store (a NUL in its SAML message) is undefined; the rest of its batch is written', async () => {
    const traces = t.app.get(SsoTracesService);
    const ids = await Promise.all([
      traces.record({ connectionId: saml.id, kind: 'acs', outcome: 'failure', message: 'first' }),
      traces.record({ connectionId: saml.id, kind: 'acs', outcome: 'success', message: 'ok 1' }),
      traces.record({
        connectionId: saml.id,
        kind: 'acs',
        outcome: 'failure',
        message: 'nul',
        samlMessage: '<samlp:Response>\u0000</samlp:Response>',
      }),
      traces.record({ connectionId: saml.id, kind: 'acs', outcome: 'success', message: 'ok 2' }),
    ]);
    expect(ids[2]).toBeUndefined();
    const rows = await stored(ids.filter((id): id is string => id !== undefined));
    expect(rows.map((r) => r.message).sort()).toEqual(['first', 'ok 1', 'ok 2']);
  });

  it(`${CONCURRENT_LOGINS} concurrent logins: every trace written, in fewer INSERTs than traces`, async () => {
    /** The count once it reached `expected` (the authorize trace is written in the background), or after 5 s. */
    const settled = async (expected: number) => {
      for (let i = 0; i < 100 && (await traceCount()) < expected; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      return traceCount();
    };
    // A first login warms up what is cached per process (the connection, the client, signing keys).
    const start = (await traceCount()) + 2;
    await login.login('warm-up', 'warm-up@example.com', noEvidence());
    expect(await settled(start)).toBe(start);
    const inserts = traceInserts;
    const results = await Promise.allSettled(
      Array.from({ length: CONCURRENT_LOGINS }, (_, i) =>
        login.login(`user-${i}`, `user-${i}@example.com`, noEvidence()),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    // Each login writes two traces: its AuthnRequest (authorize) and its sign-in (interaction callback).
    const expected = start + 2 * CONCURRENT_LOGINS;
    expect(await settled(expected)).toBe(expected);
    const statements = traceInserts - inserts;
    if (process.env.SSO_TRACE_BATCH_REPORT === '1') {
      process.stdout.write(
        `${kind}: ${CONCURRENT_LOGINS} concurrent logins, ${2 * CONCURRENT_LOGINS} traces, ` +
          `${statements} INSERT INTO sso_traces statements\n`,
      );
    }
    expect(statements).toBeLessThan(2 * CONCURRENT_LOGINS);
  }, 120_000);
});
