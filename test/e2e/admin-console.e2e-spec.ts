import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { databaseKinds, FIXTURES, startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/test-app';
import { launchBrowser, loginAtSimpleSamlPhp } from './browser';
import { SimpleSamlPhpIdp, type SimpleSamlPhpUser } from './simplesamlphp';

/**
 * The admin console in headless Chromium: sign in with the keyboard, create connections (uploaded real
 * metadata; a live SimpleSAMLphp IdP), read the SP details, register an app, run a test login against
 * SimpleSAMLphp, and disable a user.
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

const carol: SimpleSamlPhpUser = {
  username: 'carol',
  password: 'carol-pass',
  nameId: 'carol-0003',
  attributes: { mail: ['carol@example.com'], groups: ['it-admins'] },
};

const bob: SimpleSamlPhpUser = {
  username: 'bob',
  password: 'bob-pass',
  nameId: 'bob-0002',
  attributes: { mail: ['bob@example.com'], groups: ['staff'] },
};

describe('admin console in Chromium', () => {
  let t: TestApp;
  let base: string;
  let idp: SimpleSamlPhpIdp;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  const contexts: BrowserContext[] = [];

  const api = (p: string) => request(base).get(p).set('Authorization', `Bearer ${TEST_ADMIN_KEY}`);

  async function newContext(): Promise<BrowserContext> {
    const context = await browser.newContext();
    contexts.push(context);
    return context;
  }

  beforeAll(async () => {
    t = await startTestApp(databaseKinds()[0], {}, undefined, { listen: true, baseHost: 'localhost' });
    base = t.config.baseUrl;
    idp = await SimpleSamlPhpIdp.start({ users: [alice, bob, carol] });
    browser = await launchBrowser();
    admin = await newContext();
    await admin.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    page = await admin.newPage();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await idp?.stop();
    await t?.close();
  });

  it('signs in with the keyboard only', async () => {
    await page.goto(`${base}/admin`);
    await page.waitForURL(/\/admin\/sign-in\?next=/);
    // Tab from the top of the page: skip link, brand link, then the key field.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await expect(page.evaluate('document.activeElement && document.activeElement.id')).resolves.toBe('key');
    await page.keyboard.type('not-the-key-0123456789abcdef');
    await page.keyboard.press('Enter');
    await expect(page.locator('[role=alert]').textContent()).resolves.toContain('not valid');
    await page.focus('#key');
    await page.keyboard.type(TEST_ADMIN_KEY);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/admin/connections`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Connections');
    const cookie = (await admin.cookies(base)).find((c) => c.name === 'admin_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  it('creates a connection by uploading a real metadata file, and shows the SP details with copy buttons', async () => {
    await page.click('text=Add a connection');
    await page.fill('#name', 'Acme (Entra ID)');
    await page.fill('#slug', 'acme-entra');
    await page.selectOption('#preset', 'entra');
    await page.fill('#domains', 'acme.example');
    await page.setInputFiles(
      '#metadataFile',
      join(FIXTURES, 'metadata', 'entra-id__federationmetadata__signed.xml'),
    );
    await page.click('button:has-text("Create the connection")');
    await page.waitForURL(/\/admin\/connections\/[0-9a-f-]{36}\?notice=created/);
    await expect(page.locator('[role=status]').first().textContent()).resolves.toContain(
      'Connection created',
    );
    await expect(page.locator('#sp-entity-id').textContent()).resolves.toBe(
      `${base}/saml/acme-entra/metadata`,
    );
    await expect(page.locator('#sp-acs-url').textContent()).resolves.toBe(`${base}/saml/acme-entra/acs`);
    await expect(page.locator('#sp-slo-url').textContent()).resolves.toBe(`${base}/saml/acme-entra/slo`);
    await page.click('button.copy[data-copy="sp-acs-url"]');
    await expect(page.evaluate('navigator.clipboard.readText()')).resolves.toBe(
      `${base}/saml/acme-entra/acs`,
    );
    await expect(page.locator('#messages').textContent()).resolves.toContain('copied');
    const href = (await page
      .locator('a:has-text("Download the SP certificate")')
      .getAttribute('href')) as string;
    const certificate = await page.request.get(new URL(href, base).toString());
    expect(await certificate.text()).toContain('BEGIN CERTIFICATE');
  });

  it('registers an app (keyboard only) and shows its secret exactly once', async () => {
    await page.goto(`${base}/admin/apps/new`);
    await page.focus('#name');
    await page.keyboard.type('Wiki');
    await page.keyboard.press('Tab'); // redirect URIs
    await page.keyboard.type('https://wiki.example.com/callback');
    // Submit with the keyboard: Tab to the submit button and press Enter.
    let guard = 0;
    while (
      (await page.evaluate('document.activeElement && document.activeElement.textContent')) !==
        'Register the app' &&
      guard++ < 20
    ) {
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    await page.waitForSelector('#client-secret');
    const secret = (await page.locator('#client-secret').textContent()) as string;
    expect(secret).toMatch(/^sbs_/);
    const clientId = (await page.locator('#client-id').textContent()) as string;
    await expect(page.locator('.secret h2').textContent()).resolves.toContain('shown only now');
    await page.goto(`${base}/admin/apps/${clientId}`);
    await expect(page.locator('#client-secret').count()).resolves.toBe(0);
    expect(await page.content()).not.toContain(secret);
    const apps = await api('/api/v1/clients').expect(200);
    expect(apps.body.items.map((a: { name: string }) => a.name)).toContain('Wiki');
  });

  it('runs a test login against SimpleSAMLphp and shows the mapped claims, without provisioning', async () => {
    await page.goto(`${base}/admin/connections/new`);
    await page.fill('#name', 'SimpleSAMLphp');
    await page.fill('#slug', 'ssp');
    await page.fill('#domains', 'example.com');
    await page.fill('#metadataXml', await idp.metadataXml());
    await page.click('button:has-text("Create the connection")');
    await page.waitForURL(/notice=created/);
    const connectionUrl = page.url().replace(/\?.*$/, '');
    await idp.addSp((await request(base).get('/saml/ssp/metadata').expect(200)).text);

    await page.click('button:has-text("Run a test login")');
    await loginAtSimpleSamlPhp(page, 'alice', 'alice-pass');
    await page.waitForSelector('h1:has-text("Test login succeeded")');
    await expect(page.locator('#claim-subject').textContent()).resolves.toBe('alice-0001');
    await expect(page.locator('#claim-email').textContent()).resolves.toBe('alice@example.com');
    await expect(page.locator('#claim-email-verified').textContent()).resolves.toBe('yes');
    await expect(page.locator('#claim-given-name').textContent()).resolves.toBe('Alice');
    await expect(page.locator('#claim-family-name').textContent()).resolves.toBe('Liddell');
    await expect(page.locator('#claim-groups').textContent()).resolves.toBe('staff admins');
    await expect(page.locator('#attributes').textContent()).resolves.toContain('mail');
    // Nobody was provisioned and no app session was opened.
    const id = connectionUrl.split('/').pop() as string;
    expect((await api(`/api/v1/users?connectionId=${id}`).expect(200)).body.items).toHaveLength(0);
    expect((await admin.cookies(base)).some((c) => c.name === 'bridge_session')).toBe(false);
    await page.click('a:has-text("Back")');
    await page.waitForURL(connectionUrl);
    await expect(page.locator('#traces').isVisible()).resolves.toBe(true);
    expect(await page.locator('table').last().textContent()).toContain('Test login mapped alice@example.com');
  });

  it('disables a user, whose next login is then refused', async () => {
    const userContext = await newContext();
    const userPage = await userContext.newPage();
    await userPage.goto(`${base}/saml/ssp/login?returnTo=/saml/session`);
    await loginAtSimpleSamlPhp(userPage, 'alice', 'alice-pass');
    await userPage.waitForURL(`${base}/saml/session`);

    await page.goto(`${base}/admin/users`);
    await page.fill('#email', 'alice@example.com');
    await page.click('button:has-text("Search")');
    await expect(page.locator('table').textContent()).resolves.toContain('staff');
    await page.click('button:has-text("Disable alice@example.com")');
    await expect(page.locator('[role=status]').textContent()).resolves.toContain('User disabled');
    await expect(page.locator('table').textContent()).resolves.toContain('disabled');

    const again = await (await newContext()).newPage();
    await again.goto(`${base}/saml/ssp/login?returnTo=/saml/session`);
    await loginAtSimpleSamlPhp(again, 'alice', 'alice-pass');
    await again.waitForSelector('h1');
    expect(await again.content()).toContain('saml_user_disabled');
  });

  it('lets members of the admin groups sign in through SSO, and refuses others with a clear page', async () => {
    await page.goto(`${base}/admin/connections?q=ssp`);
    await page.click('a:has-text("SimpleSAMLphp")');
    await page.fill('#adminGroups', 'it-admins');
    await page.click('button:has-text("Save settings")');
    await page.waitForURL(/notice=saved/);
    await expect(page.locator('#adminGroups').inputValue()).resolves.toBe('it-admins');

    const adminPage = await (await newContext()).newPage();
    await adminPage.goto(`${base}/admin/users`);
    await adminPage.waitForURL(/\/admin\/sign-in/);
    await adminPage.click('button:has-text("Sign in with SimpleSAMLphp")');
    await loginAtSimpleSamlPhp(adminPage, 'carol', 'carol-pass');
    await adminPage.waitForURL(`${base}/admin/users`);
    await expect(adminPage.locator('.signout').textContent()).resolves.toContain(
      'Signed in as carol@example.com',
    );
    // An SSO admin session is a full console session (forms and CSRF work).
    await adminPage.goto(`${base}/admin/keys`);
    await adminPage.click('button:has-text("Rotate the OIDC signing keys")');
    await expect(adminPage.locator('[role=status]').textContent()).resolves.toContain('rotated');

    const staffPage = await (await newContext()).newPage();
    await staffPage.goto(`${base}/admin/sign-in`);
    await staffPage.click('button:has-text("Sign in with SimpleSAMLphp")');
    await loginAtSimpleSamlPhp(staffPage, 'bob', 'bob-pass');
    await staffPage.waitForSelector('h1:has-text("Not allowed")');
    const refused = await staffPage.content();
    expect(refused).toContain('not_an_admin');
    expect(refused).toContain('bob@example.com');
    expect((await staffPage.context().cookies(base)).some((c) => c.name === 'admin_console')).toBe(false);
  });

  it('signs out: the console asks for the key again', async () => {
    await page.goto(`${base}/admin/keys`);
    await expect(page.locator('h2').first().textContent()).resolves.toBe('OIDC signing keys');
    await page.click('button:has-text("Sign out")');
    await page.waitForURL(/\/admin\/sign-in/);
    await page.goto(`${base}/admin/connections`);
    await page.waitForURL(/\/admin\/sign-in\?next=/);
  });
});
