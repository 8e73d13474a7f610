import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { UsersService } from '../../src/users/users.service';
import { createTestConnection, SamlConnectionFixture, startLogin } from '../support/saml-flow';
import { databaseKinds, FIXTURES, startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/test-app';
import { need } from '../support/defined';

const ORIGIN = 'http://bridge.test';
const OKTA_METADATA = join(FIXTURES, 'metadata', 'okta__metadata__2024.xml');

interface Signed {
  cookie: string;
  csrf: string;
}

function consoleCookie(res: request.Response): string | undefined {
  const set = res.headers['set-cookie'] as unknown as string[] | undefined;
  const line = set?.find((c) => c.startsWith('admin_console='));
  return line?.split(';')[0];
}

function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF token on the page');
  return need(m[1], 'CSRF token');
}

/** Every route the console's router serves, as [method, path] with parameters filled in. */
function consoleRoutes(t: TestApp): Array<[string, string]> {
  const app = t.app.getHttpAdapter().getInstance() as {
    router?: { stack: unknown[] };
    _router?: { stack: unknown[] };
  };
  const stack = (app.router ?? app._router)?.stack ?? [];
  const out: Array<[string, string]> = [];
  for (const layer of stack as Array<{ route?: { path: string; methods: Record<string, boolean> } }>) {
    const route = layer.route;
    if (!route || typeof route.path !== 'string' || !/^\/admin(\/|$)/.test(route.path)) continue;
    const path = route.path
      .replace(':id', '00000000-0000-4000-8000-000000000000')
      .replace(':linkId', '00000000-0000-4000-8000-000000000001')
      .replace(':clientId', 'app_0000');
    for (const [method, on] of Object.entries(route.methods))
      if (on && method !== '_all') out.push([method, path]);
  }
  return out;
}

describe.each(databaseKinds())('admin console sessions and CSRF on %s', (kind) => {
  let t: TestApp;
  let connectionId: string;
  let userId: string;

  async function signIn(key = TEST_ADMIN_KEY, cookie?: string): Promise<Signed> {
    const req = t.http().post('/admin/sign-in').set('Origin', ORIGIN).type('form');
    if (cookie) req.set('Cookie', cookie);
    const res = await req.send({ key, next: '/admin/users' }).expect(303);
    expect(res.headers.location).toBe('/admin/users');
    const c = consoleCookie(res);
    if (!c) throw new Error('no console cookie');
    const page = await t.http().get('/admin/users').set('Cookie', c).expect(200);
    return { cookie: c, csrf: csrfOf(page.text) };
  }

  async function userDisabled(): Promise<boolean> {
    return (await t.app.get(UsersService).get(userId)).disabled;
  }

  beforeAll(async () => {
    t = await startTestApp(kind);
    const created = await t.admin
      .post('/api/v1/connections')
      .send({
        slug: 'okta',
        name: 'Okta',
        metadataXml: readFileSync(OKTA_METADATA, 'utf8'),
        domains: ['example.com'],
      })
      .expect(201);
    connectionId = created.body.id;
    const user = await t.app.get(UsersService).provision(
      connectionId,
      {
        subject: 'u-1',
        subjectSource: 'nameid',
        email: 'u1@example.com',
        emailVerified: true,
        givenName: null,
        familyName: null,
        displayName: null,
        groups: ['staff'],
      },
      {},
    );
    userId = user.id;
  });
  afterAll(async () => t?.close());

  it('enumerates the console routes from the router, and every one needs a session', async () => {
    const routes = consoleRoutes(t);
    expect(routes.length).toBeGreaterThan(25);
    for (const added of [
      'post /admin/connections/00000000-0000-4000-8000-000000000000/setup-links',
      'post /admin/connections/00000000-0000-4000-8000-000000000000/setup-links/00000000-0000-4000-8000-000000000001/revoke',
      'get /admin/audit',
      'get /admin/audit/export',
      'get /admin/audit/verify',
    ]) {
      expect(routes.map(([m, p]) => `${m} ${p}`)).toContain(added);
    }
    // Reachable without a session: the sign-in page and its POST, the static files, and the SSO sign-in
    // steps (which only open a session after a validated SAML login; tested below).
    const open = new Set([
      'get /admin/sign-in',
      'post /admin/sign-in',
      'get /admin/assets/console.css',
      'get /admin/assets/console.js',
      'post /admin/sso/start',
      'get /admin/sso/continue',
    ]);
    for (const [method, path] of routes) {
      if (open.has(`${method} ${path}`)) continue;
      const http = t.http() as unknown as Record<string, (p: string) => request.Test>;
      const res = await need(http[method], `supertest's ${method}`)
        .call(http, path)
        .set('Origin', ORIGIN)
        .type('form')
        .send({ _csrf: 'x' });
      if (method === 'get') {
        expect([method, path, res.status]).toEqual([method, path, 303]);
        expect(res.headers.location).toMatch(/^\/admin\/sign-in\?next=/);
      } else {
        expect([method, path, res.status]).toEqual([method, path, 401]);
        expect(res.headers['content-type']).toMatch(/text\/html/);
        expect(res.text).toContain('console_session_required');
      }
    }
  });

  it('refuses wrong keys with a page, and sets no cookie', async () => {
    for (const key of ['', 'wrong-key-0123456789abcdef', 'sbk_not-a-real-key']) {
      const res = await t
        .http()
        .post('/admin/sign-in')
        .set('Origin', ORIGIN)
        .type('form')
        .send({ key })
        .expect(401);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      // Same-origin referrer policy: browsers then send the Origin the CSRF check needs (not "null").
      expect(res.headers['referrer-policy']).toBe('same-origin');
      expect(consoleCookie(res)).toBeUndefined();
    }
  });

  it('refuses a sign-in posted from another origin', async () => {
    const res = await t
      .http()
      .post('/admin/sign-in')
      .set('Origin', 'https://evil.example')
      .type('form')
      .send({ key: TEST_ADMIN_KEY })
      .expect(403);
    expect(res.text).toContain('origin_mismatch');
    expect(consoleCookie(res)).toBeUndefined();
  });

  it('sets a HttpOnly SameSite=Strict cookie and issues a new session id at every sign-in', async () => {
    const res = await t
      .http()
      .post('/admin/sign-in')
      .set('Origin', ORIGIN)
      .type('form')
      .send({ key: TEST_ADMIN_KEY })
      .expect(303);
    const line = (res.headers['set-cookie'] as unknown as string[]).find((c) =>
      c.startsWith('admin_console='),
    );
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/SameSite=Strict/);
    // A session id planted before sign-in is not adopted; signing in again replaces (and ends) the old one.
    const planted = `admin_console=${'A'.repeat(43)}`;
    const first = await signIn(TEST_ADMIN_KEY, planted);
    expect(first.cookie).not.toBe(planted);
    const second = await signIn(TEST_ADMIN_KEY, first.cookie);
    expect(second.cookie).not.toBe(first.cookie);
    await t.http().get('/admin/users').set('Cookie', first.cookie).expect(303);
    await t.http().get('/admin/users').set('Cookie', second.cookie).expect(200);
    const rows: Array<{ token_hash: string }> = await t.app
      .get(DataSource)
      .query(`SELECT token_hash FROM admin_console_sessions`);
    expect(rows.every((r) => !second.cookie.includes(r.token_hash))).toBe(true);
  });

  it('refuses state-changing posts without the CSRF token, with a wrong one, or from a foreign origin', async () => {
    const s = await signIn();
    const url = `/admin/users/${userId}/disable`;
    const none = await t
      .http()
      .post(url)
      .set('Cookie', s.cookie)
      .set('Origin', ORIGIN)
      .type('form')
      .send({})
      .expect(403);
    expect(none.text).toContain('csrf_token_invalid');
    await t
      .http()
      .post(url)
      .set('Cookie', s.cookie)
      .set('Origin', ORIGIN)
      .type('form')
      .send({ _csrf: 'wrong' })
      .expect(403);
    const other = await signIn();
    await t
      .http()
      .post(url)
      .set('Cookie', s.cookie)
      .set('Origin', ORIGIN)
      .type('form')
      .send({ _csrf: other.csrf })
      .expect(403);
    const foreign = await t
      .http()
      .post(url)
      .set('Cookie', s.cookie)
      .set('Origin', 'https://evil.example')
      .type('form')
      .send({ _csrf: s.csrf })
      .expect(403);
    expect(foreign.text).toContain('origin_mismatch');
    await t
      .http()
      .post(url)
      .set('Cookie', s.cookie)
      .set('Referer', 'https://evil.example/page')
      .type('form')
      .send({ _csrf: s.csrf })
      .expect(403);
    // Neither Origin nor Referer: refused too.
    await t.http().post(url).set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf }).expect(403);
    expect(await userDisabled()).toBe(false);
    // The same request, done right, works.
    await t
      .http()
      .post(url)
      .set('Cookie', s.cookie)
      .set('Origin', ORIGIN)
      .type('form')
      .send({ _csrf: s.csrf })
      .expect(303);
    expect(await userDisabled()).toBe(true);
    await t
      .http()
      .post(`/admin/users/${userId}/enable`)
      .set('Cookie', s.cookie)
      .set('Referer', `${ORIGIN}/admin/users`)
      .type('form')
      .send({ _csrf: s.csrf })
      .expect(303);
    expect(await userDisabled()).toBe(false);
  });

  it('ends a session after the idle timeout', async () => {
    const s = await signIn();
    await t.app
      .get(DataSource)
      .query(
        `UPDATE admin_console_sessions SET last_seen_at = last_seen_at - interval '31 minutes' WHERE ended_at IS NULL`,
      );
    const res = await t.http().get('/admin/connections').set('Cookie', s.cookie).expect(303);
    expect(res.headers.location).toBe('/admin/sign-in?next=%2Fadmin%2Fconnections');
    // Activity afterwards does not revive it.
    await t.http().get('/admin/connections').set('Cookie', s.cookie).expect(303);
  });

  it('ends a session at its absolute lifetime, however active', async () => {
    const s = await signIn();
    await t.app
      .get(DataSource)
      .query(
        `UPDATE admin_console_sessions SET expires_at = now() - interval '1 second' WHERE ended_at IS NULL`,
      );
    await t.http().get('/admin/keys').set('Cookie', s.cookie).expect(303);
  });

  it('sign-out ends the session on the server', async () => {
    const s = await signIn();
    const out = await t
      .http()
      .post('/admin/sign-out')
      .set('Cookie', s.cookie)
      .set('Origin', ORIGIN)
      .type('form')
      .send({ _csrf: s.csrf })
      .expect(303);
    expect(out.headers['set-cookie']?.toString()).toMatch(/admin_console=;/);
    // The old cookie, replayed, opens nothing.
    await t.http().get('/admin/users').set('Cookie', s.cookie).expect(303);
  });

  it('audits console sign-ins, failed sign-ins and sign-outs (never the presented key)', async () => {
    const typed = 'wrong-key-audited-0123456789abcdef';
    await t.http().post('/admin/sign-in').set('Origin', ORIGIN).type('form').send({ key: typed }).expect(401);
    const key = await t.admin.post('/api/v1/api-keys').send({ name: 'audited laptop' }).expect(201);
    const s = await signIn(key.body.key);
    await t
      .http()
      .post('/admin/sign-out')
      .set('Cookie', s.cookie)
      .set('Origin', ORIGIN)
      .type('form')
      .send({ _csrf: s.csrf })
      .expect(303);
    const events = (await t.admin.get('/api/v1/audit?type=admin.&limit=200').expect(200)).body
      .items as Array<{
      type: string;
      actor: { type: string; id: string | null; name: string };
      data: Record<string, unknown>;
    }>;
    const failed = events.find(
      (e) => e.type === 'admin.sign_in_failed' && e.data.reason === 'invalid_api_key',
    );
    expect(failed).toMatchObject({ actor: { type: 'system' }, data: { method: 'key' } });
    const mine = events.filter((e) => e.actor.id === key.body.id).map((e) => `${e.type} ${e.actor.type}`);
    expect(mine).toEqual(['admin.signed_out admin-session', 'admin.signed_in admin-session']);
    const all = JSON.stringify(events);
    expect(all).not.toContain(typed);
    expect(all).not.toContain(key.body.key);
  });

  it('ends the sessions of a revoked API key', async () => {
    const key = await t.admin.post('/api/v1/api-keys').send({ name: 'ops laptop' }).expect(201);
    const s = await signIn(key.body.key);
    const page = await t.http().get('/admin/users').set('Cookie', s.cookie).expect(200);
    expect(page.text).toContain('Signed in as ops laptop');
    await t.admin.delete(`/api/v1/api-keys/${key.body.id}`).expect(200);
    await t.http().get('/admin/users').set('Cookie', s.cookie).expect(303);
    await t
      .http()
      .post('/admin/sign-in')
      .set('Origin', ORIGIN)
      .type('form')
      .send({ key: key.body.key })
      .expect(401);
  });

  it('shows service errors as pages: validation on the field, hostile and oversized input as 4xx', async () => {
    const s = await signIn();
    const bad = await t
      .http()
      .post('/admin/connections')
      .set('Cookie', s.cookie)
      .set('Origin', ORIGIN)
      .field('_csrf', s.csrf)
      .field('name', 'Acme')
      .field('slug', 'Not A Slug')
      .field('metadataXml', '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
      .expect(400);
    expect(bad.headers['content-type']).toMatch(/text\/html/);
    expect(bad.text).toContain('id="slug-error"');
    expect(bad.text).toContain('aria-invalid="true"');
    const hostile = await t
      .http()
      .post('/admin/connections')
      .set('Cookie', s.cookie)
      .set('Origin', ORIGIN)
      .field('_csrf', s.csrf)
      .field('name', '<script>alert(1)</script>')
      .field('slug', 'acme')
      .field('metadataXml', '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
      .expect(400);
    expect(hostile.text).toMatch(/id="metadata-error">[^<]*(DOCTYPE|document type)/i);
    expect(hostile.text).toContain('id="metadata-error"');
    expect(hostile.text).not.toContain('<script>alert(1)</script>');
    expect(hostile.text).toContain('&lt;script&gt;');
    const big = await t
      .http()
      .post('/admin/connections')
      .set('Cookie', s.cookie)
      .set('Origin', ORIGIN)
      .field('_csrf', s.csrf)
      .field('slug', 'big')
      .field('name', 'Big')
      .attach('metadataFile', Buffer.alloc(2 * 1024 * 1024, 'a'), 'big.xml')
      .expect(413);
    expect(big.headers['content-type']).toMatch(/text\/html/);
    expect(big.text).toContain('payload_too_large');
    const notFound = await t.http().get('/admin/connections/not-a-uuid').set('Cookie', s.cookie).expect(400);
    expect(notFound.headers['content-type']).toMatch(/text\/html/);
    const unknown = await t
      .http()
      .get('/admin/connections/00000000-0000-4000-8000-000000000000')
      .set('Cookie', s.cookie)
      .expect(404);
    expect(unknown.text).toContain('connection_not_found');
    const repeated = await t
      .http()
      .post(`/admin/connections/${connectionId}`)
      .set('Cookie', s.cookie)
      .set('Origin', ORIGIN)
      .type('form')
      .send(`_csrf=${encodeURIComponent(s.csrf)}&name=a&name=b`)
      .expect(400);
    expect(repeated.text).toContain('malformed_form');
  });

  it('creates a connection from an uploaded metadata file and shows the SP details to hand over', async () => {
    const s = await signIn();
    const created = await t
      .http()
      .post('/admin/connections')
      .set('Cookie', s.cookie)
      .set('Origin', ORIGIN)
      .field('_csrf', s.csrf)
      .field('name', 'Okta upload')
      .field('slug', 'okta-upload')
      .field('preset', 'okta')
      .field('domains', 'example.com\nexample.org')
      .attach('metadataFile', OKTA_METADATA)
      .expect(303);
    const page = await t
      .http()
      .get(need(created.headers.location, 'Location'))
      .set('Cookie', s.cookie)
      .expect(200);
    expect(page.text).toContain('http://bridge.test/saml/okta-upload/acs');
    expect(page.text).toContain('http://bridge.test/saml/okta-upload/metadata');
    const id = /\/admin\/connections\/([0-9a-f-]{36})/.exec(need(created.headers.location, 'Location'))?.[1];
    const pem = await t
      .http()
      .get(`/admin/connections/${id}/sp-certificate.pem`)
      .set('Cookie', s.cookie)
      .expect(200);
    expect(pem.text).toContain('BEGIN CERTIFICATE');
  });

  describe('SSO sign-in for admins', () => {
    let corp: SamlConnectionFixture;

    beforeAll(async () => {
      corp = await createTestConnection(t, 'corp', { options: { adminGroups: ['bridge-admins'] } });
    });

    /** Starts an admin SSO sign-in; returns the AuthnRequest ID and the browser-binding cookie. */
    async function startAdminSso(slug: string) {
      const res = await t
        .http()
        .post('/admin/sso/start')
        .set('Origin', ORIGIN)
        .type('form')
        .send({ connection: slug, next: '/admin/users' })
        .expect(303);
      const url = new URL(res.headers.location as string);
      const xml = inflateRawSync(
        Buffer.from(url.searchParams.get('SAMLRequest') as string, 'base64'),
      ).toString();
      const browser = (res.headers['set-cookie'] as unknown as string[])
        .find((c) => c.startsWith('bridge_browser='))
        ?.split(';')[0] as string;
      return { requestId: /ID="([^"]+)"/.exec(xml)?.[1] as string, browser };
    }

    async function acs(inResponseTo: string, subject: string, groups: string[]): Promise<string> {
      const xml = await corp.idp.responseXmlAsync({
        spEntityId: corp.spEntityId,
        acsUrl: corp.acsUrl,
        inResponseTo,
        nameId: subject,
        attributes: { email: `${subject}@example.com`, groups },
      });
      const res = await t
        .http()
        .post('/saml/corp/acs')
        .type('form')
        .send({ SAMLResponse: Buffer.from(xml).toString('base64') })
        .expect(303);
      return res.headers.location as string;
    }

    it('opens a console session for a member of an admin group', async () => {
      const { requestId, browser } = await startAdminSso('corp');
      const location = await acs(requestId, 'root', ['staff', 'bridge-admins']);
      expect(location).toMatch(/^\/admin\/sso\/continue\?connection=corp&code=/);
      const done = await t.http().get(location).set('Cookie', browser).expect(200);
      expect(done.text).toContain('Signed in to the console as <strong>root@example.com</strong>');
      const cookie = consoleCookie(done) as string;
      expect(cookie).toBeDefined();
      const page = await t.http().get('/admin/users').set('Cookie', cookie).expect(200);
      expect(page.text).toContain('Signed in as root@example.com');
      // No app session and no provisioned user.
      expect(done.headers['set-cookie']?.toString()).not.toContain('bridge_session=');
      expect((await t.admin.get(`/api/v1/users?connectionId=${corp.id}`).expect(200)).body.total).toBe(0);
      const signedIn = (
        await t.admin.get(`/api/v1/audit?type=admin.signed_in&connectionId=${corp.id}`).expect(200)
      ).body.items;
      expect(signedIn[0]).toMatchObject({
        actor: { type: 'admin-session', name: 'root@example.com' },
        data: { method: 'sso', groups: ['bridge-admins'] },
      });
    });

    it('refuses a user outside the admin groups with a page that says why', async () => {
      const { requestId, browser } = await startAdminSso('corp');
      const refused = await t
        .http()
        .get(await acs(requestId, 'clerk', ['staff']))
        .set('Cookie', browser)
        .expect(403);
      expect(refused.headers['content-type']).toMatch(/text\/html/);
      expect(refused.text).toContain('not_an_admin');
      expect(refused.text).toContain('bridge-admins');
      expect(consoleCookie(refused)).toBeUndefined();
      const failed = (
        await t.admin.get(`/api/v1/audit?type=admin.sign_in_failed&connectionId=${corp.id}`).expect(200)
      ).body.items;
      expect(failed[0]).toMatchObject({ data: { method: 'sso', reason: 'not_an_admin' } });
    });

    it('keeps admin sign-ins and app logins apart, and needs the browser that started it', async () => {
      const admin = await startAdminSso('corp');
      const adminCode = new URL(
        await acs(admin.requestId, 'root', ['bridge-admins']),
        ORIGIN,
      ).searchParams.get('code');
      const asApp = await t
        .http()
        .get(`/saml/corp/continue?code=${adminCode}`)
        .set('Cookie', admin.browser)
        .expect(400);
      expect(asApp.headers['set-cookie']?.toString() ?? '').not.toContain('bridge_session=');

      const app = await startLogin(t, 'corp');
      const appLocation = await acs(app.requestId, 'root', ['bridge-admins']);
      const appCode = new URL(appLocation, ORIGIN).searchParams.get('code');
      const asAdmin = await t
        .http()
        .get(`/admin/sso/continue?connection=corp&code=${appCode}`)
        .set('Cookie', app.browser as string)
        .expect(400);
      expect(consoleCookie(asAdmin)).toBeUndefined();

      const other = await startAdminSso('corp');
      const stolen = await t
        .http()
        .get(await acs(other.requestId, 'root', ['bridge-admins']))
        .set('Cookie', 'bridge_browser=someone-elses-browser-binding-value-0123456789')
        .expect(403);
      expect(stolen.text).toContain('saml_browser_mismatch');
      expect(consoleCookie(stolen)).toBeUndefined();
    });

    it('refuses to start an SSO sign-in through a connection without admin groups', async () => {
      const res = await t
        .http()
        .post('/admin/sso/start')
        .set('Origin', ORIGIN)
        .type('form')
        .send({ connection: 'okta' })
        .expect(403);
      expect(res.text).toContain('admin_sso_not_enabled');
    });
  });

  it('creates a setup link (shown once), lists and revokes it on the connection page', async () => {
    const s = await signIn();
    const form = (body: Record<string, string>) =>
      t
        .http()
        .post(`/admin/connections/${connectionId}/setup-links`)
        .set('Cookie', s.cookie)
        .set('Origin', ORIGIN)
        .type('form')
        .send({ _csrf: s.csrf, ...body });
    const bad = await form({ expiresInHours: '9999' }).expect(400);
    expect(bad.text).toContain('id="expiresInHours-error"');
    const created = await form({ expiresInHours: '12', note: 'for Jane' }).expect(201);
    const url = /id="setup-link-url">([^<]+)</.exec(created.text)?.[1] as string;
    expect(url).toMatch(/^http:\/\/bridge\.test\/setup\/sbl_[A-Za-z0-9_-]{43}$/);
    expect(created.text).toContain('shown only now');
    const page = await t.http().get(`/admin/connections/${connectionId}`).set('Cookie', s.cookie).expect(200);
    expect(page.text).toContain('id="setup-links"');
    expect(page.text).toContain('for Jane');
    expect(page.text).not.toContain(url.slice(url.lastIndexOf('/') + 1));
    const links = (await t.admin.get(`/api/v1/connections/${connectionId}/setup-links`).expect(200)).body
      .items;
    const link = links.find((l: { note: string }) => l.note === 'for Jane');
    expect(link.status).toBe('active');
    expect(link.createdBy).toBe('bootstrap (ADMIN_API_KEY)');
    const revoked = await t
      .http()
      .post(`/admin/connections/${connectionId}/setup-links/${link.id}/revoke`)
      .set('Cookie', s.cookie)
      .set('Origin', ORIGIN)
      .type('form')
      .send({ _csrf: s.csrf })
      .expect(303);
    expect(revoked.headers.location).toBe(
      `/admin/connections/${connectionId}?notice=link-revoked#setup-links`,
    );
    await t.http().get(new URL(url).pathname).expect(410);
    const events = (
      await t.admin.get(`/api/v1/audit?type=setup_link.&connectionId=${connectionId}`).expect(200)
    ).body.items as Array<{ type: string; actor: { type: string } }>;
    expect(events.map((e) => `${e.type} ${e.actor.type}`)).toEqual([
      'setup_link.refused setup-link',
      'setup_link.revoked admin-session',
      'setup_link.created admin-session',
    ]);
  });

  it('browses the audit log with filters and pages, verifies the chain and exports JSON lines', async () => {
    const s = await signIn();
    const get = (path: string) => t.http().get(path).set('Cookie', s.cookie);
    const all = await get('/admin/audit').expect(200);
    expect(all.text).toContain('<a href="/admin/audit" aria-current="page">Audit log</a>');
    expect(all.text).toContain('connection.created');
    const filtered = await get(`/admin/audit?type=setup_link.&connectionId=${connectionId}`).expect(200);
    expect(filtered.text).toContain('setup_link.created');
    expect(filtered.text).not.toContain('<code>connection.created</code>');
    const byActor = await get('/admin/audit?actorType=setup-link').expect(200);
    expect(byActor.text).toContain('setup_link.refused');
    expect(byActor.text).not.toContain('<code>setup_link.created</code>');
    const none = await get('/admin/audit?from=2000-01-01T00:00&to=2000-01-02T00:00').expect(200);
    expect(none.text).toContain('No events match these filters.');
    const invalid = await get('/admin/audit?type=Not%20a%20type&from=yesterday').expect(400);
    expect(invalid.text).toContain('id="type-error"');
    expect(invalid.text).toContain('id="from-error"');
    await get('/admin/audit?cursor=bm9wZQ').expect(400);

    // Cursor pages (50 events each): "Older" continues exactly where the first page ended, with the filters.
    for (let i = 0; i < 55; i++) {
      await t.admin
        .post(`/api/v1/connections/${connectionId}/setup-links`)
        .send({ note: `page ${i}` })
        .expect(201);
    }
    const seqs = (html: string) =>
      [...html.matchAll(/<tr><td><code>(\d+)<\/code>/g)].map((m) => Number(m[1]));
    const first = await get('/admin/audit?type=setup_link.created').expect(200);
    const firstSeqs = seqs(first.text);
    expect(firstSeqs).toHaveLength(50);
    const older = (/<a rel="next" href="([^"]+)">Older<\/a>/.exec(first.text)?.[1] as string).replace(
      /&amp;/g,
      '&',
    );
    expect(older).toContain('type=setup_link.created');
    const second = await get(older).expect(200);
    const secondSeqs = seqs(second.text);
    expect(secondSeqs).toHaveLength(6);
    expect(Math.max(...secondSeqs)).toBeLessThan(Math.min(...firstSeqs));
    expect(second.text).not.toContain('>Older</a>');

    const verify = await get('/admin/audit/verify').expect(200);
    expect(verify.text).toMatch(/Chain OK: \d+ events verified intact/);
    const exported = await get(`/admin/audit/export?type=setup_link.&connectionId=${connectionId}`).expect(
      200,
    );
    expect(exported.headers['content-type']).toMatch(/application\/x-ndjson/);
    const lines = exported.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(lines.slice(0, 3).map((l) => l.type)).toEqual([
      'setup_link.created',
      'setup_link.revoked',
      'setup_link.refused',
    ]);
    expect(lines).toHaveLength(3 + 55);
    await get('/admin/audit/export?connectionId=nope').expect(400);
  });

  it('slows down guessing: after 10 failed sign-ins even the right key waits', async () => {
    for (let i = 0; i < 10; i++) {
      await t
        .http()
        .post('/admin/sign-in')
        .set('Origin', ORIGIN)
        .type('form')
        .send({ key: `guess-${i}-0123456789abcdef` });
    }
    const res = await t
      .http()
      .post('/admin/sign-in')
      .set('Origin', ORIGIN)
      .type('form')
      .send({ key: TEST_ADMIN_KEY })
      .expect(429);
    expect(res.text).toContain('signin_rate_limited');
    expect(consoleCookie(res)).toBeUndefined();
  });
});
