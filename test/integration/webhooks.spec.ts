import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { DataSource } from 'typeorm';
import { AuditService } from '../../src/audit/audit.service';
import { Transactions } from '../../src/database/transactions';
import { EventsService } from '../../src/events/events.service';
import { Client } from 'pg';
import { ensureProductionBuild, startBridgeProcess, type BridgeProcess } from '../support/bridge-process';
import { HttpReceiver } from '../support/http-receiver';
import { postAndContinue, startLogin, createTestConnection } from '../support/saml-flow';
import { generateTestKeyPair, TestIdp } from '../support/saml-test-idp';
import {
  createTestDatabase,
  postgresAvailable,
  startTestApp,
  TEST_ADMIN_KEY,
  type TestApp,
} from '../support/test-app';

/**
 * Verifies a Standard Webhooks signature with its own implementation of the specification (not the
 * library the bridge signs with): HMAC-SHA256 over `id.timestamp.body`, keyed with the base64 secret after
 * `whsec_`, in `v1,<base64>` among space-separated signatures.
 */
function verifyStandardWebhook(secret: string, headers: IncomingMessage['headers'], body: string): boolean {
  const id = String(headers['webhook-id'] ?? '');
  const timestamp = String(headers['webhook-timestamp'] ?? '');
  const given = String(headers['webhook-signature'] ?? '');
  if (!id || !/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return given.split(' ').some((sig) => {
    const [version, value] = sig.split(',');
    if (version !== 'v1' || !value) return false;
    const got = Buffer.from(value, 'base64');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

interface Received {
  id: string;
  type: string;
  data: Record<string, unknown>;
  verified: boolean;
}

/** A webhook receiver on loopback: each delivery parsed and its signature checked. */
class Receiver extends HttpReceiver {
  secret = '';
  get received(): Received[] {
    return this.requests.map((r) => {
      const parsed = JSON.parse(r.body) as { type: string; data: Record<string, unknown> };
      return {
        id: String(r.headers['webhook-id']),
        type: parsed.type,
        data: parsed.data,
        verified: verifyStandardWebhook(this.secret, r.headers, r.body),
      };
    });
  }
  of(type: string): Received[] {
    return this.received.filter((r) => r.type === type);
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

(postgresAvailable() ? describe : describe.skip)('events and signed webhooks (PostgreSQL)', () => {
  let t: TestApp;
  const receiver = new Receiver();
  let hookId: string;

  beforeAll(async () => {
    t = await startTestApp('postgres');
    const url = await receiver.start('/hook');
    const created = await t.admin
      .post('/api/v1/webhooks')
      .send({ url, events: ['*'], description: 'ops' })
      .expect(201);
    hookId = created.body.id;
    receiver.secret = created.body.secret;
    expect(receiver.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{32}$/);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  it('stores the secret sealed, never lists it, and refuses a link-local or malformed URL at registration', async () => {
    const rows = await t.app.get(DataSource).query('SELECT secret_sealed FROM webhook_endpoints');
    expect(rows[0].secret_sealed).toMatch(/^v1\./);
    expect(JSON.stringify(rows)).not.toContain(receiver.secret.slice(6));
    const list = await t.admin.get('/api/v1/webhooks').expect(200);
    expect(JSON.stringify(list.body)).not.toContain(receiver.secret);
    const metadata = await t.admin
      .post('/api/v1/webhooks')
      .send({ url: 'http://169.254.169.254/latest/meta-data', events: ['*'] })
      .expect(400);
    expect(metadata.body.code).toBe('outbound_destination_refused');
    expect(
      (
        await t.admin
          .post('/api/v1/webhooks')
          .send({ url: 'not a url', events: ['*'] })
          .expect(400)
      ).body.code,
    ).toBe('webhook_url_invalid');
    expect(
      (
        await t.admin
          .post('/api/v1/webhooks')
          .send({ url: 'https://x.example', events: ['nope'] })
          .expect(400)
      ).body.code,
    ).toBe('webhook_event_unknown');
  });

  it('records a change and its event together, delivers it signed, and pages the stream with a cursor', async () => {
    const conn = await createTestConnection(t, 'hooked');
    await until(() => receiver.of('connection.created').length > 0, 'connection.created delivery');
    const [got] = receiver.of('connection.created');
    expect(got).toMatchObject({ verified: true, data: { connectionId: conn.id, slug: 'hooked' } });
    expect(got?.id).toMatch(/^evt_\d+$/);
    const page = await t.admin.get('/api/v1/events?types=connection.&limit=1').expect(200);
    expect(page.body.items).toHaveLength(1);
    expect(page.body.items[0]).toMatchObject({ type: 'connection.created', data: { slug: 'hooked' } });
    const next = await t.admin
      .get(`/api/v1/events?types=connection.created&after=${page.body.next}`)
      .expect(200);
    expect(next.body.items.every((e: { id: string }) => BigInt(e.id) > BigInt(page.body.next))).toBe(true);
    expect((await t.admin.get('/api/v1/events?types=bogus').expect(400)).body.code).toBe(
      'event_type_unknown',
    );
    // The payload never carries secrets or documents.
    expect(JSON.stringify(receiver.received)).not.toMatch(/BEGIN CERTIFICATE|metadataXml|whsec_/);
  });

  it('writes no event when the change is rolled back', async () => {
    const ds = t.app.get(DataSource);
    const before = Number((await ds.query(`SELECT count(*) AS n FROM events`))[0].n);
    await expect(
      t.app.get(Transactions).run(async (m) => {
        await t.app
          .get(AuditService)
          .record({ type: 'connection.created', data: { after: { slug: 'ghost', name: 'Ghost' } } }, m);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(Number((await ds.query(`SELECT count(*) AS n FROM events`))[0].n)).toBe(before);
  });

  it('publishes logins: succeeded (and the connection activated once) and failed with reason and trace', async () => {
    const c = await createTestConnection(t, 'loginhook');
    for (const nameId of ['lh-1', 'lh-2']) {
      const { requestId } = await startLogin(t, c.slug);
      const xml = c.idp.responseXml({
        spEntityId: c.spEntityId,
        acsUrl: c.acsUrl,
        inResponseTo: requestId,
        nameId,
        attributes: { email: `${nameId}@example.com` },
      }) as string;
      await postAndContinue(t, c.slug, xml);
    }
    const stranger = new TestIdp({ entityId: c.idp.entityId, keys: await generateTestKeyPair('stranger') });
    const { requestId } = await startLogin(t, c.slug);
    await t
      .http()
      .post(`/saml/${c.slug}/acs`)
      .type('form')
      .send({
        SAMLResponse: Buffer.from(
          stranger.responseXml({
            spEntityId: c.spEntityId,
            acsUrl: c.acsUrl,
            inResponseTo: requestId,
            nameId: 'x',
          }) as string,
        ).toString('base64'),
      })
      .expect(400);
    await until(
      () =>
        receiver.of('sso.login_succeeded').filter((r) => r.data.connectionId === c.id).length === 2 &&
        receiver.of('sso.login_failed').some((r) => r.data.connectionId === c.id),
      'login events',
    );
    expect(receiver.of('connection.activated').filter((r) => r.data.connectionId === c.id)).toHaveLength(1);
    const failed = receiver.of('sso.login_failed').find((r) => r.data.connectionId === c.id);
    expect(failed?.data).toMatchObject({ reason: 'saml_signature_invalid', traceId: expect.any(String) });
    expect(JSON.stringify(receiver.of('sso.login_succeeded'))).not.toContain('@example.com');
  });

  it('retries a failing receiver with the same webhook-id, and lists the deliveries', async () => {
    receiver.status = 500;
    await t.admin.post(`/api/v1/webhooks/${hookId}/test`).expect(202);
    await until(() => receiver.of('webhook.test').length >= 1, 'first attempt');
    receiver.status = 200;
    await until(() => receiver.of('webhook.test').length >= 2, 'the retry', 15_000);
    const [first, second] = receiver.of('webhook.test');
    expect(second?.id).toBe(first?.id);
    await until(async () => {
      const d = await t.admin.get(`/api/v1/webhooks/${hookId}/deliveries`).expect(200);
      const test = d.body.items.find((x: { eventType: string }) => x.eventType === 'webhook.test');
      return test?.status === 'delivered' && test.attempts === 2;
    }, 'delivery recorded');
    const deliveries = await t.admin.get(`/api/v1/webhooks/${hookId}/deliveries`).expect(200);
    const test = deliveries.body.items.find((x: { eventType: string }) => x.eventType === 'webhook.test');
    await t.admin.post(`/api/v1/webhooks/${hookId}/deliveries/${test.id}/redeliver`).expect(202);
    await until(() => receiver.of('webhook.test').length >= 3, 'the redelivery');
    expect(receiver.of('webhook.test')[2]?.id).toBe(first?.id);
  });

  it('fires certificate-expiry events at each threshold once, on a frozen clock', async () => {
    const events = t.app.get(EventsService);
    const c = await createTestConnection(t, 'expiring');
    const conn = (await t.admin.get(`/api/v1/connections/${c.id}`).expect(200)).body;
    const notAfter = new Date(conn.idp.certificates[0].notAfter as string);
    const at = (days: number) => new Date(notAfter.getTime() - days * 86_400_000 + 3600_000);
    const count = async (type: string) =>
      Number(
        (
          await t.app
            .get(DataSource)
            .query(
              `SELECT count(*) AS n FROM events WHERE type = $1 AND connection_id = $2 AND data->>'kind' = 'idp_signing'`,
              [type, c.id],
            )
        )[0].n,
      );
    await events.checkCertificates(at(40));
    expect(await count('connection.certificate_expiring')).toBe(0);
    for (const [days, expected] of [
      [30, 1],
      [29, 1],
      [14, 2],
      [7, 3],
      [7, 3],
      [1, 4],
    ] as const) {
      await events.checkCertificates(at(days));
      expect(await count('connection.certificate_expiring')).toBe(expected);
    }
    await events.checkCertificates(new Date(notAfter.getTime() + 1000));
    await events.checkCertificates(new Date(notAfter.getTime() + 86_400_000));
    expect(await count('connection.certificate_expired')).toBe(1);
    const thresholds = await t.admin
      .get('/api/v1/events?types=connection.certificate_expiring&limit=500')
      .expect(200);
    expect(
      thresholds.body.items
        .filter(
          (e: { data: { connectionId: string; kind: string } }) =>
            e.data.connectionId === c.id && e.data.kind === 'idp_signing',
        )
        .map((e: { data: { threshold: number } }) => e.data.threshold),
    ).toEqual([30, 14, 7, 1]);
  });

  it('disables an endpoint after a day of failures and says so in an event', async () => {
    const watcher = new Receiver();
    const failing = new Receiver();
    failing.status = 503;
    try {
      const w = await t.admin
        .post('/api/v1/webhooks')
        .send({ url: await watcher.start('/hook'), events: ['webhook.endpoint_disabled'] })
        .expect(201);
      watcher.secret = w.body.secret;
      const f = await t.admin
        .post('/api/v1/webhooks')
        .send({ url: await failing.start('/hook'), events: ['webhook.test'] })
        .expect(201);
      // A day has passed since it started failing (moved in the database: the dispatcher reads its clock there).
      await t.app
        .get(DataSource)
        .query(`UPDATE webhook_endpoints SET failing_since = now() - interval '25 hours' WHERE id = $1`, [
          f.body.id,
        ]);
      await t.admin.post(`/api/v1/webhooks/${f.body.id}/test`).expect(202);
      await until(() => watcher.of('webhook.endpoint_disabled').length === 1, 'the disabled event');
      expect(watcher.of('webhook.endpoint_disabled')[0]).toMatchObject({
        verified: true,
        data: { webhookId: f.body.id },
      });
      const state = await t.admin.get(`/api/v1/webhooks/${f.body.id}`).expect(200);
      expect(state.body).toMatchObject({
        enabled: false,
        disabledReason: expect.stringContaining('status_503'),
      });
    } finally {
      await watcher.stop();
      await failing.stop();
    }
  });
});

(postgresAvailable() ? describe : describe.skip)('webhooks across two instances (production build)', () => {
  let db: { url: string; drop: () => Promise<void> };
  const bridges: BridgeProcess[] = [];
  const receiver = new Receiver();
  const base = (b: BridgeProcess) => b.base;

  const start = async () => {
    const b = await startBridgeProcess({
      env: {
        DATABASE_URL: db.url,
        BASE_URL: 'http://bridge.test',
        ADMIN_API_KEY: TEST_ADMIN_KEY,
        BRIDGE_SECRET: 'webhook-test-bridge-secret-0123456789abcdef',
        LOG_LEVEL: 'error',
        METADATA_SCHEDULER_SECONDS: '0',
        OUTBOUND_TIMEOUT_MS: '1000',
        WEBHOOK_LEASE_SECONDS: '3',
      },
    });
    bridges.push(b);
    return b;
  };
  const admin = (b: BridgeProcess, method: string, path: string, body?: unknown) =>
    fetch(`${base(b)}${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({
      status: r.status,
      body: (await r.json().catch(() => ({}))) as Record<string, unknown>,
    }));

  beforeAll(async () => {
    ensureProductionBuild();
    db = await createTestDatabase();
  }, 120_000);
  afterAll(async () => {
    for (const b of bridges) await b.stop().catch(() => undefined);
    await receiver.stop().catch(() => undefined);
    await db?.drop();
  });

  it('delivers each event once with two instances, and a killed instance mid-delivery loses nothing', async () => {
    const [a, b] = [await start(), await start()];
    const hook = await admin(a, 'POST', '/api/v1/webhooks', {
      url: await receiver.start('/hook'),
      events: ['connection.created', 'connection.deleted'],
    });
    expect(hook.status).toBe(201);
    receiver.secret = hook.body.secret as string;
    const idp = new TestIdp({
      entityId: 'https://idp-two.test/metadata',
      keys: await generateTestKeyPair('two'),
    });
    const slugs = Array.from({ length: 12 }, (_, i) => `two-${i}`);
    for (const [i, slug] of slugs.entries()) {
      const res = await admin(i % 2 ? a : b, 'POST', '/api/v1/connections', {
        slug,
        name: slug,
        metadataXml: idp.metadataXml(),
      });
      expect(res.status).toBe(201);
    }
    await until(() => receiver.of('connection.created').length >= slugs.length, 'every event', 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    const ids = receiver.of('connection.created').map((r) => r.id);
    expect(new Set(ids).size).toBe(slugs.length);
    expect(ids).toHaveLength(slugs.length);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    // In event order: the slugs arrive as they were created.
    expect(receiver.of('connection.created').map((r) => r.data.slug)).toEqual(slugs);

    // The receiver hangs; whichever instance holds the endpoint is killed mid-delivery.
    receiver.hang = true;
    const conn = (await admin(a, 'GET', '/api/v1/connections?q=two-0')).body.items as Array<{ id: string }>;
    await admin(a, 'DELETE', `/api/v1/connections/${conn[0]?.id}`);
    await until(() => receiver.of('connection.deleted').length === 1, 'the hanging delivery');
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    const holder = String(
      (await pg.query(`SELECT lease_owner FROM webhook_endpoints`).finally(() => pg.end())).rows[0]
        .lease_owner,
    ).split('-')[0];
    const victim = [a, b].find((x) => String(x.child.pid) === holder) as BridgeProcess;
    expect(victim).toBeDefined();
    victim.child.kill('SIGKILL');
    receiver.hang = false;
    await until(
      () => receiver.of('connection.deleted').length >= 2,
      'the delivery resumed by the other instance',
      30_000,
    );
    const deleted = receiver.of('connection.deleted');
    expect(deleted[1]?.id).toBe(deleted[0]?.id);
  }, 180_000);
});
