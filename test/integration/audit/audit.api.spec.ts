import { DataSource } from 'typeorm';
import { eventHash } from '../../../src/audit/audit-hash';
import { AuditService } from '../../../src/audit/audit.service';
import { ConnectionsService } from '../../../src/connections/connections.service';
import { MetadataServer } from '../../support/metadata-server';
import {
  cookieFrom,
  createTestConnection,
  postAndContinue,
  reasonOf,
  SamlConnectionFixture,
  startLogin,
} from '../../support/saml-flow';
import { databaseKinds, startTestApp, TestApp } from '../../support/test-app';
import { need } from '../../support/defined';

interface AuditEventJson {
  seq: number;
  id: string;
  occurredAt: string;
  type: string;
  actor: { type: string; id: string | null; name: string };
  connectionId: string | null;
  userId: string | null;
  clientId: string | null;
  requestId: string | null;
  ip: string | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- event data is free-form JSON, read field by field
  data: Record<string, any>;
  prevHash: string;
  hash: string;
}

const ATTRS = { email: 'alice@example.com', givenName: 'Alice', sn: 'Liddell', groups: ['staff'] };

function parseNdjson(text: string): AuditEventJson[] {
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as AuditEventJson);
}

describe.each(databaseKinds())('audit log API on %s', (kind) => {
  let t: TestApp;
  let ds: DataSource;
  let c: SamlConnectionFixture;
  let auditor: { id: string; key: string };
  const secrets: string[] = [];

  /** supertest as the "auditor" admin API key. */
  const as = (method: 'get' | 'post' | 'patch' | 'put' | 'delete', path: string) =>
    t.http()[method](path).set('Authorization', `Bearer ${auditor.key}`);
  const exportAll = async (query = ''): Promise<AuditEventJson[]> =>
    parseNdjson((await t.admin.get(`/api/v1/audit/export${query}`).expect(200)).text);
  const latest = async (type: string): Promise<AuditEventJson> => {
    const res = await t.admin.get(`/api/v1/audit?type=${type}&limit=1`).expect(200);
    expect(res.body.items).toHaveLength(1);
    return res.body.items[0];
  };

  beforeAll(async () => {
    t = await startTestApp(kind);
    ds = t.app.get(DataSource);
    const created = await t.admin.post('/api/v1/api-keys').send({ name: 'auditor' }).expect(201);
    auditor = { id: created.body.id, key: created.body.key };
    secrets.push(auditor.key);
    c = await createTestConnection(t, 'audit-co');
  });
  afterAll(async () => t?.close());

  describe('admin changes', () => {
    it('records the admin key creation and the connection creation with the bootstrap actor', async () => {
      const keyEvent = await latest('admin_key.created');
      expect(keyEvent.actor).toEqual({
        type: 'admin-key',
        id: 'bootstrap',
        name: 'bootstrap (ADMIN_API_KEY)',
      });
      expect(keyEvent.data.after).toMatchObject({ id: auditor.id, name: 'auditor' });
      expect(keyEvent.requestId).toEqual(expect.any(String));
      expect(keyEvent.ip).toEqual(expect.any(String));

      const conn = await latest('connection.created');
      expect(conn.connectionId).toBe(c.id);
      expect(conn.data.after).toMatchObject({
        slug: 'audit-co',
        domains: ['example.com'],
        preset: 'generic',
      });
      expect(conn.data.after.metadataSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(conn.data.spKey.fingerprint).toMatch(/^[0-9A-F:]+$/);
    });

    it('records a connection update (options, domains) as the acting key, with before/after of what changed', async () => {
      await as('patch', `/api/v1/connections/${c.id}`)
        .send({ domains: ['example.com', 'example.org'], options: { clockSkewSeconds: 90 } })
        .expect(200);
      const e = await latest('connection.updated');
      expect(e.actor).toEqual({ type: 'admin-key', id: auditor.id, name: 'auditor' });
      expect(e.connectionId).toBe(c.id);
      expect(e.data.before.domains).toEqual(['example.com']);
      expect(e.data.after.domains).toEqual(['example.com', 'example.org']);
      expect(e.data.before.options.clockSkewSeconds).not.toBe(90);
      expect(e.data.after.options.clockSkewSeconds).toBe(90);
      expect(e.data.before.name).toBeUndefined();
    });

    it('records a metadata replacement, SP key rollover and the deletion of a connection', async () => {
      const other = await createTestConnection(t, 'audit-gone');
      await as('put', `/api/v1/connections/${other.id}/metadata`)
        .set('Content-Type', 'application/samlmetadata+xml')
        .send(other.idp.metadataXml())
        .expect(200);
      const replaced = await latest('connection.updated');
      expect(replaced.data.operation).toBe('metadata_replaced');
      expect(replaced.connectionId).toBe(other.id);

      await as('post', `/api/v1/connections/${other.id}/sp-keys/next`).expect(201);
      const next = await latest('sp_key.next_created');
      expect(next).toMatchObject({ connectionId: other.id, actor: { id: auditor.id } });
      expect(next.data.fingerprint).toMatch(/^[0-9A-F:]+$/);
      await as('post', `/api/v1/connections/${other.id}/sp-keys/promote`).expect(200);
      const promoted = await latest('sp_key.promoted');
      expect(promoted.data.current.keyId).toBe(next.data.keyId);
      expect(promoted.data.retired).toHaveLength(1);

      await as('delete', `/api/v1/connections/${other.id}`).expect(204);
      const deleted = await latest('connection.deleted');
      expect(deleted).toMatchObject({ connectionId: other.id, actor: { id: auditor.id } });
      expect(deleted.data.before.slug).toBe('audit-gone');
      // A refused change (unknown id) writes nothing.
      const before = (await t.admin.get('/api/v1/audit/verify').expect(200)).body.lastSeq;
      await as('delete', `/api/v1/connections/${other.id}`).expect(404);
      expect((await t.admin.get('/api/v1/audit/verify').expect(200)).body.lastSeq).toBe(before);
    });

    it('records apps: created, updated, secret rotated, deleted — never the secret or its hash', async () => {
      const created = await as('post', '/api/v1/clients')
        .send({ name: 'Audited app', redirectUris: ['https://app.example.com/cb'] })
        .expect(201);
      const clientId = created.body.clientId as string;
      secrets.push(created.body.clientSecret);
      const e1 = await latest('app.created');
      expect(e1).toMatchObject({ clientId, actor: { id: auditor.id } });
      expect(e1.data.after).toMatchObject({ name: 'Audited app', secretHash: '[redacted]' });

      await as('patch', `/api/v1/clients/${clientId}`).send({ name: 'Renamed app' }).expect(200);
      const e2 = await latest('app.updated');
      expect(e2.data.before).toEqual({ name: 'Audited app' });
      expect(e2.data.after).toEqual({ name: 'Renamed app' });

      const rotated = await as('post', `/api/v1/clients/${clientId}/rotate-secret`).expect(200);
      secrets.push(rotated.body.clientSecret);
      const e3 = await latest('app.secret_rotated');
      expect(e3.clientId).toBe(clientId);
      expect(e3.data).toMatchObject({
        before: { secretHash: '[redacted]' },
        after: { secretHash: '[redacted]' },
      });

      await as('delete', `/api/v1/clients/${clientId}`).expect(204);
      expect((await latest('app.deleted')).data.before.name).toBe('Renamed app');
    });

    it('records admin key revocation and OIDC key rotation', async () => {
      const other = await t.admin.post('/api/v1/api-keys').send({ name: 'temp' }).expect(201);
      secrets.push(other.body.key);
      await as('delete', `/api/v1/api-keys/${other.body.id}`).expect(200);
      const revoked = await latest('admin_key.revoked');
      expect(revoked.actor.id).toBe(auditor.id);
      expect(revoked.data.before.revokedAt).toBeNull();
      expect(revoked.data.after.revokedAt).toEqual(expect.any(String));

      await as('post', '/api/v1/keys/rotate').expect(200);
      const rotation = await latest('oidc_keys.rotated');
      expect(rotation.actor.id).toBe(auditor.id);
      expect(rotation.data.keys.map((k: { alg: string }) => k.alg).sort()).toEqual(['ES256', 'RS256']);
      expect(rotation.data.keys[0].next).toEqual(expect.any(String));
      expect((await latest('oidc_keys.generated')).actor.type).toBe('system');
    });

    it('records metadata refreshes from the URL, successful and failed, on demand and scheduled (system actor)', async () => {
      const server = new MetadataServer();
      const base = await server.start();
      try {
        const idpConn = await createTestConnection(t, 'audit-url');
        server.body = idpConn.idp.metadataXml();
        const conn = await t.admin
          .post('/api/v1/connections')
          .send({ slug: 'audit-url2', name: 'URL', metadataUrl: `${base}/m` })
          .expect(201);
        await as('post', `/api/v1/connections/${conn.body.id}/metadata/refresh`).expect(200);
        const ok = await latest('connection.metadata_refreshed');
        expect(ok).toMatchObject({
          connectionId: conn.body.id,
          actor: { id: auditor.id },
          data: { url: `${base}/m`, changed: expect.any(Boolean) },
        });

        server.status = 500;
        await ds.query(
          `UPDATE connections SET metadata_next_refresh_at = now() - interval '1 second' WHERE id = $1`,
          [conn.body.id],
        );
        const outcomes = await t.app.get(ConnectionsService).refreshDue();
        expect(outcomes.map((o) => o.ok)).toEqual([false]);
        const failed = await latest('connection.metadata_refresh_failed');
        expect(failed).toMatchObject({
          connectionId: conn.body.id,
          actor: { type: 'system', id: null },
          requestId: null,
          data: { code: 'metadata_url_http_error', url: `${base}/m` },
        });
      } finally {
        await server.stop();
      }
    });

    it('never stores secrets: API keys, client secrets, their hashes, sealed or plain private keys, SAML messages', async () => {
      const text = (await t.admin.get('/api/v1/audit/export').expect(200)).text;
      const stored: string[] = [
        ...(await ds.query(`SELECT key_hash AS v FROM admin_api_keys`)).map((r: { v: string }) => r.v),
        ...(await ds.query(`SELECT secret_hash AS v FROM oidc_clients WHERE secret_hash IS NOT NULL`)).map(
          (r: { v: string }) => r.v,
        ),
        ...(await ds.query(`SELECT private_key_sealed AS v FROM sp_keys`)).map((r: { v: string }) => r.v),
        ...(await ds.query(`SELECT private_jwk_sealed AS v FROM oidc_signing_keys`)).map(
          (r: { v: string }) => r.v,
        ),
      ];
      expect(stored.length).toBeGreaterThan(5);
      for (const secret of [...secrets, ...stored]) {
        expect(secret.length).toBeGreaterThan(20);
        expect(text).not.toContain(secret);
      }
      expect(text).not.toMatch(/PRIVATE KEY/);
      expect(text).not.toMatch(/SignatureValue|<saml|SAMLResponse/);
    });

    it('refuses an admin change that cannot be audited (503, nothing changed) but lets logins through', async () => {
      await ds.query(`CREATE FUNCTION test_audit_down() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit storage is down'; END $$`);
      // Both of the audit log's tables refuse: the change's queued event and the chain's appends.
      for (const table of ['audit_pending', 'audit_events']) {
        await ds.query(
          `CREATE TRIGGER test_audit_down BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION test_audit_down()`,
        );
      }
      try {
        const res = await as('patch', `/api/v1/connections/${c.id}`)
          .send({ name: 'Never saved' })
          .expect(503);
        expect(res.body.code).toBe('audit_unavailable');
        expect((await t.admin.get(`/api/v1/connections/${c.id}`).expect(200)).body.name).not.toBe(
          'Never saved',
        );

        const { requestId } = await startLogin(t, c.slug);
        const xml = c.idp.responseXml({
          spEntityId: c.spEntityId,
          acsUrl: c.acsUrl,
          inResponseTo: requestId,
          nameId: 'u-while-down',
          attributes: ATTRS,
        }) as string;
        const res2 = await postAndContinue(t, c.slug, xml);
        expect(cookieFrom(res2)).toBeTruthy();
        const metrics = (await t.http().get('/metrics').expect(200)).text;
        expect(metrics).toMatch(/bridge_audit_append_failures_total\{type="login.succeeded"\} 1/);
      } finally {
        await ds.query(`DROP TRIGGER test_audit_down ON audit_pending`);
        await ds.query(`DROP TRIGGER test_audit_down ON audit_events`);
        await ds.query(`DROP FUNCTION test_audit_down()`);
      }
      expect((await t.admin.get('/api/v1/audit/verify').expect(200)).body.ok).toBe(true);
    });

    it('keeps a change whose event committed with it but could not be chained: the sweep chains it later', async () => {
      await ds.query(`CREATE FUNCTION test_chain_down() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the chain is down'; END $$`);
      await ds.query(
        `CREATE TRIGGER test_chain_down BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_chain_down()`,
      );
      try {
        await as('patch', `/api/v1/connections/${c.id}`).send({ name: 'Saved, chained later' }).expect(200);
        expect((await t.admin.get(`/api/v1/connections/${c.id}`).expect(200)).body.name).toBe(
          'Saved, chained later',
        );
        const pending: Array<{ draft: string }> = await ds.query(`SELECT draft FROM audit_pending`);
        expect(pending.map((p) => (JSON.parse(p.draft) as { type: string }).type)).toEqual([
          'connection.updated',
        ]);
      } finally {
        await ds.query(`DROP TRIGGER test_chain_down ON audit_events`);
        await ds.query(`DROP FUNCTION test_chain_down()`);
      }
      const metricsBefore = (await t.http().get('/metrics').expect(200)).text;
      expect(metricsBefore).toMatch(/bridge_audit_left_queued_total\{type="connection.updated"\} 1/);
      expect(await t.app.get(AuditService).chainStale(0)).toBe(1);
      expect((await t.http().get('/metrics').expect(200)).text).toMatch(/bridge_audit_swept_total 1\b/);
      const [event] = (
        await t.admin.get(`/api/v1/audit?type=connection.updated&connectionId=${c.id}`).expect(200)
      ).body.items;
      expect(event.data.after.name).toBe('Saved, chained later');
      expect(typeof event.data.delayedFrom).toBe('string');
      expect((await ds.query(`SELECT id FROM audit_pending`)).length).toBe(0);
      expect((await t.admin.get('/api/v1/audit/verify').expect(200)).body.ok).toBe(true);
    });
  });

  describe('logins and logouts', () => {
    let userId: string;

    it('records a SAML login: user.provisioned then login.succeeded, with the user as actor', async () => {
      const { requestId } = await startLogin(t, c.slug);
      const xml = c.idp.responseXml({
        spEntityId: c.spEntityId,
        acsUrl: c.acsUrl,
        inResponseTo: requestId,
        nameId: 'u-audit-1',
        attributes: ATTRS,
        sessionIndex: 'idx-audit',
      }) as string;
      const res = await postAndContinue(t, c.slug, xml);
      const cookie = cookieFrom(res) as string;

      const ok = await latest('login.succeeded');
      userId = ok.userId as string;
      expect(ok).toMatchObject({
        connectionId: c.id,
        actor: { type: 'user', id: userId, name: 'alice@example.com' },
        data: {
          subject: 'u-audit-1',
          email: 'alice@example.com',
          connection: 'audit-co',
          idpInitiated: false,
        },
      });
      const provisioned = await latest('user.provisioned');
      expect(provisioned).toMatchObject({
        userId,
        connectionId: c.id,
        data: { after: { subject: 'u-audit-1' } },
      });
      expect(provisioned.seq).toBeLessThan(ok.seq);

      // A second login of the same user provisions nothing new.
      const second = await startLogin(t, c.slug);
      await postAndContinue(
        t,
        c.slug,
        c.idp.responseXml({
          spEntityId: c.spEntityId,
          acsUrl: c.acsUrl,
          inResponseTo: second.requestId,
          nameId: 'u-audit-1',
          attributes: ATTRS,
        }) as string,
      );
      expect((await latest('user.provisioned')).seq).toBe(provisioned.seq);

      // Replaying the response: login.failed with the reason code.
      const replay = await t
        .http()
        .post(`/saml/${c.slug}/acs`)
        .type('form')
        .send({ SAMLResponse: Buffer.from(xml).toString('base64') })
        .expect(400);
      expect(reasonOf(replay.text)).toBe('saml_in_response_to_unknown');
      const failed = await latest('login.failed');
      expect(failed).toMatchObject({
        connectionId: c.id,
        userId: null,
        actor: { type: 'user', id: null },
        data: { stage: 'acs', reason: 'saml_in_response_to_unknown', connection: 'audit-co' },
      });
      expect(failed.data.traceId).toMatch(/^[0-9a-f-]{36}$/);

      // SP-initiated logout.
      await t.http().get(`/saml/${c.slug}/logout`).set('Cookie', cookie);
      const out = await latest('logout.saml_sp_initiated');
      expect(out).toMatchObject({ connectionId: c.id, userId, actor: { type: 'user', id: userId } });
    });

    it('records disabling and enabling a user, and the refused login of a disabled user', async () => {
      await as('post', `/api/v1/users/${userId}/disable`).expect(200);
      const disabled = await latest('user.disabled');
      expect(disabled).toMatchObject({
        userId,
        connectionId: c.id,
        actor: { id: auditor.id },
        data: { before: { disabled: false }, after: { disabled: true } },
      });
      const { requestId } = await startLogin(t, c.slug);
      await t
        .http()
        .post(`/saml/${c.slug}/acs`)
        .type('form')
        .send({
          SAMLResponse: Buffer.from(
            c.idp.responseXml({
              spEntityId: c.spEntityId,
              acsUrl: c.acsUrl,
              inResponseTo: requestId,
              nameId: 'u-audit-1',
              attributes: ATTRS,
            }) as string,
          ).toString('base64'),
        })
        .expect(403);
      expect(await latest('login.failed')).toMatchObject({
        userId,
        data: { reason: 'saml_user_disabled' },
      });
      await as('post', `/api/v1/users/${userId}/enable`).expect(200);
      expect((await latest('user.enabled')).data.after).toEqual({ disabled: false });
    });

    it('records an IdP-initiated single logout', async () => {
      const { requestId } = await startLogin(t, c.slug);
      await postAndContinue(
        t,
        c.slug,
        c.idp.responseXml({
          spEntityId: c.spEntityId,
          acsUrl: c.acsUrl,
          inResponseTo: requestId,
          nameId: 'u-audit-1',
          attributes: ATTRS,
          sessionIndex: 'idx-slo',
        }) as string,
      );
      const request = c.idp.logoutRequestXml({
        spEntityId: c.spEntityId,
        destination: c.sloUrl,
        nameId: 'u-audit-1',
        sessionIndex: 'idx-slo',
        id: '_audit-logout-1',
      });
      const query = c.idp.redirectBindingQuery('SAMLRequest', request, 'rs', { sign: true });
      await t.http().get(`/saml/${c.slug}/slo?${query}`).expect(303);
      expect(await latest('logout.saml_idp_initiated')).toMatchObject({
        connectionId: c.id,
        userId,
        data: { logoutRequestId: '_audit-logout-1', sessionsEnded: 1 },
      });
      // The same LogoutRequest again is refused, and that is recorded too.
      await t.http().get(`/saml/${c.slug}/slo?${query}`).expect(400);
      expect((await latest('logout.saml_rejected')).data.reason).toBe('saml_replay');
    });
  });

  describe('querying', () => {
    it('filters by type (exact or prefix), connection, user, actor, app and time range', async () => {
      const all = await exportAll();
      const check = async (query: string, predicate: (e: AuditEventJson) => boolean) => {
        const res = await t.admin.get(`/api/v1/audit?limit=200&${query}`).expect(200);
        const expected = all
          .filter(predicate)
          .map((e) => e.seq)
          .reverse();
        expect(expected.length).toBeGreaterThan(0);
        expect(res.body.items.map((e: AuditEventJson) => e.seq)).toEqual(expected);
      };
      await check('type=login.', (e) => e.type.startsWith('login.'));
      await check('type=login.failed', (e) => e.type === 'login.failed');
      await check('type=connection.', (e) => e.type.startsWith('connection.'));
      await check(`connectionId=${c.id}`, (e) => e.connectionId === c.id);
      const userId = all.find((e) => e.type === 'login.succeeded')?.userId as string;
      await check(`userId=${userId}`, (e) => e.userId === userId);
      await check(`actor=${auditor.id}`, (e) => e.actor.id === auditor.id);
      await check('actorType=system', (e) => e.actor.type === 'system');
      const clientId = all.find((e) => e.type === 'app.created')?.clientId as string;
      await check(`clientId=${clientId}`, (e) => e.clientId === clientId);
      await check(
        `type=login.&connectionId=${c.id}`,
        (e) => e.type.startsWith('login.') && e.connectionId === c.id,
      );
      const middle = need(all[Math.floor(all.length / 2)]).occurredAt;
      await check(`from=${middle}`, (e) => e.occurredAt >= middle);
      await check(`to=${middle}`, (e) => e.occurredAt < middle);
      const none = await t.admin.get('/api/v1/audit?type=nothing.here').expect(200);
      expect(none.body).toEqual({ items: [], nextCursor: null });
    });

    it('pages newest first with an opaque cursor, without duplicates or gaps', async () => {
      const all = (await exportAll()).map((e) => e.seq).reverse();
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: { body: { items: AuditEventJson[]; nextCursor: string | null } } = await t.admin
          .get(`/api/v1/audit?limit=7${cursor ? `&cursor=${cursor}` : ''}`)
          .expect(200);
        expect(res.body.items.length).toBeLessThanOrEqual(7);
        seen.push(...res.body.items.map((e) => e.seq));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor);
      expect(seen).toEqual(all);
      expect(pages).toBe(Math.ceil(all.length / 7));
    });

    it('answers bad parameters with 400 and a stable code', async () => {
      const bad: Array<[string, string]> = [
        ['limit=0', 'validation_failed'],
        ['limit=201', 'validation_failed'],
        ['limit=abc', 'validation_failed'],
        ['from=yesterday', 'validation_failed'],
        ['to=2026-13-45T00:00:00Z', 'validation_failed'],
        ['connectionId=not-a-uuid', 'validation_failed'],
        ['userId=1', 'validation_failed'],
        ['type=Login', 'validation_failed'],
        ['type=login..failed', 'validation_failed'],
        ['actorType=robot', 'validation_failed'],
        ['cursor=!!!', 'validation_failed'],
        ['cursor=bm90LWEtY3Vyc29y', 'invalid_cursor'],
        ['unknown=1', 'validation_failed'],
        ['type=a&type=b', 'validation_failed'],
        ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'invalid_time_range'],
      ];
      for (const [query, code] of bad) {
        const res = await t.admin.get(`/api/v1/audit?${query}`);
        expect({ query, status: res.status, code: res.body.code }).toEqual({ query, status: 400, code });
      }
      expect((await t.admin.get('/api/v1/audit/export?limit=abc')).status).toBe(400);
      await t.http().get('/api/v1/audit').expect(401);
      await t.http().get('/api/v1/audit/verify').expect(401);
    });

    it('exports JSON lines, oldest first, with the same filters, each event verifiable', async () => {
      const res = await t.admin.get('/api/v1/audit/export').expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
      const events = parseNdjson(res.text);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      for (const e of events) expect(eventHash(e)).toBe(e.hash);
      const logins = await exportAll('?type=login.');
      expect(logins.length).toBeGreaterThan(2);
      expect(logins.every((e) => e.type.startsWith('login.'))).toBe(true);
      expect(logins.map((e) => e.seq)).toEqual([...logins.map((e) => e.seq)].sort((a, b) => a - b));
      const empty = await t.admin.get('/api/v1/audit/export?type=nothing.here').expect(200);
      expect(empty.text).toBe('');
    });

    it('verifies the whole chain', async () => {
      const last = (await exportAll()).pop() as AuditEventJson;
      const res = await t.admin.get('/api/v1/audit/verify').expect(200);
      expect(res.body).toEqual({ ok: true, checked: last.seq, lastSeq: last.seq, lastHash: last.hash });
    });
  });
});
