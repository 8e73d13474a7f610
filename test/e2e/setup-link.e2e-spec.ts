import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { databaseKinds, FIXTURES, startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/test-app';
import { launchBrowser, loginAtSimpleSamlPhp } from './browser';
import { SimpleSamlPhpIdp, type SimpleSamlPhpUser } from './simplesamlphp';

/**
 * A customer setup link in headless Chromium: the admin creates it in the console, the customer (another
 * browser context, no console session) follows the Okta steps, uploads SimpleSAMLphp's metadata and runs a
 * test login; the admin revokes the link, the customer's next request is refused, and the console's audit
 * page shows what the link did.
 */

const alice: SimpleSamlPhpUser = {
  username: 'alice',
  password: 'alice-pass',
  nameId: 'alice-0001',
  attributes: { mail: ['alice@example.com'], givenName: ['Alice'], sn: ['Liddell'], groups: ['staff'] },
};

describe('customer setup link in Chromium', () => {
  let t: TestApp;
  let base: string;
  let idp: SimpleSamlPhpIdp;
  let browser: Browser;
  let admin: Page;
  let customer: Page;
  let connectionId: string;
  let linkUrl: string;
  const contexts: BrowserContext[] = [];

  async function newPage(): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    return context.newPage();
  }

  beforeAll(async () => {
    t = await startTestApp(databaseKinds()[0], {}, undefined, { listen: true, baseHost: 'localhost' });
    base = t.config.baseUrl;
    idp = await SimpleSamlPhpIdp.start({ users: [alice] });
    // The admin registered the connection with a placeholder IdP (Okta's sample metadata); the customer
    // replaces it with their own IdP's metadata through the link.
    const created = await request(base)
      .post('/api/v1/connections')
      .set('Authorization', `Bearer ${TEST_ADMIN_KEY}`)
      .send({
        slug: 'acme',
        name: 'Acme Corp',
        preset: 'generic',
        domains: ['example.com'],
        metadataXml: readFileSync(join(FIXTURES, 'metadata', 'okta__metadata__2024.xml'), 'utf8'),
      })
      .expect(201);
    connectionId = created.body.id;
    await idp.addSp((await request(base).get('/saml/acme/metadata').expect(200)).text);
    browser = await launchBrowser();
    admin = await newPage();
    customer = await newPage();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await idp?.stop();
    await t?.close();
  });

  it('the admin creates a setup link in the console and sees its URL once', async () => {
    await admin.goto(`${base}/admin/connections/${connectionId}`);
    await admin.waitForURL(/\/admin\/sign-in/);
    await admin.fill('#key', TEST_ADMIN_KEY);
    await admin.click('button:has-text("Sign in")');
    await admin.waitForURL(`${base}/admin/connections/${connectionId}`);
    await admin.fill('#expiresInHours', '48');
    await admin.fill('#note', 'Jane, Acme IT');
    await admin.click('button:has-text("Create a setup link")');
    await admin.waitForSelector('#setup-link-url');
    linkUrl = (await admin.locator('#setup-link-url').textContent()) as string;
    expect(linkUrl).toMatch(new RegExp(`^${base}/setup/sbl_[A-Za-z0-9_-]{43}$`));
    await admin.click('button.copy[data-copy="setup-link-url"]');
    await expect(admin.evaluate('navigator.clipboard.readText()')).resolves.toBe(linkUrl);
    await admin.click('a:has-text("Back to Acme Corp")');
    await expect(
      admin.locator('table:has(caption:has-text("Setup links of this connection"))').textContent(),
    ).resolves.toContain('Jane, Acme IT');
    expect(await admin.content()).not.toContain(linkUrl);
  });

  it('the customer opens the link, follows the Okta steps and uploads the IdP metadata', async () => {
    await customer.goto(linkUrl);
    // The token is swapped for a cookie: the address bar no longer shows it.
    await customer.waitForURL(`${base}/setup`);
    await expect(customer.locator('h1').textContent()).resolves.toBe('Single sign-on setup: Acme Corp');
    const cookie = (await customer.context().cookies(`${base}/setup`)).find((c) => c.name === 'bridge_setup');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/setup' });

    await customer.click('nav[aria-label="Identity provider"] a:has-text("Okta")');
    await customer.waitForURL(/vendor=okta/);
    await expect(customer.locator('#steps-okta > li').count()).resolves.toBeGreaterThanOrEqual(5);
    await expect(customer.locator('#v-acs-url').textContent()).resolves.toBe(`${base}/saml/acme/acs`);
    await expect(customer.locator('#v-entity-id').textContent()).resolves.toBe(`${base}/saml/acme/metadata`);
    await expect(customer.locator('#v-nameid-format').textContent()).resolves.toBe(
      'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    );
    await customer.click('button.copy[data-copy="v-acs-url"]');
    await expect(customer.evaluate('navigator.clipboard.readText()')).resolves.toBe(`${base}/saml/acme/acs`);
    await expect(customer.locator('#claims + p + table').textContent()).resolves.toContain('email');

    await customer.setInputFiles('#replaceFile', {
      name: 'simplesamlphp-idp.xml',
      mimeType: 'application/xml',
      buffer: Buffer.from(await idp.metadataXml()),
    });
    await customer.click('button:has-text("Save the metadata")');
    await customer.waitForURL(/notice=metadata/);
    await expect(customer.locator('[role=status]').first().textContent()).resolves.toContain(
      'metadata is saved',
    );
    const entityId = (await customer.locator('#idp-entity-id').textContent()) as string;
    expect(entityId).not.toContain('okta');
    const view = await request(base)
      .get(`/api/v1/connections/${connectionId}`)
      .set('Authorization', `Bearer ${TEST_ADMIN_KEY}`)
      .expect(200);
    expect(view.body.idp.entityId).toBe(entityId);
  });

  it('the customer runs a test login and sees the mapped claims, then goes back to the setup page', async () => {
    await customer.click('button:has-text("Run a test login")');
    await loginAtSimpleSamlPhp(customer, 'alice', 'alice-pass');
    await customer.waitForSelector('h1:has-text("Test login succeeded")');
    await expect(customer.locator('#claim-subject').textContent()).resolves.toBe('alice-0001');
    await expect(customer.locator('#claim-email').textContent()).resolves.toBe('alice@example.com');
    await expect(customer.locator('#claim-given-name').textContent()).resolves.toBe('Alice');
    await expect(customer.locator('#claim-groups').textContent()).resolves.toBe('staff');
    expect((await customer.context().cookies(base)).some((c) => c.name === 'bridge_session')).toBe(false);
    await customer.click('a:has-text("Back")');
    await customer.waitForURL(`${base}/setup`);
    await expect(customer.locator('h1').textContent()).resolves.toBe('Single sign-on setup: Acme Corp');
  });

  it('the admin revokes the link and the customer’s next request is refused', async () => {
    await admin.goto(`${base}/admin/connections/${connectionId}#setup-links`);
    await admin.click('button:has-text("Revoke the link")');
    await admin.waitForURL(/notice=link-revoked/);
    await expect(
      admin.locator('table:has(caption:has-text("Setup links of this connection"))').textContent(),
    ).resolves.toContain('revoked');

    // The customer's page is still open: its next action is refused.
    await customer.click('button:has-text("Run a test login")');
    await customer.waitForSelector('h1:has-text("This setup link no longer works")');
    expect(await customer.content()).toContain('setup_link_revoked');
    const again = await customer.goto(linkUrl);
    expect(again?.status()).toBe(410);
  });

  it('the console’s audit page shows what the link did', async () => {
    await admin.click('nav[aria-label="Console"] a:has-text("Audit log")');
    await admin.waitForURL(`${base}/admin/audit`);
    await admin.selectOption('#actorType', 'setup-link');
    await admin.selectOption('#connectionId', connectionId);
    await admin.click('button:has-text("Apply the filters")');
    await admin.waitForURL(/actorType=setup-link/);
    const text = (await admin.locator('table').textContent()) as string;
    for (const type of [
      'setup_link.opened',
      'connection.updated',
      'setup_link.test_login_started',
      'setup_link.refused',
    ]) {
      expect(text).toContain(type);
    }
    expect(text).toContain('setup link for acme');
    await admin.click('a:has-text("Verify chain")');
    await expect(admin.locator('#verify-result').textContent()).resolves.toMatch(/Chain OK: \d+ events/);
  });
});
