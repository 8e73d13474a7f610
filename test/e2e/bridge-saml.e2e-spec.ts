import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { databaseKinds, startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/test-app';
import { launchBrowser, loginAtSimpleSamlPhp } from './browser';
import { SimpleSamlPhpIdp, type SimpleSamlPhpUser } from './simplesamlphp';

/**
 * The bridge as a SAML SP, end to end: a real SimpleSAMLphp IdP on http://127.0.0.1:<port>, headless
 * Chromium, and the bridge on http://localhost:<port> (another site: the IdP's POST to the ACS is cross-site,
 * so the session cookie must come from the same-site 303 that follows).
 */

const alice: SimpleSamlPhpUser = {
  username: 'alice',
  password: 'alice-pass',
  nameId: 'alice-0001',
  attributes: {
    mail: ['alice@example.com'],
    givenName: ['Alice'],
    sn: ['Liddell'],
    groups: ['staff', 'admins'],
  },
};

describe('bridge SAML SP against SimpleSAMLphp in Chromium', () => {
  let t: TestApp;
  let base: string;
  let idp: SimpleSamlPhpIdp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const admin = () => ({
    get: (p: string) => request(base).get(p).set('Authorization', `Bearer ${TEST_ADMIN_KEY}`),
    post: (p: string) => request(base).post(p).set('Authorization', `Bearer ${TEST_ADMIN_KEY}`),
    patch: (p: string) => request(base).patch(p).set('Authorization', `Bearer ${TEST_ADMIN_KEY}`),
  });

  async function connect(
    slug: string,
    body: Record<string, unknown>,
    trust: { encryptAssertion?: boolean } = {},
  ) {
    const created = await admin()
      .post('/api/v1/connections')
      .send({ slug, name: slug, metadataXml: await idp.metadataXml(), domains: ['example.com'], ...body })
      .expect(201);
    const spMetadata = await request(base).get(`/saml/${slug}/metadata`).expect(200);
    await idp.addSp(spMetadata.text, trust);
    return created.body as { id: string; sp: { entityId: string } };
  }

  async function newPage(): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    return context.newPage();
  }

  beforeAll(async () => {
    t = await startTestApp(databaseKinds()[0], {}, undefined, { listen: true, baseHost: 'localhost' });
    base = t.config.baseUrl;
    idp = await SimpleSamlPhpIdp.start({ users: [alice] });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await idp?.stop();
    await t?.close();
  });

  it('SP-initiated login (Redirect binding) creates a local user with mapped attributes', async () => {
    const c = await connect('acme', {});
    const page = await newPage();
    await page.goto(`${base}/saml/acme/login?returnTo=/saml/session`);
    await loginAtSimpleSamlPhp(page, 'alice', 'alice-pass');
    await page.waitForURL(`${base}/saml/session`);
    await expect(page.locator('#email').textContent()).resolves.toBe('alice@example.com');
    await expect(page.locator('h1').textContent()).resolves.toBe('Signed in');

    const users = await admin().get(`/api/v1/users?connectionId=${c.id}`).expect(200);
    expect(users.body.items).toHaveLength(1);
    expect(users.body.items[0]).toMatchObject({
      subject: 'alice-0001',
      email: 'alice@example.com',
      emailVerified: true,
      givenName: 'Alice',
      familyName: 'Liddell',
      groups: ['staff', 'admins'],
    });
    // The session cookie is the bridge's own: HttpOnly, SameSite=Lax, set on the cross-site ACS POST.
    const cookies = await page.context().cookies(base);
    expect(cookies.find((k) => k.name === 'bridge_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Lax',
    });
  });

  it('signs in with an encrypted assertion', async () => {
    const c = await connect('acme-enc', {}, { encryptAssertion: true });
    const page = await newPage();
    await page.goto(`${base}/saml/acme-enc/login`);
    await loginAtSimpleSamlPhp(page, 'alice', 'alice-pass');
    await page.waitForURL(`${base}/saml/session`);
    await expect(page.locator('#email').textContent()).resolves.toBe('alice@example.com');
    const traces = await admin().get(`/api/v1/connections/${c.id}/traces?outcome=success`).expect(200);
    expect(traces.body.items.some((t: { kind: string }) => t.kind === 'acs')).toBe(true);
  });

  it('accepts IdP-initiated login only when allowed, landing on the configured page', async () => {
    const c = await connect('acme-idp', {
      allowIdpInitiated: true,
      options: { idpInitiatedTarget: '/saml/session' },
    });
    const page = await newPage();
    await page.goto(idp.idpInitiatedLoginUrl(c.sp.entityId));
    await loginAtSimpleSamlPhp(page, 'alice', 'alice-pass');
    await page.waitForURL(`${base}/saml/session`);
    await expect(page.locator('#email').textContent()).resolves.toBe('alice@example.com');

    await admin().patch(`/api/v1/connections/${c.id}`).send({ allowIdpInitiated: false }).expect(200);
    const refused = await newPage();
    await refused.goto(idp.idpInitiatedLoginUrl(c.sp.entityId));
    await loginAtSimpleSamlPhp(refused, 'alice', 'alice-pass');
    await refused.waitForURL(`${base}/saml/acme-idp/acs`);
    await expect(refused.locator('body').textContent()).resolves.toContain('saml_unsolicited_response');
  });

  it('SP-initiated logout ends the bridge session and the IdP session', async () => {
    await connect('acme-slo', {});
    const page = await newPage();
    await page.goto(`${base}/saml/acme-slo/login`);
    await loginAtSimpleSamlPhp(page, 'alice', 'alice-pass');
    await page.waitForURL(`${base}/saml/session`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.toString().startsWith(`${base}/saml/acme-slo/slo`));
    await expect(page.locator('h1').textContent()).resolves.toBe('Signed out');
    const after = await page.goto(`${base}/saml/session`);
    expect(after?.status()).toBe(401);
    // The IdP session is gone too: the next login asks for the password again.
    await page.goto(`${base}/saml/acme-slo/login`);
    await loginAtSimpleSamlPhp(page, 'alice', 'alice-pass');
    await page.waitForURL(`${base}/saml/session`);
  });

  it('IdP-initiated logout ends the bridge session', async () => {
    await connect('acme-idp-slo', {});
    const page = await newPage();
    await page.goto(`${base}/saml/acme-idp-slo/login`);
    await loginAtSimpleSamlPhp(page, 'alice', 'alice-pass');
    await page.waitForURL(`${base}/saml/session`);
    await page.goto(idp.idpInitiatedLogoutUrl(`${base}/saml/session`));
    await page.waitForURL(`${base}/saml/session`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Not signed in');
  });
});
