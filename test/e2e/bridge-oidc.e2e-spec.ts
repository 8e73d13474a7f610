import type { Browser, BrowserContext } from 'playwright-core';
import request from 'supertest';
import { databaseKinds, startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/test-app';
import { launchBrowser, loginAtSimpleSamlPhp } from './browser';
import { RelyingParty } from './relying-party';
import { SimpleSamlPhpIdp, type SimpleSamlPhpUser } from './simplesamlphp';

/**
 * The whole bridge, end to end: two internal apps built with openid-client log a user in through the
 * bridge, which signs them in at a real SimpleSAMLphp IdP in headless Chromium; tokens, refresh, silent
 * SSO for the second app, and back-channel logout to both when the user logs out at the IdP.
 */

const grace: SimpleSamlPhpUser = {
  username: 'grace',
  password: 'grace-pass',
  nameId: 'grace-0001',
  attributes: { mail: ['grace@example.com'], givenName: ['Grace'], sn: ['Hopper'], groups: ['navy'] },
};

describe('internal apps (openid-client) through the bridge and SimpleSAMLphp in Chromium', () => {
  let t: TestApp;
  let base: string;
  let idp: SimpleSamlPhpIdp;
  let browser: Browser;
  let context: BrowserContext;
  let rp1: RelyingParty;
  let rp2: RelyingParty;

  const admin = (method: 'post', path: string) =>
    request(base)[method](path).set('Authorization', `Bearer ${TEST_ADMIN_KEY}`);

  beforeAll(async () => {
    t = await startTestApp(databaseKinds()[0], {}, undefined, { listen: true, baseHost: 'localhost' });
    base = t.config.baseUrl;
    idp = await SimpleSamlPhpIdp.start({ users: [grace] });
    await admin('post', '/api/v1/connections')
      .send({ slug: 'navy', name: 'Navy', metadataXml: await idp.metadataXml(), domains: ['example.com'] })
      .expect(201);
    await idp.addSp((await request(base).get('/saml/navy/metadata').expect(200)).text);
    rp1 = await RelyingParty.start(base, 'navy');
    rp2 = await RelyingParty.start(base, 'navy');
    for (const [rp, name] of [
      [rp1, 'App one'],
      [rp2, 'App two'],
    ] as const) {
      const created = await admin('post', '/api/v1/clients').send(rp.registration(name)).expect(201);
      rp.clientId = created.body.clientId;
      rp.clientSecret = created.body.clientSecret;
    }
    browser = await launchBrowser();
    context = await browser.newContext();
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close();
    await rp1?.stop();
    await rp2?.stop();
    await idp?.stop();
    await t?.close();
  });

  it('logs in, refreshes, signs in a second app silently, and tells both apps when the IdP logs the user out', async () => {
    const page = await context.newPage();
    await page.goto(`${rp1.baseUrl}/login`);
    await loginAtSimpleSamlPhp(page, 'grace', 'grace-pass');
    await page.waitForURL((url) => url.toString().startsWith(`${rp1.baseUrl}/callback`));
    await expect(page.locator('#email').textContent()).resolves.toBe('grace@example.com');
    expect(rp1.tokens?.claims).toMatchObject({
      email: 'grace@example.com',
      email_verified: true,
      given_name: 'Grace',
      family_name: 'Hopper',
      groups: ['navy'],
    });

    await page.goto(`${rp1.baseUrl}/refresh`);
    await expect(page.locator('#refreshed').textContent()).resolves.toBe('refreshed');
    expect(rp1.refreshed).toBe(1);

    // The second app: no trip to the IdP's login form.
    await page.goto(`${rp2.baseUrl}/login`);
    await page.waitForURL((url) => url.toString().startsWith(`${rp2.baseUrl}/callback`));
    await expect(page.locator('#email').textContent()).resolves.toBe('grace@example.com');
    expect(rp2.tokens?.claims?.sub).toBe(rp1.tokens?.claims?.sub);

    // The user logs out at the IdP: both apps hear about it on their back channel.
    await page.goto(idp.idpInitiatedLogoutUrl(`${base}/saml/session`));
    await page.waitForURL(`${base}/saml/session`);
    const deadline = Date.now() + 10_000;
    while ((rp1.logoutTokens.length === 0 || rp2.logoutTokens.length === 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(rp1.logoutTokens).toHaveLength(1);
    expect(rp2.logoutTokens).toHaveLength(1);
    expect(rp1.logoutTokens[0]).toMatchObject({ sub: rp1.tokens?.claims?.sub, sid: rp1.tokens?.claims?.sid });
    // And their refresh tokens are revoked.
    const refreshAfter = await page.goto(`${rp1.baseUrl}/refresh`);
    expect(refreshAfter?.status()).toBe(500);
    await expect(page.locator('body').textContent()).resolves.toContain('invalid_grant');
  });
});
