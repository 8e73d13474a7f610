import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { inflateRawSync } from 'node:zlib';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { OidcProviderHost } from '../../src/oidc/oidc-provider.host';
import {
  createPrivateNetwork,
  privateNetworkRequired,
  privateNetworkUnavailable,
  type PrivateNetwork,
} from '../support/netns';
import { createTestConnection, type SamlConnectionFixture } from '../support/saml-flow';
import { databaseKinds, startTestApp, type TestApp } from '../support/test-app';
import { need } from '../support/defined';

type OidcClient = typeof import('openid-client');
type Jose = typeof import('jose');

const REDIRECT = 'https://app.example.com/callback';
const ATTRS = { email: 'ada@example.com', givenName: 'Ada', sn: 'Lovelace', groups: ['eng'] };
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

const unavailable = privateNetworkUnavailable();
if (unavailable && privateNetworkRequired())
  throw new Error(`The back-channel logout suite must run here (root, REQUIRE_POSTGRES=1): ${unavailable}`);
if (unavailable)
  process.stderr.write(
    `\n[tests] back-channel logout to a private network skipped: ${unavailable}. Run as root with iproute2 to cover it.\n`,
  );

interface Received {
  path?: string;
  token: string;
  contentType?: string;
}

/** Waits until `ready()` holds (deliveries are asynchronous), at most 15 s. */
async function until(ready: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}

(unavailable ? describe.skip : describe).each(databaseKinds().slice(0, 1))(
  'back-channel logout in the production posture on %s',
  (kind) => {
    let t: TestApp;
    let oc: OidcClient;
    let jose: Jose;
    let saml: SamlConnectionFixture;
    let net: PrivateNetwork;
    let dir: string;
    let receiverProcess: ChildProcess;
    let loopback: Server;
    /** Tokens received on the private network (in the namespace) and on 127.0.0.1. */
    const privateReceived: Received[] = [];
    const loopbackReceived: Received[] = [];
    let privateUri: string;
    let loopbackUri: string;
    let agent: ReturnType<typeof request.agent>;
    /** The bridge's log (JSON lines). */
    const logLines: string[] = [];

    beforeAll(async () => {
      oc = await import('openid-client');
      jose = await import('jose');
      dir = mkdtempSync(join(tmpdir(), 'bcl-'));
      net = createPrivateNetwork();
      // The app on the private network serves https with a certificate of an internal CA the operator
      // gives the bridge (OUTBOUND_CA_FILE), as apps on internal networks do.
      execFileSync(
        'openssl',
        [
          ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
          ...['-subj', '/CN=internal app', '-addext', `subjectAltName=IP:${net.nsAddress}`],
          ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
        ],
        { stdio: 'ignore' },
      );
      receiverProcess = net.spawn(process.execPath, [
        join(__dirname, '..', 'support', 'backchannel-receiver.js'),
        net.nsAddress,
        join(dir, 'cert.pem'),
        join(dir, 'key.pem'),
      ]);
      const port = await new Promise<number>((resolve, reject) => {
        receiverProcess.once('exit', (code) => reject(new Error(`the receiver exited (${code})`)));
        createInterface({ input: receiverProcess.stdout as NodeJS.ReadableStream }).on('line', (line) => {
          const msg = JSON.parse(line) as { listening?: number } & Received;
          if (msg.listening) resolve(msg.listening);
          else privateReceived.push(msg);
        });
      });
      privateUri = `https://${net.nsAddress}:${port}/bcl`;

      loopback = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          loopbackReceived.push({
            path: req.url,
            token: new URLSearchParams(body).get('logout_token') ?? '',
            contentType: req.headers['content-type'],
          });
          res.writeHead(200).end();
        });
      });
      await new Promise<void>((r) => loopback.listen(0, '127.0.0.1', r));
      loopbackUri = `http://127.0.0.1:${(loopback.address() as AddressInfo).port}/bcl`;

      t = await startTestApp(
        kind,
        { OUTBOUND_CA_FILE: join(dir, 'cert.pem') },
        { write: (line: string) => void logLines.push(line) },
        { listen: true },
      );
      saml = await createTestConnection(t, 'bcl-co');
    });

    afterAll(async () => {
      await t?.close();
      if (loopback) {
        loopback.closeAllConnections();
        await new Promise((r) => loopback.close(r));
      }
      net?.teardown();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function createClient(body: Record<string, unknown>) {
      const res = await t.admin
        .post('/api/v1/clients')
        .send({ redirectUris: [REDIRECT], ...body })
        .expect(201);
      return res.body as { clientId: string; clientSecret: string };
    }

    /** Follows redirects on the bridge; stops at the IdP or at the app. */
    async function follow(url: string): Promise<string> {
      let next = url;
      for (let i = 0; i < 15; i++) {
        const u = new URL(next, t.config.issuer);
        if (u.origin !== new URL(t.config.issuer).origin) return u.toString();
        const res = await agent.get(u.pathname + u.search);
        if (res.status !== 303 && res.status !== 302)
          throw new Error(`${u.pathname} answered ${res.status}: ${res.text.slice(0, 300)}`);
        next = res.headers.location as string;
      }
      throw new Error('too many redirects');
    }

    /** Signs `nameId` in to the app (through the IdP when the browser has no bridge session yet). */
    async function login(
      client: { clientId: string; clientSecret: string },
      nameId: string,
      connection: SamlConnectionFixture = saml,
    ) {
      const config = await oc.discovery(
        new URL(t.config.issuer),
        client.clientId,
        client.clientSecret,
        undefined,
        {
          execute: [oc.allowInsecureRequests],
        },
      );
      const verifier = oc.randomPKCECodeVerifier();
      const url = oc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid offline_access',
        prompt: 'consent',
        state: 's',
        connection: connection.slug,
        code_challenge: await oc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      let callback = await follow(url.toString());
      if (callback.startsWith(connection.idp.ssoUrl)) {
        const samlRequest = new URL(callback).searchParams.get('SAMLRequest') as string;
        const id = /ID="([^"]+)"/.exec(inflateRawSync(Buffer.from(samlRequest, 'base64')).toString())?.[1];
        const xml = connection.idp.responseXml({
          spEntityId: connection.spEntityId,
          acsUrl: connection.acsUrl,
          inResponseTo: id as string,
          nameId,
          attributes: ATTRS,
        }) as string;
        const acs = await agent
          .post(`/saml/${connection.slug}/acs`)
          .type('form')
          .send({ SAMLResponse: Buffer.from(xml).toString('base64') })
          .expect(303);
        callback = await follow(acs.headers.location as string);
      }
      const tokens = await oc.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: verifier,
        expectedState: 's',
      });
      return { config, tokens, sub: tokens.claims()?.sub as string, sid: tokens.claims()?.sid as string };
    }

    async function idpLogout(nameId: string) {
      const logout = saml.idp.logoutRequestXml({
        spEntityId: saml.spEntityId,
        destination: saml.sloUrl,
        nameId,
      });
      await t
        .http()
        .get(
          `/saml/${saml.slug}/slo?${saml.idp.redirectBindingQuery('SAMLRequest', logout, undefined, { sign: true })}`,
        )
        .expect(303);
    }

    /** Verifies a logout token against the bridge's published JWKS, as the app does. */
    async function verifyLogoutToken(token: string, clientId: string) {
      const jwks = jose.createRemoteJWKSet(new URL(`${t.config.issuer}/oidc/jwks`));
      const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
        issuer: t.config.issuer,
        audience: clientId,
        typ: 'logout+jwt',
      });
      expect(protectedHeader.typ).toBe('logout+jwt');
      expect(payload.events).toEqual({ [EVENT]: {} });
      expect(payload.nonce).toBeUndefined();
      return payload;
    }

    const appState = async (clientId: string) =>
      (await t.admin.get(`/api/v1/clients/${clientId}`).expect(200)).body.backchannelLogout;
    const metrics = async () => (await t.http().get('/metrics').expect(200)).text;

    it('delivers IdP-initiated logout to an app on 127.0.0.1 and to one on a private network (10.213.x.x)', async () => {
      agent = request.agent(t.app.getHttpServer());
      const onLoopback = await createClient({ name: 'Loopback app', backchannelLogoutUri: loopbackUri });
      const onPrivate = await createClient({ name: 'Private app', backchannelLogoutUri: privateUri });
      const a = await login(onLoopback, 'slo-0001');
      const b = await login(onPrivate, 'slo-0001');
      const before = { loopback: loopbackReceived.length, private: privateReceived.length };
      await expect(oc.fetchUserInfo(a.config, a.tokens.access_token, a.sub)).resolves.toMatchObject({
        sub: a.sub,
      });

      await idpLogout('slo-0001');
      await until(() => loopbackReceived.length > before.loopback && privateReceived.length > before.private);
      const fromLoopback = loopbackReceived.slice(before.loopback);
      const fromPrivate = privateReceived.slice(before.private);
      expect(fromLoopback).toHaveLength(1);
      expect(fromPrivate).toHaveLength(1);
      expect(fromPrivate[0]).toMatchObject({
        path: '/bcl',
        contentType: 'application/x-www-form-urlencoded',
      });
      expect(await verifyLogoutToken(need(fromLoopback[0]).token, onLoopback.clientId)).toMatchObject({
        sub: a.sub,
        sid: a.sid,
      });
      expect(await verifyLogoutToken(need(fromPrivate[0]).token, onPrivate.clientId)).toMatchObject({
        sub: b.sub,
        sid: b.sid,
      });

      // The session's grants are gone: the apps' unexpired JWT access tokens no longer get userinfo.
      await expect(oc.fetchUserInfo(a.config, a.tokens.access_token, a.sub)).rejects.toMatchObject({
        status: 401,
      });
      for (const app of [onLoopback, onPrivate]) {
        expect(await appState(app.clientId)).toMatchObject({
          result: 'delivered',
          cause: null,
          attempts: 1,
          pending: 0,
          lastAttemptAt: expect.any(String),
        });
      }
      const text = await metrics();
      expect(text).toMatch(
        /bridge_outbound_requests_total\{purpose="backchannel_logout",result="ok"\} [2-9]/,
      );
    });

    it("routes oidc-provider's own back-channel POSTs (RP-initiated logout) through the policy, recorded and counted", async () => {
      agent = request.agent(t.app.getHttpServer());
      const app = await createClient({
        name: 'RP logout app',
        backchannelLogoutUri: privateUri,
        postLogoutRedirectUris: ['https://app.example.com/bye'],
      });
      const down = await createClient({
        name: 'RP down app',
        backchannelLogoutUri: 'http://127.0.0.1:1/bcl',
      });
      await login(down, 'rp-0001');
      const s = await login(app, 'rp-0001');
      const before = privateReceived.length;
      const end = oc.buildEndSessionUrl(s.config, {
        id_token_hint: s.tokens.id_token as string,
        post_logout_redirect_uri: 'https://app.example.com/bye',
      });
      // The hint names this user and session: the confirmation is a redirect (sign-out without a script).
      const started = await agent.get(end.pathname + end.search).expect(303);
      const confirm = new URL(need(started.headers.location, 'Location'), 'http://bridge.test');
      await agent.get(confirm.pathname + confirm.search).expect(303);
      await until(() => privateReceived.length > before);
      const got = privateReceived.slice(before);
      expect(got).toHaveLength(1);
      expect(await verifyLogoutToken(need(got[0]).token, app.clientId)).toMatchObject({
        sub: s.sub,
        sid: s.sid,
      });
      // oidc-provider reports each delivery by an event; the bridge records it as it hears of it.
      for (let i = 0; i < 200 && !(await appState(app.clientId)); i++)
        await new Promise((r) => setTimeout(r, 25));
      const ds = t.app.get(DataSource);
      const rows = await ds.query(`SELECT status FROM backchannel_deliveries WHERE client_id = $1`, [
        app.clientId,
      ]);
      expect(rows).toEqual([{ status: 'delivered' }]);
      expect(await appState(app.clientId)).toMatchObject({ result: 'delivered', attempts: 1 });
      // The app that was down: its cause recorded (as oidc-provider reports it), the retry job takes over.
      let downState = await appState(down.clientId);
      for (let i = 0; i < 200 && !downState; i++) {
        await new Promise((r) => setTimeout(r, 25));
        downState = await appState(down.clientId);
      }
      expect(downState).toMatchObject({
        result: 'retrying',
        cause: 'refused',
        attempts: 1,
        pending: 1,
      });
      expect(await metrics()).toMatch(/bridge_backchannel_logout_failures_total\{cause="refused"\} [1-9]/);
    });

    it('logs the user out of the apps when the user is disabled, the connection is disabled or deleted, or a grant is revoked', async () => {
      const app = await createClient({ name: 'Admin-ended app', backchannelLogoutUri: privateUri });

      // User disabled.
      agent = request.agent(t.app.getHttpServer());
      const u = await login(app, 'disabled-0001');
      let before = privateReceived.length;
      await t.admin.post(`/api/v1/users/${u.sub}/disable`).expect(200);
      await until(() => privateReceived.length > before);
      expect(privateReceived.slice(before)).toHaveLength(1);
      expect(await verifyLogoutToken(need(privateReceived[before]).token, app.clientId)).toMatchObject({
        sub: u.sub,
        sid: u.sid,
      });
      await expect(oc.refreshTokenGrant(u.config, u.tokens.refresh_token as string)).rejects.toMatchObject({
        error: 'invalid_grant',
      });

      // Connection disabled.
      const other = await createTestConnection(t, 'bcl-other-co');
      agent = request.agent(t.app.getHttpServer());
      const c = await login(app, 'conn-0001', other);
      before = privateReceived.length;
      await t.admin.patch(`/api/v1/connections/${other.id}`).send({ enabled: false }).expect(200);
      await until(() => privateReceived.length > before);
      expect(privateReceived.slice(before)).toHaveLength(1);
      expect(await verifyLogoutToken(need(privateReceived[before]).token, app.clientId)).toMatchObject({
        sub: c.sub,
        sid: c.sid,
      });

      // Connection deleted (its users with it).
      const gone = await createTestConnection(t, 'bcl-gone-co');
      agent = request.agent(t.app.getHttpServer());
      const d = await login(app, 'gone-0001', gone);
      before = privateReceived.length;
      await t.admin.delete(`/api/v1/connections/${gone.id}`).expect(204);
      await until(() => privateReceived.length > before);
      expect(privateReceived.slice(before)).toHaveLength(1);
      expect(await verifyLogoutToken(need(privateReceived[before]).token, app.clientId)).toMatchObject({
        sub: d.sub,
        sid: d.sid,
      });

      // Grant revoked: a refresh token used twice (stolen) revokes the grant, and the app hears of it.
      agent = request.agent(t.app.getHttpServer());
      const g = await login(app, 'grant-0001');
      await oc.refreshTokenGrant(g.config, g.tokens.refresh_token as string);
      before = privateReceived.length;
      await expect(oc.refreshTokenGrant(g.config, g.tokens.refresh_token as string)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      await until(() => privateReceived.length > before);
      expect(privateReceived.slice(before)).toHaveLength(1);
      expect(await verifyLogoutToken(need(privateReceived[before]).token, app.clientId)).toMatchObject({
        sub: g.sub,
        sid: g.sid,
      });
      expect(await appState(app.clientId)).toMatchObject({ result: 'delivered', pending: 0 });
    });

    it('counts a URI that got past registration and is refused at delivery as blocked_by_policy; a down app as refused', async () => {
      agent = request.agent(t.app.getHttpServer());
      const blocked = await createClient({ name: 'Blocked app', backchannelLogoutUri: loopbackUri });
      const down = await createClient({ name: 'Down app', backchannelLogoutUri: 'http://127.0.0.1:1/bcl' });
      await login(blocked, 'blocked-0001');
      await login(down, 'blocked-0001');
      // Changed behind the API's back (or registered before the operator tightened the policy).
      await t.app
        .get(DataSource)
        .query(
          `UPDATE oidc_clients SET backchannel_logout_uri = 'https://169.254.169.254/bcl' WHERE client_id = $1`,
          [blocked.clientId],
        );
      const host = t.app.get(OidcProviderHost);
      let seen: string | undefined;
      for (let i = 0; i < 200 && seen !== 'https://169.254.169.254/bcl'; i++) {
        seen = (await (await host.current()).Client.find(blocked.clientId))?.backchannelLogoutUri;
        if (seen !== 'https://169.254.169.254/bcl') await new Promise((r) => setTimeout(r, 25));
      }
      expect(seen).toBe('https://169.254.169.254/bcl');

      await idpLogout('blocked-0001');
      let states: Array<{ result?: string } | null> = [];
      for (let i = 0; i < 400; i++) {
        states = [await appState(blocked.clientId), await appState(down.clientId)];
        if (states.every((s) => s && s.result !== 'queued' && s.result !== 'sending')) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(states[0]).toMatchObject({
        result: 'failed',
        cause: 'blocked_by_policy',
        attempts: 1,
        pending: 0,
      });
      expect(states[1]).toMatchObject({ result: 'retrying', cause: 'refused', attempts: 1, pending: 1 });
      const text = await metrics();
      expect(text).toContain('bridge_backchannel_logout_failures_total{cause="blocked_by_policy"} 1');
      expect(text).toContain('bridge_backchannel_logout_failures_total{cause="refused"} 2');
      expect(text).toContain(
        'bridge_outbound_requests_total{purpose="backchannel_logout",result="blocked_by_policy"} 1',
      );
      const [audit] = (
        await t.admin
          .get(`/api/v1/audit?type=logout.backchannel_failed&clientId=${blocked.clientId}`)
          .expect(200)
      ).body.items;
      expect(audit.data.error).toMatch(/^blocked_by_policy: /);
      // Logged with the app, the cause and the attempt.
      const logged = logLines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((l) => l.client === blocked.clientId && l.cause === 'blocked_by_policy');
      expect(logged).toEqual([
        expect.objectContaining({
          level: 'warn',
          attempt: 1,
          msg: expect.stringContaining('169.254.169.254'),
        }),
      ]);

      // The console's app page shows the delivery state, escaped.
      const signIn = await t
        .http()
        .post('/admin/sign-in')
        .set('Origin', t.config.baseUrl)
        .type('form')
        .send({ key: 'test-admin-key-0123456789abcdef', next: '/admin/apps' })
        .expect(303);
      const cookie = (signIn.headers['set-cookie'] as unknown as string[])
        .find((c) => c.startsWith('admin_console='))
        ?.split(';')[0] as string;
      const page = await t.http().get(`/admin/apps/${blocked.clientId}`).set('Cookie', cookie).expect(200);
      expect(page.text).toContain('<h2>Back-channel logout</h2>');
      expect(page.text).toContain('failed, no retry left');
      expect(page.text).toContain('<code>blocked_by_policy</code>');

      const list = await t.http().get('/admin/apps').set('Cookie', cookie).expect(200);
      expect(list.text).toContain('failed, no retry left (<code>blocked_by_policy</code>)');
      expect(list.text).toContain('failed, will retry (<code>refused</code>)');

      // Registering such a URI in the console is refused at the field, with the reason.
      const form = await t.http().get('/admin/apps/new').set('Cookie', cookie).expect(200);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(form.text)?.[1] as string;
      const refused = await t
        .http()
        .post('/admin/apps')
        .set('Cookie', cookie)
        .set('Origin', t.config.baseUrl)
        .type('form')
        .send({
          _csrf: csrf,
          name: 'Metadata <probe>',
          redirectUris: REDIRECT,
          backchannelLogoutUri: 'https://169.254.169.254/latest/meta-data/',
          grantTypes: 'authorization_code,refresh_token',
          tokenEndpointAuthMethod: 'client_secret_basic',
        })
        .expect(400);
      expect(refused.text).toContain('the bridge does not send requests there');
      expect(refused.text).toContain('value="Metadata &lt;probe&gt;"');
      expect(refused.text).toContain(
        '<p class="field-error" id="backchannelLogoutUri-error">backchannelLogoutUri: the bridge does not send',
      );
      expect(refused.text).not.toContain('Metadata <probe>');
    });
  },
);
