import type request from 'supertest';
import { createTestConnection, type SamlConnectionFixture } from '../support/saml-flow';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from '../support/test-app';

/** Directory sync in the admin console and on the customer's setup page: tokens created there work. */
const ORIGIN = 'http://bridge.test';

function cookieNamed(res: request.Response, name: string): string {
  const set = res.headers['set-cookie'] as unknown as string[] | undefined;
  const line = set?.find((c) => c.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie`);
  return line.split(';')[0] as string;
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] as string;
const tokenOf = (html: string) =>
  /<code id="scim-token">(sct_[A-Za-z0-9_-]{43})<\/code>/.exec(html)?.[1] as string;

describe('directory sync in the console and on setup pages (embedded database)', () => {
  let t: TestApp;
  let c: SamlConnectionFixture;

  beforeAll(async () => {
    t = await startTestApp('embedded');
    c = await createTestConnection(t, 'dirsync');
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const scimGet = (token: string) =>
    t.http().get('/scim/v2/dirsync/ServiceProviderConfig').set('Authorization', `Bearer ${token}`);

  it('an admin creates a token on the connection page (shown once, escaped), uses it and revokes it', async () => {
    const signIn = await t
      .http()
      .post('/admin/sign-in')
      .set('Origin', ORIGIN)
      .type('form')
      .send({ key: TEST_ADMIN_KEY, next: '/admin/users' })
      .expect(303);
    const cookie = cookieNamed(signIn, 'admin_console');
    const page = await t.http().get(`/admin/connections/${c.id}`).set('Cookie', cookie).expect(200);
    expect(page.text).toContain('<h2 id="directory-sync">Directory sync (SCIM)</h2>');
    expect(page.text).toContain('http://bridge.test/scim/v2/dirsync');
    const csrf = csrfOf(page.text);
    const created = await t
      .http()
      .post(`/admin/connections/${c.id}/scim-tokens`)
      .set('Origin', ORIGIN)
      .set('Cookie', cookie)
      .type('form')
      .send({ _csrf: csrf, description: '<script>alert(1)</script> Entra' })
      .expect(201);
    const token = tokenOf(created.text);
    expect(token).toBeDefined();
    await scimGet(token).expect(200);
    const after = await t.http().get(`/admin/connections/${c.id}`).set('Cookie', cookie).expect(200);
    expect(after.text).not.toContain('<script>alert(1)</script>');
    expect(after.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt; Entra');
    expect(after.text).not.toContain(token);
    const id = /action="\/admin\/connections\/[^/]+\/scim-tokens\/([0-9a-f-]{36})\/revoke"/.exec(
      after.text,
    )?.[1];
    // Without the CSRF token the revoke is refused.
    await t
      .http()
      .post(`/admin/connections/${c.id}/scim-tokens/${id}/revoke`)
      .set('Origin', ORIGIN)
      .set('Cookie', cookie)
      .type('form')
      .send({})
      .expect(403);
    const revoked = await t
      .http()
      .post(`/admin/connections/${c.id}/scim-tokens/${id}/revoke`)
      .set('Origin', ORIGIN)
      .set('Cookie', cookie)
      .type('form')
      .send({ _csrf: csrf })
      .expect(303);
    expect(revoked.headers.location).toBe(
      `/admin/connections/${c.id}?notice=scim-token-revoked#directory-sync`,
    );
    await scimGet(token).expect(401);
  });

  it("the customer's IT admin creates a token on the setup page, audited with the link as actor", async () => {
    const link = await t.admin.post(`/api/v1/connections/${c.id}/setup-links`).send({}).expect(201);
    const opened = await t
      .http()
      .get(new URL(link.body.url as string).pathname)
      .expect(303);
    const cookie = cookieNamed(opened, 'bridge_setup');
    const page = await t.http().get('/setup').set('Cookie', cookie).expect(200);
    expect(page.text).toContain('Directory sync (SCIM)');
    const form = { _csrf: csrfOf(page.text), connectionId: c.id, description: 'Okta provisioning' };
    // Another connection's id in the form is refused, like every setup form.
    await t
      .http()
      .post('/setup/scim-tokens')
      .set('Origin', ORIGIN)
      .set('Cookie', cookie)
      .type('form')
      .send({ ...form, connectionId: '00000000-0000-4000-8000-000000000000' })
      .expect(403);
    const created = await t
      .http()
      .post('/setup/scim-tokens')
      .set('Origin', ORIGIN)
      .set('Cookie', cookie)
      .type('form')
      .send(form)
      .expect(201);
    const token = tokenOf(created.text);
    await scimGet(token).expect(200);
    const audit = await t.admin.get(`/api/v1/audit?type=scim_token.created&connectionId=${c.id}`).expect(200);
    expect(audit.body.items[0]).toMatchObject({
      actor: { type: 'setup-link', id: link.body.id },
      data: { description: 'Okta provisioning' },
    });
    expect(JSON.stringify(audit.body)).not.toContain(token);
  });
});
