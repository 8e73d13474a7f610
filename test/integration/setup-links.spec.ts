import { createHash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import type request from 'supertest';
import { DataSource } from 'typeorm';
import { MetadataServer } from '../support/metadata-server';
import { generateTestKeyPair, TestIdp } from '../support/saml-test-idp';
import { createTestConnection, reasonOf, SamlConnectionFixture } from '../support/saml-flow';
import { databaseKinds, startTestApp, TestApp } from '../support/test-app';
import { need } from '../support/defined';

const ORIGIN = 'http://bridge.test';

function setupCookie(res: request.Response): string | undefined {
  const set = res.headers['set-cookie'] as unknown as string[] | undefined;
  return set?.find((c) => c.startsWith('bridge_setup='));
}

function cookiesOf(res: request.Response): string[] {
  return ((res.headers['set-cookie'] as unknown as string[] | undefined) ?? []).map((c) =>
    need(c.split(';')[0]),
  );
}

function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF token on the page');
  return need(m[1], 'CSRF token');
}

interface AuditItem {
  type: string;
  actor: { type: string; id: string | null; name: string };
  connectionId: string | null;
  data: Record<string, unknown>;
}

describe.each(databaseKinds())('customer setup links on %s', (kind) => {
  let t: TestApp;
  let acme: SamlConnectionFixture;
  let other: SamlConnectionFixture;
  const lines: string[] = [];
  const tokens: string[] = [];

  /** Creates a link through the API and returns its id, URL and token. */
  async function createLink(connectionId = acme.id, body: Record<string, unknown> = {}) {
    const res = await t.admin.post(`/api/v1/connections/${connectionId}/setup-links`).send(body).expect(201);
    const url = res.body.url as string;
    const token = url.slice(url.lastIndexOf('/') + 1);
    tokens.push(token);
    return { id: res.body.id as string, url, token, body: res.body };
  }

  /** Opens the link as a fresh browser: returns the setup cookie and the setup page's CSRF token. */
  async function openLink(token: string): Promise<{ cookie: string; csrf: string; html: string }> {
    const res = await t.http().get(`/setup/${token}`).expect(303);
    expect(res.headers.location).toBe('/setup');
    const line = setupCookie(res) as string;
    const cookie = need(line.split(';')[0]);
    const page = await t.http().get('/setup').set('Cookie', cookie).expect(200);
    return { cookie, csrf: csrfOf(page.text), html: page.text };
  }

  function post(path: string, cookie: string | undefined, form: Record<string, string>) {
    const req = t.http().post(path).set('Origin', ORIGIN).type('form');
    if (cookie) req.set('Cookie', cookie);
    return req.send(form);
  }

  async function idpEntityId(id: string): Promise<string> {
    return (await t.admin.get(`/api/v1/connections/${id}`).expect(200)).body.idp.entityId;
  }

  async function auditEvents(query: string): Promise<AuditItem[]> {
    return (await t.admin.get(`/api/v1/audit?limit=200&${query}`).expect(200)).body.items;
  }

  beforeAll(async () => {
    t = await startTestApp(kind, {}, { write: (line: string) => void lines.push(line) });
    acme = await createTestConnection(t, 'acme', { preset: 'okta' });
    other = await createTestConnection(t, 'other-co');
  });
  afterAll(async () => t?.close());

  it('creates, lists and revokes links through the admin API; the token is shown once and only its hash is stored', async () => {
    const link = await createLink(acme.id, { expiresInHours: 24, note: 'for Jane at Acme IT' });
    expect(link.url).toMatch(/^http:\/\/bridge\.test\/setup\/sbl_[A-Za-z0-9_-]{43}$/);
    expect(link.body).toMatchObject({ connectionId: acme.id, status: 'active', note: 'for Jane at Acme IT' });
    const hours = (Date.parse(link.body.expiresAt) - Date.parse(link.body.createdAt)) / 3_600_000;
    expect(hours).toBeCloseTo(24, 5);
    const defaulted = await createLink(acme.id);
    expect(
      (Date.parse(defaulted.body.expiresAt) - Date.parse(defaulted.body.createdAt)) / 3_600_000,
    ).toBeCloseTo(72, 5);

    const list = await t.admin.get(`/api/v1/connections/${acme.id}/setup-links`).expect(200);
    expect(list.body.items.map((l: { id: string }) => l.id)).toEqual([defaulted.id, link.id]);
    expect(JSON.stringify(list.body)).not.toContain(link.token);
    expect(list.body.items[0]).not.toHaveProperty('url');

    const rows: Array<Record<string, unknown>> = await t.app
      .get(DataSource)
      .query(`SELECT * FROM setup_links WHERE id = $1`, [link.id]);
    expect(need(rows[0]).token_hash).toBe(createHash('sha256').update(link.token, 'utf8').digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(link.token);
    expect(JSON.stringify(rows)).not.toContain(link.token.slice(4));

    const revoked = await t.admin.delete(`/api/v1/connections/${acme.id}/setup-links/${link.id}`).expect(200);
    expect(revoked.body).toMatchObject({ id: link.id, status: 'revoked' });
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    // Idempotent, and a link is only reachable through its own connection.
    await t.admin.delete(`/api/v1/connections/${acme.id}/setup-links/${link.id}`).expect(200);
    const wrong = await t.admin
      .delete(`/api/v1/connections/${other.id}/setup-links/${defaulted.id}`)
      .expect(404);
    expect(wrong.body.code).toBe('setup_link_not_found');
    expect(
      (await t.admin.get(`/api/v1/connections/${acme.id}/setup-links`).expect(200)).body.items.find(
        (l: { id: string }) => l.id === defaulted.id,
      ).status,
    ).toBe('active');
  });

  it('validates the request and needs an admin key', async () => {
    for (const body of [
      { expiresInHours: 0 },
      { expiresInHours: 721 },
      { expiresInHours: 1.5 },
      { extra: 1 },
    ]) {
      const res = await t.admin.post(`/api/v1/connections/${acme.id}/setup-links`).send(body).expect(400);
      expect(res.body.code).toBe('validation_failed');
    }
    const missing = await t.admin
      .post('/api/v1/connections/00000000-0000-4000-8000-000000000000/setup-links')
      .send({})
      .expect(404);
    expect(missing.body.code).toBe('connection_not_found');
    await t.http().post(`/api/v1/connections/${acme.id}/setup-links`).send({}).expect(401);
    await t.http().get(`/api/v1/connections/${acme.id}/setup-links`).expect(401);
    await t
      .http()
      .delete(`/api/v1/connections/${acme.id}/setup-links/00000000-0000-4000-8000-000000000000`)
      .expect(401);
    const doc = (await t.http().get('/docs/openapi.json').expect(200)).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/connections/{id}/setup-links',
        '/api/v1/connections/{id}/setup-links/{linkId}',
      ]),
    );
  });

  it('exchanges the link for a HttpOnly cookie and shows only its connection, with the values to paste', async () => {
    const link = await createLink();
    const res = await t.http().get(`/setup/${link.token}`).expect(303);
    expect(res.headers.location).toBe('/setup');
    expect(res.headers['referrer-policy']).toBe('same-origin');
    const line = setupCookie(res) as string;
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/SameSite=Lax/);
    expect(line).toMatch(/Path=\/setup/);
    const cookie = need(line.split(';')[0]);
    const page = await t.http().get('/setup').set('Cookie', cookie).expect(200);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.text).toContain('Test acme');
    expect(page.text).not.toContain('Test other-co');
    expect(page.text).not.toContain(link.token);
    // The connection's preset (okta) is preselected; every vendor can be picked.
    expect(page.text).toContain('id="steps-okta"');
    for (const v of ['okta', 'entra', 'adfs', 'google', 'generic'])
      expect(page.text).toContain(`/setup?vendor=${v}`);
    expect(page.text).toContain(acme.acsUrl);
    expect(page.text).toContain(acme.spEntityId);
    expect(page.text).toContain('urn:oasis:names:tc:SAML:2.0:nameid-format:persistent');
    expect(page.text).toContain('okta_user_id');
    const entra = await t.http().get('/setup?vendor=entra').set('Cookie', cookie).expect(200);
    expect(entra.text).toContain('id="steps-entra"');
    expect(entra.text).toContain('http://schemas.microsoft.com/identity/claims/objectidentifier');
    expect(entra.text).toContain(acme.sloUrl);
    expect(entra.text).toContain('prepared for <strong>Okta</strong>');
    const google = await t.http().get('/setup?vendor=google').set('Cookie', cookie).expect(200);
    expect(google.text).toContain('urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
    const pem = await t.http().get('/setup/sp-certificate.pem').set('Cookie', cookie).expect(200);
    expect(pem.text).toContain('BEGIN CERTIFICATE');
    // Without the cookie the setup page does not open.
    const none = await t.http().get('/setup').expect(404);
    expect(reasonOf(none.text)).toBe('setup_link_missing');
    const unknown = await t
      .http()
      .get(`/setup/sbl_${'A'.repeat(43)}`)
      .expect(404);
    expect(reasonOf(unknown.text)).toBe('setup_link_not_found');
    expect(unknown.headers['content-type']).toMatch(/text\/html/);
  });

  it('replaces only its own connection’s metadata (pasted, uploaded or by URL), audited with the link as actor', async () => {
    const link = await createLink();
    const { cookie, csrf } = await openLink(link.token);
    const otherBefore = await idpEntityId(other.id);

    const pasted = new TestIdp({
      entityId: 'https://idp-pasted.test/metadata',
      keys: await generateTestKeyPair('pasted'),
    });
    const ok = await post('/setup/metadata', cookie, {
      _csrf: csrf,
      connectionId: acme.id,
      metadataXml: pasted.metadataXml(),
    }).expect(303);
    expect(ok.headers.location).toBe('/setup?notice=metadata#status');
    expect(await idpEntityId(acme.id)).toBe('https://idp-pasted.test/metadata');
    expect(await idpEntityId(other.id)).toBe(otherBefore);
    const after = await t.http().get('/setup?notice=metadata').set('Cookie', cookie).expect(200);
    expect(after.text).toContain('your IdP metadata is saved');
    expect(after.text).toContain('https://idp-pasted.test/metadata');

    // Another connection's id in the form is refused, and nothing changes anywhere.
    const foreign = new TestIdp({
      entityId: 'https://idp-foreign.test/metadata',
      keys: await generateTestKeyPair('foreign'),
    });
    const refused = await post('/setup/metadata', cookie, {
      _csrf: csrf,
      connectionId: other.id,
      metadataXml: foreign.metadataXml(),
    }).expect(403);
    expect(reasonOf(refused.text)).toBe('setup_link_wrong_connection');
    expect(await idpEntityId(other.id)).toBe(otherBefore);
    expect(await idpEntityId(acme.id)).toBe('https://idp-pasted.test/metadata');
    // Nor can a link reach the console's routes of its connection (those need an admin session).
    const consolePost = await t
      .http()
      .post(`/admin/connections/${acme.id}/metadata`)
      .set('Origin', ORIGIN)
      .set('Cookie', cookie)
      .type('form')
      .send({ _csrf: csrf, metadataXml: foreign.metadataXml() })
      .expect(401);
    expect(reasonOf(consolePost.text)).toBe('console_session_required');

    // A file upload (multipart).
    const uploaded = new TestIdp({
      entityId: 'https://idp-uploaded.test/metadata',
      keys: await generateTestKeyPair('uploaded'),
    });
    await t
      .http()
      .post('/setup/metadata')
      .set('Origin', ORIGIN)
      .set('Cookie', cookie)
      .field('_csrf', csrf)
      .field('connectionId', acme.id)
      .attach('metadataFile', Buffer.from(uploaded.metadataXml()), 'idp.xml')
      .expect(303);
    expect(await idpEntityId(acme.id)).toBe('https://idp-uploaded.test/metadata');

    // A metadata URL (fetched now).
    const server = new MetadataServer();
    const base = await server.start();
    try {
      server.body = acme.idp.metadataXml();
      await post('/setup/metadata', cookie, {
        _csrf: csrf,
        connectionId: acme.id,
        metadataUrl: `${base}/md.xml`,
      }).expect(303);
      const view = (await t.admin.get(`/api/v1/connections/${acme.id}`).expect(200)).body;
      expect(view.idp.entityId).toBe(acme.idp.entityId);
      expect(view.metadata.url).toBe(`${base}/md.xml`);
    } finally {
      await server.stop();
    }

    // Bad metadata: a clear error on the page, nothing changed.
    const bad = await post('/setup/metadata', cookie, {
      _csrf: csrf,
      connectionId: acme.id,
      metadataXml: '<nope/>',
    });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    expect(bad.text).toContain('role="alert"');
    const twoWays = await post('/setup/metadata', cookie, {
      _csrf: csrf,
      connectionId: acme.id,
      metadataXml: pasted.metadataXml(),
      metadataUrl: `${base}/md.xml`,
    }).expect(400);
    expect(twoWays.text).toContain('one way');
    expect(await idpEntityId(acme.id)).toBe(acme.idp.entityId);

    const updates = (
      await auditEvents(`type=connection.updated&connectionId=${acme.id}&actorType=setup-link`)
    ).filter((e) => e.actor.id === link.id);
    expect(updates).toHaveLength(3);
    expect(updates.every((e) => e.actor.name === 'setup link for acme')).toBe(true);
    expect(await auditEvents(`connectionId=${other.id}&actorType=setup-link`)).toEqual([]);
  });

  it('refuses posts without the link’s CSRF token, from another origin, or without the link', async () => {
    const link = await createLink();
    const { cookie, csrf } = await openLink(link.token);
    const form = { connectionId: acme.id, metadataXml: acme.idp.metadataXml() };
    for (const path of ['/setup/metadata', '/setup/test-login']) {
      const none = await post(path, cookie, form).expect(403);
      expect(reasonOf(none.text)).toBe('csrf_token_invalid');
      const wrong = await post(path, cookie, { ...form, _csrf: 'x'.repeat(43) }).expect(403);
      expect(reasonOf(wrong.text)).toBe('csrf_token_invalid');
      const evil = await t
        .http()
        .post(path)
        .set('Origin', 'https://evil.example')
        .set('Cookie', cookie)
        .type('form')
        .send({ ...form, _csrf: csrf })
        .expect(403);
      expect(reasonOf(evil.text)).toBe('origin_mismatch');
      const noOrigin = await t
        .http()
        .post(path)
        .set('Cookie', cookie)
        .type('form')
        .send({ ...form, _csrf: csrf })
        .expect(403);
      expect(reasonOf(noOrigin.text)).toBe('origin_mismatch');
      const noCookie = await post(path, undefined, { ...form, _csrf: csrf }).expect(404);
      expect(reasonOf(noCookie.text)).toBe('setup_link_missing');
    }
    // The CSRF token of another link does not work with this one.
    const second = await createLink();
    const secondPage = await openLink(second.token);
    const crossed = await post('/setup/metadata', cookie, { ...form, _csrf: secondPage.csrf }).expect(403);
    expect(reasonOf(crossed.text)).toBe('csrf_token_invalid');
  });

  it('runs a test login through the link: mapped claims, a way back, nobody provisioned', async () => {
    const link = await createLink();
    const { cookie, csrf } = await openLink(link.token);
    const start = await post('/setup/test-login', cookie, { _csrf: csrf, connectionId: acme.id }).expect(303);
    const location = start.headers.location as string;
    expect(location.startsWith(acme.idp.ssoUrl)).toBe(true);
    const xml = inflateRawSync(
      Buffer.from(new URL(location).searchParams.get('SAMLRequest') as string, 'base64'),
    ).toString('utf8');
    const requestId = /ID="([^"]+)"/.exec(xml)?.[1] as string;
    const browser = cookiesOf(start).find((c) => c.startsWith('bridge_browser=')) as string;
    const response = acme.idp.responseXml({
      spEntityId: acme.spEntityId,
      acsUrl: acme.acsUrl,
      inResponseTo: requestId,
      nameId: 'jane-0001',
      attributes: { email: 'jane@example.com', groups: ['it'] },
    }) as string;
    const acs = await t
      .http()
      .post(`/saml/acme/acs`)
      .type('form')
      .send({ SAMLResponse: Buffer.from(response).toString('base64') })
      .expect(303);
    const result = await t
      .http()
      .get(acs.headers.location as string)
      .set('Cookie', browser)
      .expect(200);
    expect(result.text).toContain('Test login succeeded');
    expect(result.text).toContain('jane@example.com');
    expect(result.text).toContain('<a href="/setup">Back</a>');
    expect(cookiesOf(result).some((c) => c.startsWith('bridge_session='))).toBe(false);
    expect((await t.admin.get(`/api/v1/users?connectionId=${acme.id}`).expect(200)).body.items).toEqual([]);
    const started = await auditEvents(`type=setup_link.test_login_started&connectionId=${acme.id}`);
    expect(started.filter((e) => e.actor.id === link.id)).toHaveLength(1);
    expect(need(started[0]).actor.type).toBe('setup-link');
  });

  it('refuses an expired or a revoked link for every page and action, with a clear page, and audits the refusal', async () => {
    const expired = await createLink();
    const expiredBrowser = await openLink(expired.token);
    await t.app
      .get(DataSource)
      .query(`UPDATE setup_links SET expires_at = now() - interval '1 minute' WHERE id = $1`, [expired.id]);
    const revoked = await createLink();
    const revokedBrowser = await openLink(revoked.token);
    await t.admin.delete(`/api/v1/connections/${acme.id}/setup-links/${revoked.id}`).expect(200);
    const before = await idpEntityId(acme.id);
    const fresh = new TestIdp({
      entityId: 'https://idp-late.test/metadata',
      keys: await generateTestKeyPair('late'),
    });

    for (const [link, browser, reason] of [
      [expired, expiredBrowser, 'setup_link_expired'],
      [revoked, revokedBrowser, 'setup_link_revoked'],
    ] as const) {
      const opened = await t.http().get(`/setup/${link.token}`).expect(410);
      expect(reasonOf(opened.text)).toBe(reason);
      expect(opened.text).toContain('no longer works');
      expect(setupCookie(opened)).toBeUndefined();
      const page = await t.http().get('/setup').set('Cookie', browser.cookie).expect(410);
      expect(reasonOf(page.text)).toBe(reason);
      await t.http().get('/setup/sp-certificate.pem').set('Cookie', browser.cookie).expect(410);
      const md = await post('/setup/metadata', browser.cookie, {
        _csrf: browser.csrf,
        connectionId: acme.id,
        metadataXml: fresh.metadataXml(),
      }).expect(410);
      expect(reasonOf(md.text)).toBe(reason);
      const login = await post('/setup/test-login', browser.cookie, {
        _csrf: browser.csrf,
        connectionId: acme.id,
      }).expect(410);
      expect(reasonOf(login.text)).toBe(reason);
      const refusals = (await auditEvents(`type=setup_link.refused&connectionId=${acme.id}`)).filter(
        (e) => e.actor.id === link.id,
      );
      expect(refusals.map((e) => e.data.action).sort()).toEqual([
        'certificate',
        'metadata',
        'open',
        'test_login',
        'view',
      ]);
      expect(
        refusals.every(
          (e) => e.actor.type === 'setup-link' && e.data.reason === reason.slice('setup_link_'.length),
        ),
      ).toBe(true);
    }
    expect(await idpEntityId(acme.id)).toBe(before);
    expect(
      (await t.admin.get(`/api/v1/connections/${acme.id}/setup-links`).expect(200)).body.items.find(
        (l: { id: string }) => l.id === expired.id,
      ).status,
    ).toBe('expired');
  });

  it('audits every use: created and revoked by the admin, opened, metadata changed and test login by the link', async () => {
    const link = await createLink();
    const { cookie, csrf } = await openLink(link.token);
    await post('/setup/metadata', cookie, {
      _csrf: csrf,
      connectionId: acme.id,
      metadataXml: acme.idp.metadataXml(),
    }).expect(303);
    await post('/setup/test-login', cookie, { _csrf: csrf, connectionId: acme.id }).expect(303);
    await t.admin.delete(`/api/v1/connections/${acme.id}/setup-links/${link.id}`).expect(200);
    await t.http().get('/setup').set('Cookie', cookie).expect(410);

    const mine = (await auditEvents(`connectionId=${acme.id}`)).filter(
      (e) => e.actor.id === link.id || e.data.linkId === link.id,
    );
    expect(mine.map((e) => `${e.type} ${e.actor.type}`).reverse()).toEqual([
      'setup_link.created admin-key',
      'setup_link.opened setup-link',
      'connection.updated setup-link',
      'setup_link.test_login_started setup-link',
      'setup_link.revoked admin-key',
      'setup_link.refused setup-link',
    ]);
    const byLink = await auditEvents(`actorType=setup-link&actor=${link.id}`);
    expect(byLink).toHaveLength(4);
    expect((await t.admin.get('/api/v1/audit/verify').expect(200)).body.ok).toBe(true);
  });

  it('never writes a link token to the log or the audit log', async () => {
    expect(tokens.length).toBeGreaterThan(5);
    const logged = lines.join('\n');
    expect(logged).toContain('/setup/[redacted]');
    const audit = JSON.stringify(await auditEvents(''));
    for (const token of tokens) {
      expect(logged).not.toContain(token);
      expect(logged).not.toContain(token.slice(4));
      expect(audit).not.toContain(token.slice(4));
    }
  });

  it('deletes a connection’s links with the connection', async () => {
    const doomed = await createTestConnection(t, 'doomed');
    const link = await createLink(doomed.id);
    const { cookie } = await openLink(link.token);
    await t.admin.delete(`/api/v1/connections/${doomed.id}`).expect(204);
    const rows: Array<{ n: string }> = await t.app
      .get(DataSource)
      .query(`SELECT count(*) AS n FROM setup_links WHERE connection_id = $1`, [doomed.id]);
    expect(Number(need(rows[0]).n)).toBe(0);
    const page = await t.http().get('/setup').set('Cookie', cookie).expect(404);
    expect(reasonOf(page.text)).toBe('setup_link_not_found');
  });
});
