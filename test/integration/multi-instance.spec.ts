import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { ConnectionsService } from '../../src/connections/connections.service';
import { ChangeFeed } from '../../src/database/change-feed';
import { PeriodicJobs } from '../../src/database/periodic-jobs';
import { OidcLogoutService } from '../../src/oidc/oidc-logout.service';
import { OidcProviderHost } from '../../src/oidc/oidc-provider.host';
import { LoginClient, LoginEvidence } from '../support/login-client';
import { MetadataServer } from '../support/metadata-server';
import { createTestConnection, followContinue, reasonOf, startLogin } from '../support/saml-flow';
import { generateTestKeyPair, TestIdp } from '../support/saml-test-idp';
import { postgresAvailable, startTestApp, TestApp } from '../support/test-app';
import { need } from '../support/defined';

const REDIRECT = 'https://app.example.com/callback';
const noEvidence = (): LoginEvidence => ({ samlResponses: [], continues: [], codes: [] });

/** A back-channel logout receiver: answers 200, or holds every request open (`hang`). */
class Receiver {
  readonly tokens: string[] = [];
  readonly open: IncomingMessage[] = [];
  hang = false;
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.tokens.push(new URLSearchParams(body).get('logout_token') ?? '');
        if (this.hang) this.open.push(req);
        else res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

/**
 * Three bridge instances on one PostgreSQL, as behind a load balancer without sticky sessions: every piece
 * of state is in the database, so any instance serves any step, once.
 */
(postgresAvailable() ? describe : describe.skip)('three instances sharing one PostgreSQL', () => {
  let a: TestApp;
  let b: TestApp;
  let c: TestApp;
  const base = (t: TestApp) => `http://127.0.0.1:${t.config.port}`;

  beforeAll(async () => {
    a = await startTestApp('postgres', {}, undefined, { listen: true });
    const shared = { DATABASE_URL: a.config.databaseUrl as string, BASE_URL: a.config.baseUrl };
    [b, c] = await Promise.all([
      startTestApp('embedded', shared, undefined, { listen: true }),
      startTestApp('embedded', shared, undefined, { listen: true }),
    ]);
    // B and C listen on their own ports but present A's BASE_URL, like instances behind one load balancer.
  }, 60_000);
  afterAll(async () => {
    await c?.close();
    await b?.close();
    await a?.close();
  });

  /**
   * Waits until B and C have heard every change committed so far. Another instance applies a change when
   * PostgreSQL's notification reaches it, usually well under a millisecond after the commit; a request
   * sent the moment A answers may arrive first, and this barrier (ChangeFeed.caughtUp) says when it has.
   */
  const heardOnBAndC = () => Promise.all([b, c].map((t) => t.app.get(ChangeFeed).caughtUp()));

  async function app(body: Record<string, unknown> = {}) {
    return (
      await a.admin
        .post('/api/v1/clients')
        .send({ name: 'App', redirectUris: [REDIRECT], ...body })
        .expect(201)
    ).body as { clientId: string; clientSecret: string };
  }

  function loginClient(
    saml: Awaited<ReturnType<typeof createTestConnection>>,
    client: { clientId: string; clientSecret: string },
    route: (path: string) => TestApp,
  ) {
    return new LoginClient({
      publicBase: a.config.baseUrl,
      instances: (path) => [base(route(path))],
      connection: saml,
      client: { ...client, redirectUri: REDIRECT },
    });
  }

  it('authorize and AuthnRequest on A, ACS on B, continue, code and token on C', async () => {
    const saml = await createTestConnection(a, 'three-co');
    const served: { a: string[]; b: string[]; c: string[] } = { a: [], b: [], c: [] };
    const client = loginClient(saml, await app(), (path) => {
      const which =
        (path.startsWith('/oidc/auth') && !path.split('?')[0]?.endsWith('/continue')) ||
        path.includes('/login')
          ? a
          : path.includes('/acs')
            ? b
            : c;
      served[which === a ? 'a' : which === b ? 'b' : 'c'].push(need(path.split('?')[0]));
      return which;
    });
    const tokens = await client.login('three-0001', 'three@example.com', noEvidence());
    expect(tokens.sub).toBeTruthy();
    expect(served.a.some((p) => p === '/oidc/auth')).toBe(true);
    expect(served.b).toEqual(['/saml/three-co/acs']);
    expect(served.c).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\/oidc\/auth\/[^/]+\/continue$/), '/oidc/token']),
    );
  });

  it('rejects on B an assertion accepted on A, and on C a second response to the same AuthnRequest', async () => {
    const saml = await createTestConnection(a, 'replay-co');
    const { requestId } = await startLogin(a, saml.slug);
    const respond = () =>
      saml.idp.responseXml({
        spEntityId: saml.spEntityId,
        acsUrl: saml.acsUrl,
        inResponseTo: requestId,
        nameId: 'replay-0001',
        attributes: { email: 'r@example.com' },
      }) as string;
    const post = (t: TestApp, xml: string) =>
      t
        .http()
        .post(`/saml/${saml.slug}/acs`)
        .type('form')
        .send({ SAMLResponse: Buffer.from(xml).toString('base64') });
    const first = respond();
    const accepted = await post(a, first).expect(303);
    expect((await followContinue(a, accepted.headers.location as string, first)).status).toBe(303);
    // The AuthnRequest ID was consumed on A: the same response, or a fresh one answering it, is refused.
    expect(reasonOf((await post(b, first).expect(400)).text)).toBe('saml_in_response_to_unknown');
    expect(reasonOf((await post(c, respond()).expect(400)).text)).toBe('saml_in_response_to_unknown');
    // An unsolicited (IdP-initiated) assertion accepted on A is a replay on B and C (shared replay cache).
    await a.admin.patch(`/api/v1/connections/${saml.id}`).send({ allowIdpInitiated: true }).expect(200);
    const unsolicited = saml.idp.responseXml({
      spEntityId: saml.spEntityId,
      acsUrl: saml.acsUrl,
      nameId: 'replay-0001',
      attributes: { email: 'r@example.com' },
    }) as string;
    const fresh = await post(a, unsolicited);
    expect([fresh.status, reasonOf(fresh.text)]).toEqual([303, undefined]);
    expect(reasonOf((await post(b, unsolicited).expect(400)).text)).toBe('saml_replay');
    expect(reasonOf((await post(c, unsolicited).expect(400)).text)).toBe('saml_replay');
  });

  it('applies app, connection and metadata changes made on A on B and C as soon as they hear of them', async () => {
    const token = (t: TestApp, id: string, secret: string) =>
      t
        .http()
        .post('/oidc/token')
        .auth(id, secret)
        .type('form')
        .send({ grant_type: 'client_credentials', scope: 'api' });
    const svc = await app({ grantTypes: ['client_credentials'], redirectUris: undefined });
    await token(b, svc.clientId, svc.clientSecret).expect(200);
    const rotated = (await a.admin.post(`/api/v1/clients/${svc.clientId}/rotate-secret`).expect(200)).body;
    await heardOnBAndC();
    expect((await token(c, svc.clientId, svc.clientSecret).expect(401)).body.error).toBe('invalid_client');
    await token(b, svc.clientId, rotated.clientSecret).expect(200);
    await a.admin.delete(`/api/v1/clients/${svc.clientId}`).expect(204);
    await heardOnBAndC();
    await token(c, svc.clientId, rotated.clientSecret).expect(401);

    const saml = await createTestConnection(a, 'change-co');
    await a.admin.patch(`/api/v1/connections/${saml.id}`).send({ enabled: false }).expect(200);
    await heardOnBAndC();
    expect(reasonOf((await b.http().get(`/saml/${saml.slug}/login`).expect(403)).text)).toBe(
      'saml_connection_disabled',
    );
    await a.admin.patch(`/api/v1/connections/${saml.id}`).send({ enabled: true }).expect(200);
    await heardOnBAndC();
    await b.http().get(`/saml/${saml.slug}/login`).expect(303);

    // The IdP moves to a new signing key: A gets the new metadata; B and C trust only the new key once they
    // hear of it.
    const moved = new TestIdp({ entityId: saml.idp.entityId, keys: await generateTestKeyPair('IdP moved') });
    await a.admin
      .put(`/api/v1/connections/${saml.id}/metadata`)
      .set('content-type', 'application/samlmetadata+xml')
      .send(moved.metadataXml())
      .expect(200);
    await heardOnBAndC();
    const loginWith = async (t: TestApp, idp: TestIdp, status: number) => {
      const { requestId } = await startLogin(t, saml.slug);
      const xml = idp.responseXml({
        spEntityId: saml.spEntityId,
        acsUrl: saml.acsUrl,
        inResponseTo: requestId,
        nameId: 'moved-0001',
        attributes: { email: 'moved@example.com' },
      }) as string;
      return t
        .http()
        .post(`/saml/${saml.slug}/acs`)
        .type('form')
        .send({ SAMLResponse: Buffer.from(xml).toString('base64') })
        .expect(status);
    };
    expect(reasonOf((await loginWith(b, saml.idp, 400)).text)).toBe('saml_signature_invalid');
    await loginWith(c, moved, 303);
  });

  it('ends on B the sessions made on A when the IdP logs out, fanning out back-channel logout once, unblocked by a hanging app', async () => {
    const fine = new Receiver();
    const stuck = new Receiver();
    stuck.hang = true;
    const [fineUrl, stuckUrl] = await Promise.all([fine.start(), stuck.start()]);
    try {
      const saml = await createTestConnection(a, 'slo-co');
      const appFine = await app({ backchannelLogoutUri: `${fineUrl}/bcl` });
      const appStuck = await app({ backchannelLogoutUri: `${stuckUrl}/bcl` });
      // The user signs in to both apps, entirely through A (one browser: the second app gets SSO).
      const first = loginClient(saml, appFine, () => a);
      await first.login('slo-0001', 'slo@example.com', noEvidence());
      const ds = a.app.get(DataSource);
      const [{ active }] = await ds.query(
        `SELECT count(*)::int AS active FROM login_sessions s JOIN users u ON u.id = s.user_id
          WHERE u.subject = 'slo-0001' AND s.ended_at IS NULL`,
      );
      expect(active).toBe(1);
      await loginClient(saml, appStuck, () => a).login('slo-0001', 'slo@example.com', noEvidence());

      const logout = saml.idp.logoutRequestXml({
        spEntityId: saml.spEntityId,
        destination: saml.sloUrl,
        nameId: 'slo-0001',
      });
      const query = saml.idp.redirectBindingQuery('SAMLRequest', logout, undefined, { sign: true });
      // B answers the IdP while the stuck app still holds its back-channel request open.
      const answered = await b.http().get(`/saml/${saml.slug}/slo?${query}`).expect(303);
      expect(new URL(answered.headers.location as string).searchParams.get('SAMLResponse')).toBeTruthy();

      const deadline = Date.now() + 5000;
      while ((fine.tokens.length === 0 || stuck.open.length === 0) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(stuck.open.length).toBe(1);
      const [{ still }] = await ds.query(
        `SELECT count(*)::int AS still FROM login_sessions s JOIN users u ON u.id = s.user_id
          WHERE u.subject = 'slo-0001' AND s.ended_at IS NULL`,
      );
      expect(still).toBe(0);
      // The stuck app's delivery times out and is scheduled for a retry (never blocking anything above).
      let stuckRow: { status: string; attempts: number; last_error: string | null } | undefined;
      for (let i = 0; i < 100 && !stuckRow?.last_error; i++) {
        await new Promise((r) => setTimeout(r, 100));
        [stuckRow] = await ds.query(
          `SELECT status, attempts, last_error FROM backchannel_deliveries WHERE client_id = $1`,
          [appStuck.clientId],
        );
      }
      expect(stuckRow).toMatchObject({ status: 'pending', attempts: 1 });
      // The app recovers; when the retry is due, every instance's retry job runs at once: one delivery.
      stuck.hang = false;
      await ds.query(`UPDATE backchannel_deliveries SET next_attempt_at = now() WHERE client_id = $1`, [
        appStuck.clientId,
      ]);
      const runs = await Promise.all([a, b, c].map((t) => t.app.get(OidcLogoutService).deliverDue()));
      expect(runs.reduce((n, r) => n + r.delivered, 0)).toBe(1);
      expect(fine.tokens).toHaveLength(1);
      expect(stuck.tokens).toHaveLength(2);
      const [done] = await ds.query(`SELECT status FROM backchannel_deliveries WHERE client_id = $1`, [
        appStuck.clientId,
      ]);
      expect(done.status).toBe('delivered');
    } finally {
      await fine.stop();
      await stuck.stop();
    }
  });

  it('runs metadata refresh, back-channel retries and periodic jobs once per period across instances', async () => {
    const metadata = new MetadataServer();
    const url = await metadata.start();
    try {
      const idp = new TestIdp({
        entityId: 'https://idp-jobs.test/metadata',
        keys: await generateTestKeyPair('jobs'),
      });
      metadata.body = idp.metadataXml();
      const ids: string[] = [];
      for (const slug of ['jobs-1', 'jobs-2', 'jobs-3']) {
        ids.push(
          (
            await a.admin
              .post('/api/v1/connections')
              .send({ slug, name: slug, metadataUrl: `${url}/${slug}` })
              .expect(201)
          ).body.id,
        );
      }
      const ds = a.app.get(DataSource);
      await ds.query(
        `UPDATE connections SET metadata_next_refresh_at = now() - interval '1 minute' WHERE id = ANY($1)`,
        [ids],
      );
      const before = metadata.requests;
      const outcomes = (
        await Promise.all([a, b, c].map((t) => t.app.get(ConnectionsService).refreshDue()))
      ).flat();
      expect(
        outcomes
          .filter((o) => ids.includes(o.id))
          .map((o) => o.id)
          .sort(),
      ).toEqual([...ids].sort());
      expect(metadata.requests - before).toBe(3);

      // A periodic job (key rotation, purges) claimed by three instances at once runs once.
      let runs = 0;
      const job = { name: `multi-${Date.now()}`, periodMs: 60_000, run: async () => void runs++ };
      const claimed = await Promise.all([a, b, c].map((t) => t.app.get(PeriodicJobs).runIfDue(job)));
      expect(claimed.filter(Boolean)).toHaveLength(1);
      expect(runs).toBe(1);
    } finally {
      await metadata.stop();
    }
  });

  it('serves the JWKS of a key rotation made on A from B and C', async () => {
    await a.admin.post('/api/v1/keys/rotate').expect(200);
    const kids = ((await a.admin.get('/api/v1/keys').expect(200)).body.items as Array<{ kid: string }>).map(
      (k) => k.kid,
    );
    for (const t of [b, c]) {
      // Instances re-read the key set at most every 10 s; forcing it stands for waiting that bound.
      await t.app.get(OidcProviderHost).current(true);
      const jwks = (await request(t.app.getHttpServer()).get('/oidc/jwks').expect(200)).body.keys as Array<{
        kid: string;
      }>;
      expect(jwks.map((k) => k.kid)).toEqual(expect.arrayContaining(kids));
    }
  });
});
