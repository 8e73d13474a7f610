import { DataSource } from 'typeorm';
import { JwtAccessTokens } from '../../src/oidc/jwt-access-tokens';
import { OidcLogoutService } from '../../src/oidc/oidc-logout.service';
import { LoginClient, type LoginEvidence } from '../support/login-client';
import { createTestConnection, SamlConnectionFixture } from '../support/saml-flow';
import { databaseKinds, startTestApp, TestApp } from '../support/test-app';
import { need } from '../support/defined';

type OidcClient = typeof import('openid-client');

const REDIRECT = 'https://app.example.com/callback';

/** Revocation of JWT access tokens: RFC 7009, every path that ends a grant, introspection, the polled list. */
describe.each(databaseKinds().slice(0, 1))('JWT access token revocation on %s', (kind) => {
  let t: TestApp;
  let oc: OidcClient;
  let saml: SamlConnectionFixture;
  let app: { clientId: string; clientSecret: string };
  let service: { clientId: string; clientSecret: string };
  let login: LoginClient;
  let base: string;
  let nextUser = 0;

  beforeAll(async () => {
    oc = await import('openid-client');
    t = await startTestApp(kind, {}, undefined, { listen: true });
    base = `http://127.0.0.1:${t.config.port}`;
    saml = await createTestConnection(t, 'rev-co');
    app = (
      await t.admin
        .post('/api/v1/clients')
        .send({
          name: 'Portal',
          redirectUris: [REDIRECT],
          grantTypes: ['authorization_code', 'refresh_token'],
        })
        .expect(201)
    ).body;
    service = (
      await t.admin
        .post('/api/v1/clients')
        .send({ name: 'Orders API', grantTypes: ['client_credentials'] })
        .expect(201)
    ).body;
    login = new LoginClient({
      publicBase: t.config.baseUrl,
      instances: () => [base],
      connection: saml,
      client: { ...app, redirectUri: REDIRECT },
    });
  });
  afterAll(async () => t?.close());

  const discover = (client: { clientId: string; clientSecret: string }) =>
    oc.discovery(new URL(t.config.issuer), client.clientId, client.clientSecret, undefined, {
      execute: [oc.allowInsecureRequests],
    });
  const evidence = (): LoginEvidence => ({ samlResponses: [], continues: [], codes: [] });
  const signIn = () => {
    const n = nextUser++;
    return login.login(`user-${n}`, `user${n}@example.com`, evidence(), {
      scope: 'openid email offline_access',
      prompt: 'consent',
    });
  };
  const jtiOf = (jwt: string) =>
    JSON.parse(Buffer.from(need(jwt.split('.')[1], 'JWT payload'), 'base64url').toString()).jti as string;
  const basic = (c: { clientId: string; clientSecret: string }) =>
    `Basic ${Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString('base64')}`;
  /** The revocation list as a resource server polls it. */
  const revokedList = async (since?: string) => {
    const res = await t
      .http()
      .get(`/oidc/revoked-jtis${since ? `?since=${since}` : ''}`)
      .set('Authorization', basic(service))
      .expect(200);
    return res.body as { revoked: Array<{ jti: string; exp: number }>; next: string };
  };
  const listed = async (jwt: string) => (await revokedList()).revoked.some((e) => e.jti === jtiOf(jwt));
  /** Introspection by the resource server (a service app may introspect any token). */
  const introspect = async (jwt: string) => oc.tokenIntrospection(await discover(service), jwt);

  it('revokes a service app token (RFC 7009): inactive at introspection at once, on the list until it expires', async () => {
    const config = await discover(service);
    const { access_token: jwt } = await oc.clientCredentialsGrant(config, { scope: 'api' });
    expect(jwt.split('.')).toHaveLength(3);
    await expect(oc.tokenIntrospection(config, jwt)).resolves.toMatchObject({
      active: true,
      client_id: service.clientId,
      jti: jtiOf(jwt),
      token_type: 'Bearer',
      aud: 'urn:saml-bridge:api',
    });
    const before = await revokedList();
    expect(before.revoked.map((e) => e.jti)).not.toContain(jtiOf(jwt));

    await oc.tokenRevocation(config, jwt);
    await expect(oc.tokenIntrospection(config, jwt)).resolves.toEqual({ active: false });
    const exp = JSON.parse(Buffer.from(need(jwt.split('.')[1], 'JWT payload'), 'base64url').toString()).exp;
    // Polling from the previous cursor lists it, with its expiry.
    const since = await revokedList(before.next);
    expect(since.revoked).toContainEqual({ jti: jtiOf(jwt), exp });
    // Revoking it again (or an unknown, or a forged token) is answered 200 and changes nothing.
    await oc.tokenRevocation(config, jwt);
    await oc.tokenRevocation(config, `${jwt.split('.').slice(0, 2).join('.')}.AAAA`);
    const again = await revokedList(before.next);
    expect(again.revoked.filter((e) => e.jti === jtiOf(jwt))).toHaveLength(1);
  });

  it('serves the list cheaply: a cursor, an ETag with 304, and only to authenticated service apps', async () => {
    const first = await t.http().get('/oidc/revoked-jtis').set('Authorization', basic(service)).expect(200);
    expect(first.headers['cache-control']).toBe('no-cache');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    await t
      .http()
      .get('/oidc/revoked-jtis')
      .set('Authorization', basic(service))
      .set('If-None-Match', etag)
      .expect(304);
    // Nothing revoked since the cursor: nothing new (entries may repeat across polls while transactions
    // anywhere on the server were still running at the cursor: the list is a set).
    const { next } = first.body as { next: string; revoked: Array<{ jti: string }> };
    const seen = new Set((first.body as { revoked: Array<{ jti: string }> }).revoked.map((e) => e.jti));
    const repeated = (await revokedList(next)).revoked.map((e) => e.jti);
    expect(repeated.filter((j) => !seen.has(j))).toEqual([]);
    // A new revocation changes the ETag.
    const config = await discover(service);
    const { access_token: jwt } = await oc.clientCredentialsGrant(config, { scope: 'api' });
    await oc.tokenRevocation(config, jwt);
    const changed = await t
      .http()
      .get('/oidc/revoked-jtis')
      .set('Authorization', basic(service))
      .set('If-None-Match', etag)
      .expect(200);
    expect(changed.headers.etag).not.toBe(etag);
    const after = (await revokedList(next)).revoked.map((e) => e.jti);
    expect(after).toContain(jtiOf(jwt));
    expect(after.filter((j) => j !== jtiOf(jwt) && !seen.has(j))).toEqual([]);

    const none = await t.http().get('/oidc/revoked-jtis').expect(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic /);
    expect(none.body.code).toBe('unauthorized');
    const wrong = await t
      .http()
      .get('/oidc/revoked-jtis')
      .set('Authorization', basic({ ...service, clientSecret: 'nope' }))
      .expect(401);
    expect(wrong.body.code).toBe('invalid_client');
    const notService = await t.http().get('/oidc/revoked-jtis').set('Authorization', basic(app)).expect(403);
    expect(notService.body.code).toBe('not_a_service_app');
    const badCursor = await t
      .http()
      .get('/oidc/revoked-jtis?since=abc')
      .set('Authorization', basic(service))
      .expect(400);
    expect(badCursor.body.code).toBe('invalid_cursor');
  });

  it("revokes a user's token at the app's request: inactive, listed, no userinfo; the grant's other tokens stay", async () => {
    const { accessToken, refreshToken, sub } = await signIn();
    const config = await discover(app);
    await expect(oc.tokenIntrospection(config, accessToken)).resolves.toMatchObject({
      active: true,
      sub,
      client_id: app.clientId,
    });
    const refreshed = await oc.refreshTokenGrant(config, refreshToken as string);
    // Another app may not revoke it (answered 200, token untouched).
    await oc.tokenRevocation(await discover(service), accessToken);
    await expect(introspect(accessToken)).resolves.toMatchObject({ active: true });

    await oc.tokenRevocation(config, accessToken);
    await expect(introspect(accessToken)).resolves.toEqual({ active: false });
    expect(await listed(accessToken)).toBe(true);
    await expect(oc.fetchUserInfo(config, accessToken, sub)).rejects.toMatchObject({ status: 401 });
    // As for opaque tokens, revoking an access token leaves the grant: the refreshed token still works.
    await expect(introspect(refreshed.access_token)).resolves.toMatchObject({ active: true, sub });
    await expect(oc.fetchUserInfo(config, refreshed.access_token, sub)).resolves.toMatchObject({ sub });
  });

  it('ending the grant (refresh-token replay) revokes every JWT access token issued under it', async () => {
    const { accessToken, refreshToken } = await signIn();
    const config = await discover(app);
    const refreshed = await oc.refreshTokenGrant(config, refreshToken as string);
    await expect(oc.refreshTokenGrant(config, refreshToken as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    for (const jwt of [accessToken, refreshed.access_token]) {
      await expect(introspect(jwt)).resolves.toEqual({ active: false });
      expect(await listed(jwt)).toBe(true);
    }
  });

  it('the IdP ending the session revokes the tokens of its grants', async () => {
    const { accessToken, sub } = await signIn();
    await t.app.get(OidcLogoutService).endAccountSessions([sub], 'idp_logout');
    await expect(introspect(accessToken)).resolves.toEqual({ active: false });
    expect(await listed(accessToken)).toBe(true);
  });

  it('disabling the user revokes their tokens, offline grants included', async () => {
    const { accessToken, sub } = await signIn();
    // The session is gone already (e.g. expired): only the offline grant holds the token.
    await t.app
      .get(DataSource)
      .query(`DELETE FROM oidc_models WHERE model = 'Session' AND payload->>'accountId' = $1`, [sub]);
    await expect(introspect(accessToken)).resolves.toMatchObject({ active: true });
    await t.admin.post(`/api/v1/users/${sub}/disable`).expect(200);
    await expect(introspect(accessToken)).resolves.toEqual({ active: false });
    expect(await listed(accessToken)).toBe(true);
  });

  it('disabling the connection revokes its users’ tokens', async () => {
    const { accessToken } = await signIn();
    await t.admin.patch(`/api/v1/connections/${saml.id}`).send({ enabled: false }).expect(200);
    try {
      await expect(introspect(accessToken)).resolves.toEqual({ active: false });
      expect(await listed(accessToken)).toBe(true);
    } finally {
      await t.admin.patch(`/api/v1/connections/${saml.id}`).send({ enabled: true }).expect(200);
    }
  });

  it('SCIM deprovisioning (signOutEverywhere) revokes the tokens', async () => {
    const { accessToken, sub } = await signIn();
    await t.app.get(OidcLogoutService).signOutEverywhere([sub]);
    await expect(introspect(accessToken)).resolves.toEqual({ active: false });
    expect(await listed(accessToken)).toBe(true);
  });

  it('releases the claims of the scopes asked for: groups only with the groups scope (as discovery says)', async () => {
    const config = await discover(app);
    const n = nextUser++;
    const plain = await login.login(`user-${n}`, `user${n}@example.com`, evidence(), {
      scope: 'openid email',
    });
    const info = await oc.fetchUserInfo(config, plain.accessToken, plain.sub);
    expect(Object.keys(info).sort()).toEqual(['email', 'email_verified', 'sub']);
    const withGroups = await login.login(`user-${n}`, `user${n}@example.com`, evidence(), {
      scope: 'openid email groups',
    });
    const infoWithGroups = await oc.fetchUserInfo(config, withGroups.accessToken, withGroups.sub);
    expect(infoWithGroups).toHaveProperty('groups', []);
    expect(infoWithGroups).not.toHaveProperty('name');
  });

  it('the sweep revokes tokens of a grant that ended while they were recorded, and drops expired entries', async () => {
    const { accessToken, sub } = await signIn();
    const db = t.app.get(DataSource);
    // As if the grant ended between the trigger and the token's record: the record says not revoked.
    await db.query(`DELETE FROM oidc_models WHERE model = 'Grant' AND payload->>'accountId' = $1`, [sub]);
    await db.query(`UPDATE oidc_access_token_jtis SET revoked_at = NULL, revoked_xid = NULL WHERE jti = $1`, [
      jtiOf(accessToken),
    ]);
    expect(await listed(accessToken)).toBe(false);
    // Introspection does not depend on the list: the grant is gone.
    await expect(introspect(accessToken)).resolves.toEqual({ active: false });
    await db.query(
      `INSERT INTO oidc_access_token_jtis (jti, client_id, expires_at, revoked_at, revoked_xid)
       VALUES ('expired-jti', $1, now() - interval '1 second', now(), pg_current_xact_id())`,
      [service.clientId],
    );
    const swept = await t.app.get(JwtAccessTokens).sweep();
    expect(swept.revoked).toBeGreaterThanOrEqual(1);
    expect(swept.purged).toBeGreaterThanOrEqual(1);
    expect(await listed(accessToken)).toBe(true);
    const rows = await db.query(`SELECT 1 FROM oidc_access_token_jtis WHERE jti = 'expired-jti'`);
    expect(rows).toHaveLength(0);
  });
});
