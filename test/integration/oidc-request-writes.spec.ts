import { OidcStorageRepository } from '../../src/oidc/oidc-storage.repository';
import type { Browser, LoginClient, LoginEvidence } from '../support/login-client';
import { appLoginClient, createTestConnection } from '../support/saml-flow';
import { postgresAvailable, startTestApp, type TestApp } from '../support/test-app';

const REDIRECT = 'https://app.example.com/callback';

/** The pg error of a connection the server dropped (restart, failover). */
const connectionLost = () => new Error('Connection terminated unexpectedly');

/**
 * oidc-provider's writes in a request are held and written in one statement before the response (see
 * withRequestWrites): when that statement fails, the request answers the database's 503 and has written
 * nothing, so the same request succeeds when retried.
 */
(postgresAvailable() ? describe : describe.skip)('OIDC requests whose writes cannot be saved', () => {
  let t: TestApp;
  let login: LoginClient;
  let flush: jest.SpyInstance;
  let client: { clientId: string; clientSecret: string };
  const base = () => `http://127.0.0.1:${t.config.port}`;
  const evidence = (): LoginEvidence => ({ samlResponses: [], continues: [], codes: [] });

  beforeAll(async () => {
    t = await startTestApp('postgres', {}, undefined, { listen: true });
    const saml = await createTestConnection(t, 'request-writes');
    ({ login, client } = await appLoginClient(t, saml, 'Request writes app', REDIRECT));
    flush = jest.spyOn(t.app.get(OidcStorageRepository), 'flush');
  }, 120_000);
  afterAll(async () => {
    flush?.mockRestore();
    await t?.close();
  });

  it('answers the continue step with a 503 page and no code, redirect or cookie; the retry is refused cleanly and a new login completes', async () => {
    const inner = login.browser();
    const failed: Response[] = [];
    // The continue step's oidc-provider writes (interaction destroyed; session, grant and code saved) fail.
    const browser: Browser = {
      cookie: inner.cookie,
      step: async (path, init) => {
        if (!/^\/oidc\/auth\/[^/]+\/continue/.test(path) || failed.length > 0) return inner.step(path, init);
        flush.mockRejectedValueOnce(connectionLost());
        failed.push(
          await fetch(`${base()}${path}`, { headers: { cookie: inner.cookie() }, redirect: 'manual' }),
        );
        return inner.step(path, init);
      },
    };
    // The browser retries the same continue link: its one-time code was taken by the failed request, so the
    // retry is the "start again" page (400 with its reason), never a 500 or a code.
    await expect(
      login.login('writes-user', 'writes-user@example.com', evidence(), { browser }),
    ).rejects.toMatchObject({ status: 400 });

    const [res] = failed;
    expect(res?.status).toBe(503);
    expect(res?.headers.get('retry-after')).toBe('2');
    expect(res?.headers.get('location')).toBeNull();
    expect(res?.headers.getSetCookie()).toEqual([]);
    expect(res?.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await res?.text();
    expect(page).toContain('database_unavailable');
    expect(page).not.toContain('code=');

    // Starting the sign-in again from the app works.
    const tokens = await login.login('writes-user', 'writes-user@example.com', evidence());
    expect(tokens.code).toEqual(expect.any(String));
  }, 60_000);

  it('answers the token endpoint with a JSON 503 (temporarily_unavailable) and no tokens', async () => {
    const pending = await login.toIdp({ scope: 'openid email offline_access', prompt: 'consent' });
    const callback = await login.fromIdp(pending, 'writes-user', 'writes-user@example.com', evidence());
    // The refresh token is saved with the response: that write fails.
    flush.mockRejectedValueOnce(connectionLost());
    const res = await fetch(`${base()}/oidc/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') as string,
        redirect_uri: REDIRECT,
        code_verifier: pending.verifier,
      }).toString(),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
  }, 60_000);
});
