import { DataSource } from 'typeorm';
import { SamlStateService } from '../../src/saml/saml-state.service';
import type { LoginCompletion } from '../../src/saml/saml-state.service';
import { createTestConnection } from '../support/saml-flow';
import { databaseKinds, startTestApp, type TestApp } from '../support/test-app';

/**
 * A validated login's single-use writes (the ACS's last check) are one statement: the pending request
 * taken, the assertion ID remembered, the completion stored — all or nothing, on the real database.
 */
describe.each(databaseKinds())('accepting a validated login on %s', (kind) => {
  let t: TestApp;
  let state: SamlStateService;
  let connectionId: string;
  const count = async (sql: string, params: unknown[]) =>
    Number(((await t.app.get(DataSource).query(sql, params)) as Array<{ n: string }>)[0]?.n);
  const requests = (id: string) => count('SELECT count(*) AS n FROM saml_requests WHERE id = $1', [id]);
  const replayed = (id: string) =>
    count('SELECT count(*) AS n FROM saml_replay_cache WHERE connection_id = $1 AND assertion_id = $2', [
      connectionId,
      id,
    ]);
  const completions = () =>
    count('SELECT count(*) AS n FROM login_completions WHERE connection_id = $1', [connectionId]);
  const until = () => new Date(Date.now() + 5 * 60_000);
  const completion = (): Omit<LoginCompletion, 'expiresAt'> => ({
    connectionId,
    login: {
      mapped: {
        subject: 'accept-user',
        subjectSource: 'nameId',
        email: 'accept@example.com',
        emailVerified: true,
        givenName: null,
        familyName: null,
        displayName: null,
        groups: [],
      },
      attributes: { email: ['accept@example.com'] },
      assertionId: '_a',
      session: { nameId: 'accept-user' },
    },
    browserBinding: null,
    returnTo: '/after',
    consumer: 'app-session',
    state: {},
  });
  const pending = async (id: string) =>
    state.createRequest({ id, connectionId, kind: 'authn', returnTo: null });

  beforeAll(async () => {
    t = await startTestApp(kind);
    state = t.app.get(SamlStateService);
    connectionId = (await createTestConnection(t, `accept-${kind}`)).id;
  }, 120_000);
  afterAll(async () => t?.close());

  it('takes the request, remembers the assertion and stores the login, whose code its consumer takes', async () => {
    await pending('_accept-1');
    const before = await completions();
    const outcome = await state.acceptLogin(
      '_accept-1',
      { id: '_assertion-1', until: until() },
      completion(),
    );
    expect(outcome).toEqual({ requestTaken: true, remembered: true, code: expect.any(String) });
    expect([await requests('_accept-1'), await replayed('_assertion-1'), await completions()]).toEqual([
      0,
      1,
      before + 1,
    ]);
    expect(await state.takeCompletion(outcome.code ?? '', 'app-session')).toMatchObject({
      connectionId,
      returnTo: '/after',
      login: { assertionId: '_a', mapped: { subject: 'accept-user' } },
    });
  });

  it('writes nothing for a request another response took first', async () => {
    await pending('_accept-2');
    await state.acceptLogin('_accept-2', { id: '_assertion-2a', until: until() }, completion());
    const before = await completions();
    const outcome = await state.acceptLogin(
      '_accept-2',
      { id: '_assertion-2b', until: until() },
      completion(),
    );
    expect(outcome).toEqual({ requestTaken: false, remembered: false });
    expect([await replayed('_assertion-2b'), await completions()]).toEqual([0, before]);
  });

  it('takes the request of a replayed assertion but stores no login for it', async () => {
    await state.acceptLogin(null, { id: '_assertion-3', until: until() }, completion());
    await pending('_accept-3');
    const before = await completions();
    const outcome = await state.acceptLogin(
      '_accept-3',
      { id: '_assertion-3', until: until() },
      completion(),
    );
    expect(outcome).toEqual({ requestTaken: true, remembered: false });
    expect([await requests('_accept-3'), await replayed('_assertion-3'), await completions()]).toEqual([
      0,
      1,
      before,
    ]);
  });

  it('gives a request answered by many responses at once to exactly one of them', async () => {
    await pending('_accept-4');
    const before = await completions();
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        state.acceptLogin('_accept-4', { id: `_assertion-4-${i}`, until: until() }, completion()),
      ),
    );
    expect(outcomes.filter((o) => o.code !== undefined)).toHaveLength(1);
    expect(outcomes.filter((o) => o.requestTaken)).toHaveLength(1);
    expect(await completions()).toBe(before + 1);
  });

  it('reads a pending request without taking it, and not once it expired', async () => {
    await pending('_accept-5');
    expect(await state.findRequest('_accept-5', connectionId, 'authn')).toMatchObject({ id: '_accept-5' });
    expect(await state.findRequest('_accept-5', connectionId, 'logout')).toBeNull();
    expect(await requests('_accept-5')).toBe(1);
    await t.app
      .get(DataSource)
      .query(`UPDATE saml_requests SET expires_at = now() - interval '1 second' WHERE id = $1`, [
        '_accept-5',
      ]);
    expect(await state.findRequest('_accept-5', connectionId, 'authn')).toBeNull();
    const outcome = await state.acceptLogin(
      '_accept-5',
      { id: '_assertion-5', until: until() },
      completion(),
    );
    expect(outcome).toEqual({ requestTaken: false, remembered: false });
  });
});
