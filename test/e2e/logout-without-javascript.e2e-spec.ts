import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { databaseKinds, startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/test-app';
import { launchBrowser, loginAtSimpleSamlPhp } from './browser';
import { RelyingParty } from './relying-party';
import { SimpleSamlPhpIdp, type SimpleSamlPhpUser } from './simplesamlphp';

/**
 * RP-initiated logout in a real browser with JavaScript turned off: an app built with openid-client sends
 * the user to the bridge's end_session endpoint with its ID token as hint; the bridge signs out
 * server-side, the app hears about it on its back channel, the IdP's session ends, and the browser lands
 * on the app's post-logout URI — without a page to click through and without running a script.
 */

const linus: SimpleSamlPhpUser = {
  username: 'linus',
  password: 'linus-pass',
  nameId: 'linus-0001',
  attributes: { mail: ['linus@example.com'], givenName: ['Linus'], sn: ['Pauling'], groups: ['chem'] },
};

describe('sign-out without JavaScript (Chromium, SimpleSAMLphp, openid-client app)', () => {
  let t: TestApp;
  let base: string;
  let idp: SimpleSamlPhpIdp;
  let browser: Browser;
  let rp: RelyingParty;
  const contexts: BrowserContext[] = [];

  const admin = (method: 'post', path: string) =>
    request(base)[method](path).set('Authorization', `Bearer ${TEST_ADMIN_KEY}`);

  beforeAll(async () => {
    t = await startTestApp(databaseKinds()[0], {}, undefined, { listen: true, baseHost: 'localhost' });
    base = t.config.baseUrl;
    idp = await SimpleSamlPhpIdp.start({ users: [linus] });
    await admin('post', '/api/v1/connections')
      .send({ slug: 'chem', name: 'Chem', metadataXml: await idp.metadataXml(), domains: ['example.com'] })
      .expect(201);
    await idp.addSp((await request(base).get('/saml/chem/metadata').expect(200)).text);
    rp = await RelyingParty.start(base, 'chem');
    const created = await admin('post', '/api/v1/clients').send(rp.registration('No-script app')).expect(201);
    rp.clientId = created.body.clientId;
    rp.clientSecret = created.body.clientSecret;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await rp?.stop();
    await idp?.stop();
    await t?.close();
  });

  /** Signs in through the IdP (whose SAML POST binding answers with a self-submitting form: JavaScript on). */
  async function signedInState() {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${rp.baseUrl}/login`);
    await loginAtSimpleSamlPhp(page, 'linus', 'linus-pass');
    await page.waitForURL((url) => url.toString().startsWith(`${rp.baseUrl}/callback`));
    await expect(page.locator('#email').textContent()).resolves.toBe('linus@example.com');
    return context.storageState();
  }

  /** The same cookies in a context that runs no script at all. */
  async function withoutJavaScript(state: Awaited<ReturnType<BrowserContext['storageState']>>) {
    const context = await browser.newContext({ javaScriptEnabled: false, storageState: state });
    contexts.push(context);
    const page = await context.newPage();
    const bridgeResponses: Array<{ url: string; status: number }> = [];
    page.on('response', (res) => {
      if (res.url().startsWith(base)) bridgeResponses.push({ url: res.url(), status: res.status() });
    });
    return { context, page, bridgeResponses };
  }

  const sessionStatus = async (page: Page) => (await page.request.get(`${base}/saml/session`)).status();

  it('a valid id_token_hint signs out server-side and redirects back to the app, with no page and no script', async () => {
    const { page, bridgeResponses } = await withoutJavaScript(await signedInState());
    expect(await sessionStatus(page)).toBe(200);
    const tokensBefore = rp.logoutTokens.length;

    await page.goto(`${rp.baseUrl}/logout`);
    await page.waitForURL((url) => url.toString().startsWith(`${rp.baseUrl}/?`), { timeout: 30_000 });
    await expect(page.locator('#signed-out').textContent()).resolves.toBe('signed out');
    expect(new URL(page.url()).searchParams.get('state')).toBe('rp-logout');

    // Only redirects on the bridge's side: end_session → confirm → the IdP (SLO) … → back through the bridge.
    const oidc = bridgeResponses.filter((r) => new URL(r.url).pathname.startsWith('/oidc/session/end'));
    expect(oidc.map((r) => [new URL(r.url).pathname, r.status])).toEqual([
      ['/oidc/session/end', 303],
      ['/oidc/session/end/confirm', 303],
    ]);
    expect(bridgeResponses.every((r) => r.status === 303 || r.status === 302)).toBe(true);
    expect(await sessionStatus(page)).toBe(401);
    expect(rp.logoutTokens.length).toBe(tokensBefore + 1);
    expect(rp.logoutTokens[rp.logoutTokens.length - 1]).toMatchObject({ sub: rp.tokens?.claims?.sub });
  });

  it('without a hint the user confirms on a plain form, which works without JavaScript', async () => {
    const { page } = await withoutJavaScript(await signedInState());
    await page.goto(`${base}/oidc/session/end`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign out');
    expect(await sessionStatus(page)).toBe(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => !url.toString().startsWith(`${base}/oidc/session/end?`), {
      timeout: 30_000,
    });
    expect(await sessionStatus(page)).toBe(401);
  });
});
