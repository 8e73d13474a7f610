import { Database } from '../../src/database/database';
import { Statements } from '../../src/database/statements';
import type { LoginEvidence } from '../support/login-client';
import { appLoginClient, createTestConnection } from '../support/saml-flow';
import { databaseKinds, startTestApp, type TestApp } from '../support/test-app';

const REDIRECT = 'https://app.example.com/callback';
const SETTING = `SELECT current_setting('synchronous_commit') AS value`;

/**
 * Ephemeral writes (Statements.rows' `ephemeral`): state of one login hop and diagnostics commit without
 * waiting for their own WAL flush; everything that must survive a crash commits as ever.
 */
describe.each(databaseKinds())('ephemeral writes on %s', (kind) => {
  let t: TestApp;
  let statements: Statements;
  beforeAll(async () => {
    t = await startTestApp(kind, {}, undefined, { listen: true });
    statements = t.app.get(Statements);
  }, 120_000);
  afterAll(async () => t?.close());

  it('commits ephemeral writes asynchronously and every other statement synchronously', async () => {
    const [ephemeral] = await statements.rows<{ value: string }>('test_sync_setting', SETTING, [], {
      ephemeral: true,
    });
    const [durable] = await statements.rows<{ value: string }>('test_sync_setting', SETTING, []);
    expect(durable?.value).toBe('on');
    // The embedded database has one session: nothing to gain, so everything commits as ever.
    expect(ephemeral?.value).toBe(kind === 'postgres' ? 'off' : 'on');
    expect(Boolean(t.app.get(Database).ephemeralPool())).toBe(kind === 'postgres');
  });

  it('writes only the login hops’ state and the SSO traces as ephemeral, never users, sessions, tokens, the replay cache or the audit chain', async () => {
    const saml = await createTestConnection(t, `ephemeral-${kind}`);
    const { login } = await appLoginClient(t, saml, 'Ephemeral app', REDIRECT);
    const rows = jest.spyOn(statements, 'rows');
    try {
      const evidence: LoginEvidence = { samlResponses: [], continues: [], codes: [] };
      await login.login('eph-0001', 'eph@example.com', evidence);
      await new Promise((r) => setTimeout(r, 100));
      const sent = rows.mock.calls.map(([name, text, values, options]) => ({
        name,
        text,
        values,
        ephemeral: options?.ephemeral === true,
      }));
      const ephemeral = sent.filter((s) => s.ephemeral);
      const names = new Set(ephemeral.map((s) => s.name));
      expect(names).toEqual(
        new Set(['insert_sso_traces', 'oidc_flush', expect.stringMatching(/^insert_saml_requests_/)]),
      );
      // The only ephemeral flush of oidc-provider's writes saves an interaction and nothing else.
      for (const flush of ephemeral.filter((s) => s.name === 'oidc_flush')) {
        const [deletedModels, , upsertedModels] = flush.values as string[][];
        expect(deletedModels).toEqual([]);
        expect(new Set(upsertedModels)).toEqual(new Set(['Interaction']));
      }
      // What must survive a crash is written synchronously.
      for (const table of [
        'users',
        'login_sessions',
        'saml_replay_cache',
        'audit_events',
        'oidc_access_token_jtis',
      ]) {
        expect(ephemeral.filter((s) => s.text.includes(table))).toEqual([]);
        expect(sent.some((s) => !s.ephemeral && s.text.includes(table))).toBe(true);
      }
      // The takes of single-use state are synchronous too.
      expect(ephemeral.filter((s) => /^\s*(DELETE|UPDATE)/i.test(s.text))).toEqual([]);
    } finally {
      rows.mockRestore();
    }
  }, 60_000);

  it("counts a SCIM token's use as ephemeral, and refuses the token at once once it is revoked", async () => {
    const saml = await createTestConnection(t, `ephemeral-scim-${kind}`);
    const created = await t.admin
      .post(`/api/v1/connections/${saml.id}/scim-tokens`)
      .send({ description: 'ephemeral' })
      .expect(201);
    const users = () =>
      t.http().get(`/scim/v2/${saml.slug}/Users`).set('Authorization', `Bearer ${created.body.token}`);
    const rows = jest.spyOn(statements, 'rows');
    try {
      await users().expect(200);
      const uses = rows.mock.calls.filter(([name]) => name === 'scim_token_use');
      expect(uses).toHaveLength(1);
      expect(uses[0]?.[3]).toEqual({ ephemeral: true });
    } finally {
      rows.mockRestore();
    }
    await t.admin.delete(`/api/v1/connections/${saml.id}/scim-tokens/${created.body.id}`).expect(204);
    await users().expect(401);
  });
});
