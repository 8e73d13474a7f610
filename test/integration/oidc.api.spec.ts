import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import type { JWK } from 'jose';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { Statements } from '../../src/database/statements';
import { OidcLogoutService } from '../../src/oidc/oidc-logout.service';
import { createTestConnection, SamlConnectionFixture } from '../support/saml-flow';
import { databaseKinds, startTestApp, TestApp } from '../support/test-app';
import { need } from '../support/defined';

type OidcClient = typeof import('openid-client');
type Jose = typeof import('jose');

const ATTRS = { email: 'ada@example.com', givenName: 'Ada', sn: 'Lovelace', groups: ['eng', 'admins'] };
const REDIRECT = 'https://app.example.com/callback';

describe.each(databaseKinds().slice(0, 1))('OpenID Provider on %s', (kind) => {
  let t: TestApp;
  let oc: OidcClient;
  let jose: Jose;
  let issuer: string;
  let saml: SamlConnectionFixture;

  beforeAll(async () => {
    oc = await import('openid-client');
    jose = await import('jose');
    t = await startTestApp(kind, {}, undefined, { listen: true });
    issuer = t.config.issuer;
    saml = await createTestConnection(t, 'ada-co');
  });
  afterAll(async () => t?.close());

  const discover = (clientId: string, secret?: string) =>
    oc.discovery(new URL(issuer), clientId, secret, undefined, { execute: [oc.allowInsecureRequests] });

  /** An authorization URL with a fresh PKCE S256 pair; the verifier is for the code exchange. */
  async function authorizationUrl(
    config: Awaited<ReturnType<typeof discover>>,
    params: Record<string, string>,
  ) {
    const verifier = oc.randomPKCECodeVerifier();
    const url = oc.buildAuthorizationUrl(config, {
      ...params,
      code_challenge: await oc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return { url, verifier };
  }

  async function createClient(body: Record<string, unknown>) {
    const res = await t.admin.post('/api/v1/clients').send(body).expect(201);
    return res.body as { clientId: string; clientSecret?: string; accessTokenSigningAlg?: string };
  }

  it('publishes discovery and a JWKS with current and next keys for RS256 and ES256 (public parts only)', async () => {
    const res = await t.http().get('/.well-known/openid-configuration').expect(200);
    expect(res.body).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/oidc/auth`,
      token_endpoint: `${issuer}/oidc/token`,
      jwks_uri: `${issuer}/oidc/jwks`,
      userinfo_endpoint: `${issuer}/oidc/me`,
      end_session_endpoint: `${issuer}/oidc/session/end`,
      introspection_endpoint: `${issuer}/oidc/token/introspection`,
      revocation_endpoint: `${issuer}/oidc/token/revocation`,
      code_challenge_methods_supported: ['S256'],
    });
    expect(res.body.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
    );
    // Every scope an app may ask for, and every claim the bridge releases (ID token, userinfo): the scope
    // `groups` releases `groups`; acr, amr, auth_time and sid are in every ID token (see the README).
    expect(res.body.scopes_supported).toEqual([
      'openid',
      'offline_access',
      'email',
      'profile',
      'groups',
      'api',
    ]);
    expect([...res.body.claims_supported].sort()).toEqual(
      [
        'sub',
        'iss',
        'acr',
        'amr',
        'auth_time',
        'sid',
        'email',
        'email_verified',
        'name',
        'given_name',
        'family_name',
        'groups',
      ].sort(),
    );
    expect(res.body.revoked_jtis_endpoint).toBe(`${issuer}/oidc/revoked-jtis`);
    expect(res.body.backchannel_logout_supported).toBe(true);
    const jwks = await t.http().get('/oidc/jwks').expect(200);
    const keys = jwks.body.keys as Array<Record<string, unknown>>;
    expect(keys.map((k) => k.alg).sort()).toEqual(['ES256', 'ES256', 'RS256', 'RS256']);
    for (const k of keys) expect(k.d).toBeUndefined();
    const rows = await t.app.get(DataSource).query('SELECT private_jwk_sealed FROM oidc_signing_keys');
    for (const r of rows) expect(r.private_jwk_sealed).toMatch(/^v1\./);
  });

  it('registers apps with hashed secrets and exact, absolute redirect URIs', async () => {
    const app = await createClient({ name: 'Wiki', redirectUris: [REDIRECT] });
    expect(app.clientId).toMatch(/^app_[0-9a-f]{24}$/);
    expect(app.clientSecret).toMatch(/^sbs_/);
    const [row] = await t.app
      .get(DataSource)
      .query('SELECT secret_hash FROM oidc_clients WHERE client_id = $1', [app.clientId]);
    expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    const got = await t.admin.get(`/api/v1/clients/${app.clientId}`).expect(200);
    expect(got.body.clientSecret).toBeUndefined();
    expect(got.body.hasSecret).toBe(true);
    for (const bad of [
      ['/relative'],
      ['http://app.example.com/cb'],
      ['https://app.example.com/cb#frag'],
      ['not a url'],
    ]) {
      const res = await t.admin.post('/api/v1/clients').send({ name: 'Bad', redirectUris: bad }).expect(400);
      expect(res.body.code).toBe('invalid_redirect_uri');
    }
    await t.admin
      .post('/api/v1/clients')
      .send({ name: 'Bad', grantTypes: ['implicit'] })
      .expect(400);
    await t.admin.post('/api/v1/clients').send({ name: 'No redirect' }).expect(400);
  });

  it('refuses at registration the URIs the outbound policy would never send to (link-local, metadata service)', async () => {
    for (const uri of [
      'https://169.254.169.254/bcl',
      'https://[fe80::1]/bcl',
      'https://[::ffff:169.254.1.1]/x',
    ]) {
      const res = await t.admin
        .post('/api/v1/clients')
        .send({ name: 'Bad', redirectUris: [REDIRECT], backchannelLogoutUri: uri })
        .expect(400);
      expect(res.body).toMatchObject({
        code: 'outbound_destination_refused',
        details: { field: 'backchannelLogoutUri', cause: 'blocked_by_policy' },
      });
    }
    const jwks = await t.admin
      .post('/api/v1/clients')
      .send({
        name: 'Bad',
        redirectUris: [REDIRECT],
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwksUri: 'https://169.254.169.254/jwks',
      })
      .expect(400);
    expect(jwks.body).toMatchObject({ code: 'outbound_destination_refused', details: { field: 'jwksUri' } });
    const ok = await createClient({ name: 'Fine', redirectUris: [REDIRECT] });
    const patched = await t.admin
      .patch(`/api/v1/clients/${ok.clientId}`)
      .send({ backchannelLogoutUri: 'https://169.254.169.254/bcl' })
      .expect(400);
    expect(patched.body.code).toBe('outbound_destination_refused');
    // Private networks where internal apps run are accepted.
    await t.admin
      .patch(`/api/v1/clients/${ok.clientId}`)
      .send({ backchannelLogoutUri: 'https://10.20.30.40/bcl' })
      .expect(200);
  });

  it('issues RFC 9068 JWT access tokens to service apps (client_credentials) that verify offline with the JWKS', async () => {
    const svc = await createClient({ name: 'Batch', grantTypes: ['client_credentials'] });
    const config = await discover(svc.clientId, svc.clientSecret);
    const tokens = await oc.clientCredentialsGrant(config, { scope: 'api' });
    const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/oidc/jwks`));
    const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
      issuer,
      audience: 'urn:saml-bridge:api',
      typ: 'at+jwt',
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.client_id).toBe(svc.clientId);
    expect(payload.exp! - payload.iat!).toBe(3600);

    const wrong = await discover(svc.clientId, 'sbs_wrong');
    await expect(oc.clientCredentialsGrant(wrong, { scope: 'api' })).rejects.toMatchObject({
      error: 'invalid_client',
    });
    const rotated = await t.admin.post(`/api/v1/clients/${svc.clientId}/rotate-secret`).expect(200);
    await expect(oc.clientCredentialsGrant(config, { scope: 'api' })).rejects.toMatchObject({
      error: 'invalid_client',
    });
    const fresh = await discover(svc.clientId, rotated.body.clientSecret);
    await expect(oc.clientCredentialsGrant(fresh, { scope: 'api' })).resolves.toHaveProperty('access_token');
  });

  it("signs an app's JWT access tokens with ES256 when it chose so: they verify with the JWKS, introspect and revoke as RS256 ones do", async () => {
    const svc = await createClient({
      name: 'ES256 service',
      grantTypes: ['client_credentials'],
      accessTokenSigningAlg: 'ES256',
    });
    expect(svc.accessTokenSigningAlg).toBe('ES256');
    const config = await discover(svc.clientId, svc.clientSecret);
    const tokens = await oc.clientCredentialsGrant(config, { scope: 'api' });
    const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/oidc/jwks`));
    const verified = await jose.jwtVerify(tokens.access_token, jwks, {
      issuer,
      audience: 'urn:saml-bridge:api',
      typ: 'at+jwt',
    });
    expect(verified.protectedHeader.alg).toBe('ES256');
    expect(verified.payload.client_id).toBe(svc.clientId);
    await expect(oc.tokenIntrospection(config, tokens.access_token)).resolves.toMatchObject({
      active: true,
      client_id: svc.clientId,
    });
    await oc.tokenRevocation(config, tokens.access_token);
    await expect(oc.tokenIntrospection(config, tokens.access_token)).resolves.toMatchObject({
      active: false,
    });

    // Back to RS256 (the default every app starts with), and a bad value is refused with its field.
    const patched = await t.admin
      .patch(`/api/v1/clients/${svc.clientId}`)
      .send({ accessTokenSigningAlg: 'RS256' })
      .expect(200);
    expect(patched.body.accessTokenSigningAlg).toBe('RS256');
    const again = await oc.clientCredentialsGrant(config, { scope: 'api' });
    expect(jose.decodeProtectedHeader(again.access_token).alg).toBe('RS256');
    const refused = await t.admin
      .patch(`/api/v1/clients/${svc.clientId}`)
      .send({ accessTokenSigningAlg: 'HS256' })
      .expect(400);
    expect(JSON.stringify(refused.body)).toContain('accessTokenSigningAlg');
    const plain = await createClient({ name: 'Default alg', grantTypes: ['client_credentials'] });
    expect(plain.accessTokenSigningAlg).toBe('RS256');
  });

  it('authenticates private_key_jwt apps with the keys they publish', async () => {
    const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'app-key-1', alg: 'RS256', use: 'sig' };
    const server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const jwksUri = `http://localhost:${(server.address() as AddressInfo).port}/jwks`;
      const svc = await createClient({
        name: 'Signed assertions',
        grantTypes: ['client_credentials'],
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwksUri,
      });
      expect(svc.clientSecret).toBeUndefined();
      const config = await oc.discovery(
        new URL(issuer),
        svc.clientId,
        undefined,
        oc.PrivateKeyJwt({ key: privateKey, kid: 'app-key-1' }),
        {
          execute: [oc.allowInsecureRequests],
        },
      );
      await expect(oc.clientCredentialsGrant(config, { scope: 'api' })).resolves.toHaveProperty(
        'access_token',
      );
      const other = await jose.generateKeyPair('RS256', { extractable: true });
      const forged = await oc.discovery(
        new URL(issuer),
        svc.clientId,
        undefined,
        oc.PrivateKeyJwt({ key: other.privateKey, kid: 'app-key-1' }),
        {
          execute: [oc.allowInsecureRequests],
        },
      );
      await expect(oc.clientCredentialsGrant(forged, { scope: 'api' })).rejects.toMatchObject({
        error: 'invalid_client',
      });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('introspects and revokes opaque access tokens', async () => {
    const svc = await createClient({
      name: 'Opaque',
      grantTypes: ['client_credentials'],
      accessTokenFormat: 'opaque',
    });
    const config = await discover(svc.clientId, svc.clientSecret);
    const { access_token } = await oc.clientCredentialsGrant(config, { scope: 'api' });
    expect(access_token.split('.')).toHaveLength(1);
    await expect(oc.tokenIntrospection(config, access_token)).resolves.toMatchObject({
      active: true,
      client_id: svc.clientId,
    });
    await oc.tokenRevocation(config, access_token);
    await expect(oc.tokenIntrospection(config, access_token)).resolves.toMatchObject({ active: false });
  });

  describe('authorization code + PKCE through a SAML login', () => {
    let agent: ReturnType<typeof request.agent>;
    let app: { clientId: string; clientSecret?: string };
    /** The bridge paths the last `follow` went through. */
    let visited: string[] = [];
    /** For each of them, how many times oidc-provider's storage read an Interaction during the request. */
    let interactionReads: number[] = [];
    let storageReads: jest.SpyInstance;

    /** Follows redirects on the bridge; stops at the IdP or at the app's redirect URI. */
    async function follow(url: string): Promise<string> {
      let next = url;
      visited = [];
      interactionReads = [];
      const readsSoFar = () =>
        storageReads.mock.calls.filter(
          ([name, , values]) => name === 'oidc_find_by_id' && (values as unknown[])[0] === 'Interaction',
        ).length;
      for (let i = 0; i < 15; i++) {
        const u = new URL(next, issuer);
        if (u.origin !== new URL(issuer).origin) return u.toString();
        visited.push(u.pathname);
        const before = readsSoFar();
        const res = await agent.get(u.pathname + u.search);
        interactionReads.push(readsSoFar() - before);
        if (res.status !== 303 && res.status !== 302) {
          throw new Error(`${u.pathname} answered ${res.status}: ${res.text.slice(0, 300)}`);
        }
        next = res.headers.location as string;
      }
      throw new Error('too many redirects');
    }

    /** Answers the AuthnRequest at `idpUrl` like the IdP would, then follows the bridge back to the app. */
    async function samlLogin(idpUrl: string, nameId = 'ada-0001'): Promise<string> {
      const samlRequest = new URL(idpUrl).searchParams.get('SAMLRequest') as string;
      const id = /ID="([^"]+)"/.exec(
        inflateRawSync(Buffer.from(samlRequest, 'base64')).toString(),
      )?.[1] as string;
      const xml = saml.idp.responseXml({
        spEntityId: saml.spEntityId,
        acsUrl: saml.acsUrl,
        inResponseTo: id,
        nameId,
        attributes: ATTRS,
        authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract',
      }) as string;
      const acs = await agent
        .post(`/saml/${saml.slug}/acs`)
        .type('form')
        .send({ SAMLResponse: Buffer.from(xml).toString('base64') })
        .expect(303);
      return follow(acs.headers.location as string);
    }

    beforeAll(async () => {
      storageReads = jest.spyOn(t.app.get(Statements), 'rows');
      agent = request.agent(t.app.getHttpServer());
      app = await createClient({
        name: 'Portal',
        redirectUris: [REDIRECT],
        grantTypes: ['authorization_code', 'refresh_token'],
      });
    });

    it('logs a user in, issues ID/access/refresh tokens with the SAML claims, rotates refresh tokens and detects reuse', async () => {
      const config = await discover(app.clientId, app.clientSecret);
      const state = oc.randomState();
      const nonce = oc.randomNonce();
      const { url: authUrl, verifier } = await authorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid email profile groups offline_access',
        state,
        nonce,
        prompt: 'consent',
        connection: saml.slug,
      });
      const atIdp = await follow(authUrl.toString());
      expect(atIdp.startsWith(saml.idp.ssoUrl)).toBe(true);
      const callback = await samlLogin(atIdp);
      expect(callback.startsWith(REDIRECT)).toBe(true);
      // prompt=consent is answered with the login (consent is implicit): no consent page in between.
      // The continue step finishes the interaction and resumes the authorization: no hop in between.
      expect(visited.filter((path) => path.startsWith('/oidc/'))).toEqual([
        expect.stringMatching(/^\/oidc\/auth\/[^/]+\/continue$/),
      ]);
      // It reads the Interaction once: the resume reads the result saved in the same request back.
      expect(interactionReads[visited.findIndex((path) => path.endsWith('/continue'))]).toBe(1);

      const tokens = await oc.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      });
      const claims = tokens.claims();
      const users = await t.admin.get(`/api/v1/users?connectionId=${saml.id}`).expect(200);
      const ada = users.body.items.find((u: { subject: string }) => u.subject === 'ada-0001');
      expect(claims).toMatchObject({
        sub: ada.id,
        email: 'ada@example.com',
        email_verified: true,
        given_name: 'Ada',
        family_name: 'Lovelace',
        groups: ['eng', 'admins'],
        acr: 'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract',
        amr: ['ext'],
      });
      expect(claims?.auth_time).toEqual(expect.any(Number));
      expect(claims?.sid).toEqual(expect.any(String));
      const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/oidc/jwks`));
      await jose.jwtVerify(tokens.access_token, jwks, {
        issuer,
        audience: 'urn:saml-bridge:api',
        typ: 'at+jwt',
      });
      // The default app's JWT access token works at the userinfo endpoint that discovery advertises.
      const sub = claims?.sub as string;
      const info = await oc.fetchUserInfo(config, tokens.access_token, sub);
      expect(info).toEqual({
        sub,
        email: 'ada@example.com',
        email_verified: true,
        name: 'Ada Lovelace',
        given_name: 'Ada',
        family_name: 'Lovelace',
        groups: ['eng', 'admins'],
      });
      // A JWT that is not the bridge's (or was altered) is refused like any bad token.
      const [h, p] = tokens.access_token.split('.');
      await expect(oc.fetchUserInfo(config, `${h}.${p}.AAAA`, sub)).rejects.toMatchObject({
        status: 401,
      });

      const refreshed = await oc.refreshTokenGrant(config, tokens.refresh_token as string);
      expect(refreshed.refresh_token).toBeTruthy();
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      // Reusing the consumed refresh token is refused and revokes the grant.
      await expect(oc.refreshTokenGrant(config, tokens.refresh_token as string)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      await expect(oc.refreshTokenGrant(config, refreshed.refresh_token as string)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      // The grant is gone: its JWT access tokens no longer get userinfo, though they have not expired.
      await expect(oc.fetchUserInfo(config, refreshed.access_token, sub)).rejects.toMatchObject({
        status: 401,
      });

      // A code is single use.
      await expect(
        oc.authorizationCodeGrant(config, new URL(callback), {
          pkceCodeVerifier: verifier,
          expectedState: state,
          expectedNonce: nonce,
        }),
      ).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('gives a second app its code without another trip to the IdP (SSO across apps)', async () => {
      const second = await createClient({
        name: 'Second',
        redirectUris: ['https://second.example.com/cb'],
        accessTokenFormat: 'opaque',
        idTokenSignedResponseAlg: 'ES256',
      });
      const config = await discover(second.clientId, second.clientSecret);
      const { url, verifier } = await authorizationUrl(config, {
        redirect_uri: 'https://second.example.com/cb',
        scope: 'openid email',
        state: 's2',
      });
      const callback = await follow(url.toString());
      expect(callback.startsWith('https://second.example.com/cb?code=')).toBe(true);
      // The live session and the implicit grant answer at once: no interaction at all.
      expect(visited).toEqual(['/oidc/auth']);
      const tokens = await oc.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: verifier,
        expectedState: 's2',
      });
      expect(tokens.claims()?.email).toBe('ada@example.com');
      // An opaque-format app reads the profile from userinfo.
      const info = await oc.fetchUserInfo(config, tokens.access_token, tokens.claims()?.sub as string);
      expect(info).toMatchObject({ email: 'ada@example.com', email_verified: true });
      expect(jose.decodeProtectedHeader(tokens.id_token as string).alg).toBe('ES256');
      // Replaying the code is refused and revokes what it issued.
      await expect(
        oc.authorizationCodeGrant(config, new URL(callback), {
          pkceCodeVerifier: verifier,
          expectedState: 's2',
        }),
      ).rejects.toMatchObject({ error: 'invalid_grant' });
      await expect(oc.tokenIntrospection(config, tokens.access_token)).resolves.toMatchObject({
        active: false,
      });
    });

    it("signs a user's JWT access token with ES256 for an app that chose it, recorded for revocation as ever", async () => {
      const es = await createClient({
        name: 'ES256 app',
        redirectUris: ['https://es256.example.com/cb'],
        idTokenSignedResponseAlg: 'ES256',
        accessTokenSigningAlg: 'ES256',
      });
      const config = await discover(es.clientId, es.clientSecret);
      const { url, verifier } = await authorizationUrl(config, {
        redirect_uri: 'https://es256.example.com/cb',
        scope: 'openid email',
        state: 'es',
      });
      const callback = await follow(url.toString());
      const tokens = await oc.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: verifier,
        expectedState: 'es',
      });
      expect(jose.decodeProtectedHeader(tokens.id_token as string).alg).toBe('ES256');
      const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/oidc/jwks`));
      const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
        issuer,
        audience: 'urn:saml-bridge:api',
        typ: 'at+jwt',
      });
      expect(protectedHeader.alg).toBe('ES256');
      expect(payload.sub).toBe(tokens.claims()?.sub);
      await expect(oc.tokenIntrospection(config, tokens.access_token)).resolves.toMatchObject({
        active: true,
      });
      await oc.tokenRevocation(config, tokens.access_token);
      await expect(oc.tokenIntrospection(config, tokens.access_token)).resolves.toMatchObject({
        active: false,
      });
    });

    it('answers prompt=consent on a live session without a page, granting what the app asked for', async () => {
      const config = await discover(app.clientId, app.clientSecret);
      const { url, verifier } = await authorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid profile offline_access',
        prompt: 'consent',
        state: 'c1',
      });
      const callback = await follow(url.toString());
      expect(callback.startsWith(`${REDIRECT}?code=`)).toBe(true);
      expect(visited).toEqual([
        '/oidc/auth',
        expect.stringMatching(/^\/oidc\/interaction\/[^/]+$/),
        expect.stringMatching(/^\/oidc\/auth\/[^/]+$/),
      ]);
      const tokens = await oc.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: verifier,
        expectedState: 'c1',
      });
      // offline_access (granted only on prompt=consent) gives a refresh token; profile, its claims.
      expect(tokens.refresh_token).toBeTruthy();
      expect(tokens.claims()).toMatchObject({ given_name: 'Ada', family_name: 'Lovelace' });
    });

    it('refuses a code exchanged with the wrong PKCE verifier', async () => {
      const config = await discover(app.clientId, app.clientSecret);
      const { url } = await authorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        state: 'v',
      });
      const callback = await follow(url.toString());
      expect(callback.startsWith(`${REDIRECT}?code=`)).toBe(true);
      await expect(
        oc.authorizationCodeGrant(config, new URL(callback), {
          pkceCodeVerifier: oc.randomPKCECodeVerifier(),
          expectedState: 'v',
        }),
      ).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('requires PKCE S256 and exact redirect URIs', async () => {
      const base = {
        client_id: app.clientId,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: REDIRECT,
        state: 'x',
      };
      const noPkce = await follow(`/oidc/auth?${new URLSearchParams(base)}`);
      expect(new URL(noPkce).searchParams.get('error')).toBe('invalid_request');
      const plain = await follow(
        `/oidc/auth?${new URLSearchParams({ ...base, code_challenge: 'abc'.repeat(15), code_challenge_method: 'plain' })}`,
      );
      expect(new URL(plain).searchParams.get('error')).toBe('invalid_request');
      const res = await agent.get(
        `/oidc/auth?${new URLSearchParams({ ...base, redirect_uri: `${REDIRECT}/other`, code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' })}`,
      );
      expect(res.status).toBe(400);
      expect(res.text).toContain('redirect_uri');
    });

    it('asks for the work email when no connection is named (home-realm discovery), and uses login_hint', async () => {
      const fresh = request.agent(t.app.getHttpServer());
      const config = await discover(app.clientId, app.clientSecret);
      const { url } = await authorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        state: 'hrd',
      });
      const auth = await fresh.get(url.pathname + url.search).expect(303);
      const page = await fresh.get(need(auth.headers.location, 'Location')).expect(200);
      expect(page.text).toContain('<label for="email">Work email</label>');
      expect(page.text).toContain('type="email"');
      const unknown = await fresh
        .get(`${auth.headers.location}?email=${encodeURIComponent('bob@unknown.example')}`)
        .expect(200);
      expect(unknown.text).toContain('No sign-in is set up for unknown.example');
      const chosen = await fresh
        .get(`${auth.headers.location}?email=${encodeURIComponent('ada@example.com')}`)
        .expect(303);
      expect(need(chosen.headers.location, 'Location').startsWith(saml.idp.ssoUrl)).toBe(true);

      const { url: hinted } = await authorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        state: 'hint',
        login_hint: 'someone@example.com',
      });
      const other = request.agent(t.app.getHttpServer());
      // The hint names the connection: the authorization request itself answers with the AuthnRequest.
      const a = await other.get(hinted.pathname + hinted.search).expect(303);
      expect(need(a.headers.location, 'Location').startsWith(saml.idp.ssoUrl)).toBe(true);
    });

    it('ends in access_denied for a disabled connection', async () => {
      const disabled = await createTestConnection(t, 'off-co', { enabled: false });
      const config = await discover(app.clientId, app.clientSecret);
      const { url } = await authorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        state: 'd',
        connection: disabled.slug,
        prompt: 'login',
      });
      const back = new URL(await follow(url.toString()));
      expect(back.searchParams.get('error')).toBe('access_denied');
      expect(back.searchParams.get('error_description')).toContain('off-co');
    });

    it('sends a login continued at the former callback path to the continue step under the resume path', async () => {
      const res = await agent.get('/oidc/interaction/some-uid/callback?code=abc').expect(303);
      expect(res.headers.location).toBe('/oidc/auth/some-uid/continue?code=abc');
      expect(res.headers['cache-control']).toBe('no-store');
      // At the continue step an unknown interaction is "start again", never the provider's 404 or a 500.
      const expired = await agent.get('/oidc/auth/some-uid/continue?code=abc').expect(400);
      expect(expired.text).toContain('Sign-in expired');
    });

    it('fans out back-channel logout tokens when the IdP logs the user out, retries failures, and revokes refresh tokens', async () => {
      const received: { a: string[]; b: string[] } = { a: [], b: [] };
      let bStatus = 500;
      const receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const which = req.url === '/a' ? 'a' : 'b';
          received[which].push(new URLSearchParams(body).get('logout_token') ?? '');
          res.writeHead(which === 'b' ? bStatus : 200).end();
        });
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
      try {
        agent = request.agent(t.app.getHttpServer());
        const a = await createClient({
          name: 'A',
          redirectUris: [REDIRECT],
          backchannelLogoutUri: `${base}/a`,
        });
        const b = await createClient({
          name: 'B',
          redirectUris: [REDIRECT],
          backchannelLogoutUri: `${base}/b`,
        });
        const login = async (client: { clientId: string; clientSecret?: string }, first: boolean) => {
          const config = await discover(client.clientId, client.clientSecret);
          const { url, verifier } = await authorizationUrl(config, {
            redirect_uri: REDIRECT,
            scope: 'openid offline_access',
            prompt: 'consent',
            state: 'bcl',
            connection: saml.slug,
          });
          const first303 = await follow(url.toString());
          const callback = first ? await samlLogin(first303, 'grace-0001') : first303;
          return {
            config,
            tokens: await oc.authorizationCodeGrant(config, new URL(callback), {
              pkceCodeVerifier: verifier,
              expectedState: 'bcl',
            }),
          };
        };
        const sa = await login(a, true);
        const sb = await login(b, false);
        const sid = sa.tokens.claims()?.sid;
        expect(sid).toBeTruthy();

        const logout = saml.idp.logoutRequestXml({
          spEntityId: saml.spEntityId,
          destination: saml.sloUrl,
          nameId: 'grace-0001',
        });
        await t
          .http()
          .get(
            `/saml/${saml.slug}/slo?${saml.idp.redirectBindingQuery('SAMLRequest', logout, undefined, { sign: true })}`,
          )
          .expect(303);

        const deadline = Date.now() + 5000;
        while ((received.a.length === 0 || received.b.length === 0) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        expect(received.a).toHaveLength(1);
        const jwks = jose.createLocalJWKSet((await t.http().get('/oidc/jwks').expect(200)).body);
        const { payload, protectedHeader } = await jose.jwtVerify(need(received.a[0]), jwks, {
          issuer,
          audience: a.clientId,
        });
        expect(protectedHeader.typ).toBe('logout+jwt');
        expect(payload).toMatchObject({
          sub: sa.tokens.claims()?.sub,
          sid,
          events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
        });

        // B's receiver was down: recorded, retried later with backoff, then delivered.
        const ds = t.app.get(DataSource);
        const [pending] = await ds.query(
          `SELECT status, attempts, last_error FROM backchannel_deliveries WHERE client_id = $1`,
          [b.clientId],
        );
        expect(pending).toMatchObject({ status: 'pending', attempts: 1 });
        expect(pending.last_error).toContain('500');
        bStatus = 200;
        await ds.query(`UPDATE backchannel_deliveries SET next_attempt_at = now() WHERE client_id = $1`, [
          b.clientId,
        ]);
        await expect(t.app.get(OidcLogoutService).deliverDue()).resolves.toMatchObject({ delivered: 1 });
        const [done] = await ds.query(`SELECT status FROM backchannel_deliveries WHERE client_id = $1`, [
          b.clientId,
        ]);
        expect(done.status).toBe('delivered');

        // Audited: the OIDC-started login names its app; each delivery once, B's only when it got through.
        const audit = async (query: string) =>
          (await t.admin.get(`/api/v1/audit?${query}`).expect(200)).body.items;
        const [signedIn] = await audit(`type=login.succeeded&clientId=${a.clientId}`);
        expect(signedIn).toMatchObject({ userId: sa.tokens.claims()?.sub, data: { subject: 'grace-0001' } });
        for (const client of [a, b]) {
          const delivered = await audit(`type=logout.backchannel_delivered&clientId=${client.clientId}`);
          expect(delivered).toHaveLength(1);
          expect(delivered[0]).toMatchObject({
            userId: sa.tokens.claims()?.sub,
            data: { sid: expect.any(String) },
          });
        }
        expect(await audit(`type=logout.backchannel_failed`)).toHaveLength(0);
        const [idpLogout] = await audit('type=logout.saml_idp_initiated&limit=1');
        expect(idpLogout).toMatchObject({ connectionId: saml.id, userId: sa.tokens.claims()?.sub });

        // The apps' grants are revoked: their refresh tokens no longer work.
        await expect(
          oc.refreshTokenGrant(sa.config, sa.tokens.refresh_token as string),
        ).rejects.toMatchObject({ error: 'invalid_grant' });
        await expect(
          oc.refreshTokenGrant(sb.config, sb.tokens.refresh_token as string),
        ).rejects.toMatchObject({ error: 'invalid_grant' });
      } finally {
        receiver.closeAllConnections();
        await new Promise((r) => receiver.close(r));
      }
    });

    it('RP-initiated logout ends the bridge session and signs out at the IdP, then returns to the app', async () => {
      agent = request.agent(t.app.getHttpServer());
      const rp = await createClient({
        name: 'Logout app',
        redirectUris: [REDIRECT],
        postLogoutRedirectUris: ['https://app.example.com/bye'],
      });
      const config = await discover(rp.clientId, rp.clientSecret);
      const { url, verifier } = await authorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        state: 'lo',
        connection: saml.slug,
      });
      const callback = await samlLogin(await follow(url.toString()), 'hopper-0001');
      const tokens = await oc.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: verifier,
        expectedState: 'lo',
      });
      await agent.get('/saml/session').expect(200);

      const end = oc.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token as string,
        post_logout_redirect_uri: 'https://app.example.com/bye',
        state: 'bye-state',
      });
      // The hint names this user and session: no page, the confirmation is a redirect (no script needed).
      const started = await agent.get(end.pathname + end.search).expect(303);
      const confirmUrl = new URL(need(started.headers.location, 'Location'), issuer);
      expect(confirmUrl.pathname).toBe('/oidc/session/end/confirm');
      const confirm = await agent.get(confirmUrl.pathname + confirmUrl.search).expect(303);
      const toIdp = new URL(need(confirm.headers.location, 'Location'));
      expect(toIdp.origin + toIdp.pathname).toBe(saml.idp.sloUrl);
      const logoutRequest = inflateRawSync(
        Buffer.from(toIdp.searchParams.get('SAMLRequest') as string, 'base64'),
      ).toString();
      expect(logoutRequest).toContain('>hopper-0001</saml:NameID>');
      await agent.get('/saml/session').expect(401);

      const id = /ID="([^"]+)"/.exec(logoutRequest)?.[1] as string;
      const answer = saml.idp.logoutResponseXml({ destination: saml.sloUrl, inResponseTo: id });
      const back = await agent
        .get(
          `/saml/${saml.slug}/slo?${saml.idp.redirectBindingQuery('SAMLResponse', answer, toIdp.searchParams.get('RelayState') ?? undefined, { sign: true })}`,
        )
        .expect(303);
      expect(back.headers.location).toBe('https://app.example.com/bye?state=bye-state');

      const audit = async (type: string) =>
        (await t.admin.get(`/api/v1/audit?type=${type}&limit=1`).expect(200)).body.items[0];
      expect(await audit('logout.oidc_end_session')).toMatchObject({
        clientId: rp.clientId,
        userId: tokens.claims()?.sub,
        connectionId: saml.id,
        data: { samlSessionEnded: true },
      });
      expect(await audit('logout.saml_sp_initiated')).toMatchObject({
        userId: tokens.claims()?.sub,
        data: { idpLogoutRequestId: id },
      });
      expect(await audit('logout.saml_idp_response')).toMatchObject({
        connectionId: saml.id,
        data: { inResponseTo: id, confirmed: true },
      });
    });

    it('refuses the code of a user disabled after it was issued (the user is read with the code)', async () => {
      const config = await discover(app.clientId, app.clientSecret);
      const { url, verifier } = await authorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        state: 'dc',
        connection: saml.slug,
      });
      const callback = await samlLogin(await follow(url.toString()), 'ada-0001');
      expect(callback.startsWith(`${REDIRECT}?code=`)).toBe(true);
      // Disabled in the database alone (as by another instance, before any revocation reached this grant):
      // only the token endpoint's own reading of the user stands between the code and its tokens.
      const db = t.app.get(DataSource);
      await db.query(`UPDATE users SET disabled = true WHERE connection_id = $1 AND subject = 'ada-0001'`, [
        saml.id,
      ]);
      try {
        await expect(
          oc.authorizationCodeGrant(config, new URL(callback), {
            pkceCodeVerifier: verifier,
            expectedState: 'dc',
          }),
        ).rejects.toMatchObject({ error: 'invalid_grant' });
      } finally {
        await db.query(
          `UPDATE users SET disabled = false WHERE connection_id = $1 AND subject = 'ada-0001'`,
          [saml.id],
        );
      }
    });

    it('ends in access_denied for a disabled user, at the app rather than on an error page', async () => {
      agent = request.agent(t.app.getHttpServer());
      const users = await t.admin.get(`/api/v1/users?connectionId=${saml.id}`).expect(200);
      const ada = users.body.items.find((u: { subject: string }) => u.subject === 'ada-0001');
      await t.admin.post(`/api/v1/users/${ada.id}/disable`).expect(200);
      try {
        const config = await discover(app.clientId, app.clientSecret);
        const { url } = await authorizationUrl(config, {
          redirect_uri: REDIRECT,
          scope: 'openid',
          state: 'dis',
          connection: saml.slug,
        });
        const back = new URL(await samlLogin(await follow(url.toString()), 'ada-0001'));
        expect(back.origin + back.pathname).toBe(REDIRECT);
        expect(back.searchParams.get('error')).toBe('access_denied');
        expect(back.searchParams.get('error_description')).toBe('The account is disabled.');
      } finally {
        await t.admin.post(`/api/v1/users/${ada.id}/enable`).expect(200);
      }
    });

    it('ends in access_denied for a connection the app may not use', async () => {
      const restricted = await createClient({
        name: 'Restricted',
        redirectUris: [REDIRECT],
        allowedConnections: ['someone-else'],
      });
      const config = await discover(restricted.clientId, restricted.clientSecret);
      const { url } = await authorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        state: 'r',
        connection: saml.slug,
        prompt: 'login',
      });
      const back = new URL(await follow(url.toString()));
      expect(back.searchParams.get('error')).toBe('access_denied');
    });
  });

  it('never reports forged JWTs (alg none, HS256 keyed with the public key) as active, and they fail offline verification', async () => {
    const svc = await createClient({ name: 'Introspector', grantTypes: ['client_credentials'] });
    const config = await discover(svc.clientId, svc.clientSecret);
    const { access_token } = await oc.clientCredentialsGrant(config, { scope: 'api' });
    const [, body] = access_token.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${body}.`;
    const jwks = (await t.http().get('/oidc/jwks').expect(200)).body.keys as Array<Record<string, unknown>>;
    const rsa = jwks.find((k) => k.kty === 'RSA') as Record<string, unknown>;
    const hs256 = await new jose.SignJWT(jose.decodeJwt(access_token))
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: rsa.kid as string })
      .sign(Buffer.from(JSON.stringify(rsa)));
    // The genuine token is active; the forged ones (same claims) are not: the bridge verifies JWTs with its
    // own keys and algorithms before it looks anything up.
    await expect(oc.tokenIntrospection(config, access_token)).resolves.toMatchObject({ active: true });
    for (const forged of [none, hs256]) {
      await expect(oc.tokenIntrospection(config, forged)).resolves.toEqual({ active: false });
    }
    await expect(
      jose.jwtVerify(hs256, jose.createLocalJWKSet({ keys: jwks as unknown as JWK[] }), { issuer }),
    ).rejects.toThrow();
  });

  it('rotates signing keys: the next key (already published) signs, old tokens still verify', async () => {
    const svc = await createClient({ name: 'Rotation', grantTypes: ['client_credentials'] });
    const config = await discover(svc.clientId, svc.clientSecret);
    const before = await oc.clientCredentialsGrant(config, { scope: 'api' });
    const keysBefore = (await t.admin.get('/api/v1/keys').expect(200)).body.items as Array<{
      kid: string;
      alg: string;
      status: string;
    }>;
    const nextRs = keysBefore.find((k) => k.alg === 'RS256' && k.status === 'next')!;
    await t.admin.post('/api/v1/keys/rotate').expect(200);
    const after = await oc.clientCredentialsGrant(config, { scope: 'api' });
    expect(jose.decodeProtectedHeader(after.access_token).kid).toBe(nextRs.kid);
    const jwks = jose.createLocalJWKSet((await t.http().get('/oidc/jwks').expect(200)).body);
    await expect(jose.jwtVerify(before.access_token, jwks, { issuer })).resolves.toBeTruthy();
    await expect(jose.jwtVerify(after.access_token, jwks, { issuer })).resolves.toBeTruthy();
  });
  it('exposes Prometheus metrics: logins, token grants, back-channel deliveries, certificates, pool, latency', async () => {
    const res = await t.http().get('/metrics').expect(200);
    expect(res.headers['content-type']).toContain('text/plain');
    for (const line of [
      'bridge_saml_logins_total{connection="ada-co",result="success"}',
      'bridge_saml_logins_total{connection="ada-co",result="saml_user_disabled"}',
      'bridge_oidc_token_grants_total{grant_type="client_credentials"}',
      'bridge_oidc_token_grants_total{grant_type="authorization_code"}',
      'bridge_oidc_token_grants_total{grant_type="refresh_token"}',
      'bridge_backchannel_logout_deliveries_total{result="delivered"}',
      'bridge_backchannel_logout_deliveries_total{result="failed"}',
      'bridge_idp_certificate_days_left{connection="ada-co"}',
      'bridge_metadata_status{connection="ada-co",status="ok"} 1',
      'bridge_db_pool_connections{state="total"}',
      'bridge_http_request_duration_seconds_count{method="POST",route="/saml/:slug/acs",status="303"}',
      'bridge_process_resident_memory_bytes',
      'bridge_thread_cpu_seconds_total{thread="event_loop"}',
      'bridge_thread_cpu_seconds_total{thread="saml_engine"}',
    ]) {
      expect(res.text).toContain(line);
    }
  });
});
