import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { UsersService } from '../../src/users/users.service';
import { HttpReceiver } from '../support/http-receiver';
import { databaseKinds, FIXTURES, startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/test-app';
import { launchBrowser } from './browser';

/**
 * Every console page, the setup page and an error page in Chromium, with attacker-controlled values in the
 * connection name, the IdP entity ID, a user's attributes and the audit details. A value rendered unescaped
 * would run script (a dialog), add an element, or lose its literal text; each page is checked for all three.
 * With SCREENSHOT_DIR set, each page is also saved as a full-page PNG there, and with HTML_DIR set its
 * markup as sent (to compare a view change before and after).
 */

const SCRIPT = '<script>alert("xss-script")</script>';
const IMG = '"><img src=x onerror=alert("xss-img")>';
const HOSTILE_NAME = `Evil ${SCRIPT} ${IMG}`;
const HOSTILE_ENTITY_ID = `https://idp.evil.example/${IMG}`;
const HOSTILE_EMAIL = 'eve@evil.example';
const HOSTILE_DISPLAY = `Eve ${IMG}`;
const HOSTILE_GROUP = `admins${SCRIPT}`;
const HOSTILE_APP = `App ${SCRIPT} ${IMG}`;
const HOSTILE_WEBHOOK = `Hook ${SCRIPT} ${IMG}`;
const HOSTILE_TOKEN = `Token ${SCRIPT} ${IMG}`;

function xmlAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

describe('console pages in Chromium (escaping of attacker-controlled values)', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let connectionId: string;
  let setupUrl: string;
  let clientId: string;
  let webhookId: string;
  const receiver = new HttpReceiver();
  const dialogs: string[] = [];
  const shots = process.env.SCREENSHOT_DIR;
  const markup = process.env.HTML_DIR;

  beforeAll(async () => {
    t = await startTestApp(databaseKinds()[0], {}, undefined, { listen: true, baseHost: 'localhost' });
    base = t.config.baseUrl;
    const okta = readFileSync(join(FIXTURES, 'metadata', 'okta__metadata__2024.xml'), 'utf8');
    const hostileMetadata = okta.replace(/entityID="[^"]*"/, `entityID="${xmlAttr(HOSTILE_ENTITY_ID)}"`);
    const created = await t.admin
      .post('/api/v1/connections')
      .send({
        slug: 'evil',
        name: HOSTILE_NAME,
        metadataXml: hostileMetadata,
        domains: ['evil.example'],
        // Admins may sign in through it: the sign-in page then names it.
        options: { adminGroups: ['bridge-admins'] },
      })
      .expect(201);
    connectionId = created.body.id;
    await t.app.get(UsersService).provision(
      connectionId,
      {
        subject: `subject-${IMG}`,
        subjectSource: 'nameid',
        email: HOSTILE_EMAIL,
        emailVerified: true,
        givenName: SCRIPT,
        familyName: null,
        displayName: HOSTILE_DISPLAY,
        groups: [HOSTILE_GROUP],
      },
      {},
    );
    const link = await t.admin
      .post(`/api/v1/connections/${connectionId}/setup-links`)
      .send({ note: `note ${SCRIPT}` })
      .expect(201);
    setupUrl = link.body.url;
    const app = await t.admin
      .post('/api/v1/clients')
      .send({ name: HOSTILE_APP, redirectUris: [`https://app.evil.example/cb?x=${encodeURIComponent(IMG)}`] })
      .expect(201);
    clientId = app.body.clientId;
    const hook = await t.admin
      .post('/api/v1/webhooks')
      .send({ url: await receiver.start('/hook'), events: ['*'], description: HOSTILE_WEBHOOK })
      .expect(201);
    webhookId = hook.body.id;
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    page = await context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      dialog.dismiss().catch(() => undefined); // the dialog was already counted
    });
    if (shots) mkdirSync(shots, { recursive: true });
    await page.goto(`${base}/admin/sign-in`);
    await page.fill('#key', TEST_ADMIN_KEY);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/admin/connections`);
  }, 120_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close();
    await t?.close();
    await receiver.stop();
  });

  /** Opens a page, checks that nothing injected ran or was added, and returns its visible text. */
  async function visit(name: string, path: string, status = 200): Promise<string> {
    const response = await page.goto(path.startsWith('http') ? path : `${base}${path}`);
    expect(response?.status()).toBe(status);
    await page.waitForLoadState('load');
    if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    if (markup && response) {
      mkdirSync(markup, { recursive: true });
      writeFileSync(join(markup, `${name}.html`), await response.text());
    }
    expect(dialogs).toEqual([]);
    // The only <img> or inline <script> would be an injected one: the console has none of its own.
    await expect(page.locator('img').count()).resolves.toBe(0);
    await expect(page.locator('script:not([src])').count()).resolves.toBe(0);
    return page.locator('body').innerText();
  }

  it('connections list shows the hostile name as text', async () => {
    const text = await visit('connections', '/admin/connections');
    expect(text).toContain(HOSTILE_NAME);
  });

  it('connection details show the hostile name and IdP entity ID as text', async () => {
    const text = await visit('connection-details', `/admin/connections/${connectionId}`);
    expect(text).toContain(HOSTILE_NAME);
    expect(text).toContain(HOSTILE_ENTITY_ID);
    expect(text).toContain(`note ${SCRIPT}`);
  });

  it('connection create form renders', async () => {
    const text = await visit('connection-create', '/admin/connections/new');
    expect(text).toContain('Create the connection');
  });

  it('the delete confirmation shows the hostile name as text', async () => {
    const text = await visit('connection-delete', `/admin/connections/${connectionId}/delete`);
    expect(text).toContain(HOSTILE_NAME);
  });

  it('users list shows hostile attribute values as text', async () => {
    const text = await visit('users', '/admin/users');
    expect(text).toContain(HOSTILE_DISPLAY);
    expect(text).toContain(HOSTILE_NAME);
  });

  it('audit log shows hostile details as text', async () => {
    const text = await visit('audit', '/admin/audit');
    expect(text).toContain('connection.created');
    await page.locator('details summary').first().click();
    expect(dialogs).toEqual([]);
    await expect(page.locator('img').count()).resolves.toBe(0);
  });

  it('audit chain verification renders', async () => {
    const text = await visit('audit-verify', '/admin/audit/verify');
    expect(text).toContain('Chain OK');
  });

  it('apps, keys, webhooks pages render', async () => {
    expect(await visit('apps', '/admin/apps')).toContain(HOSTILE_APP);
    await visit('apps-new', '/admin/apps/new');
    expect(await visit('keys', '/admin/keys')).toContain(HOSTILE_NAME);
    expect(await visit('webhooks', '/admin/webhooks')).toContain(HOSTILE_WEBHOOK);
  });

  it('app details and its delete confirmation show the hostile name as text', async () => {
    expect(await visit('app-details', `/admin/apps/${clientId}`)).toContain(HOSTILE_APP);
    expect(await visit('app-delete', `/admin/apps/${clientId}/delete`)).toContain(HOSTILE_APP);
  });

  it('webhook details show the hostile description and the deliveries', async () => {
    await page.goto(`${base}/admin/webhooks/${webhookId}`);
    await page.click('button:has-text("Send a test event")');
    await page.waitForLoadState('load');
    // Wait until the test event is delivered, so that the page shows a settled delivery.
    const delivered = async () =>
      (await t.admin.get(`/api/v1/webhooks/${webhookId}/deliveries`).expect(200)).body.items.some(
        (d: { status: string }) => d.status === 'delivered',
      );
    for (let i = 0; i < 100 && !(await delivered()); i++) await new Promise((r) => setTimeout(r, 100));
    const text = await visit('webhook-details', `/admin/webhooks/${webhookId}`);
    expect(text).toContain(HOSTILE_WEBHOOK);
    expect(text).toContain('webhook.test');
  });

  it('the events page shows hostile event data as text', async () => {
    const text = await visit('events', `/admin/events?connection=${connectionId}&types=connection.created`);
    expect(text).toContain(JSON.stringify(HOSTILE_NAME).slice(1, -1));
  });

  it('a new SCIM token page shows the hostile name as text, the token list its description', async () => {
    await page.goto(`${base}/admin/connections/${connectionId}#directory-sync`);
    await page.fill('#description', HOSTILE_TOKEN);
    await page.click('button:has-text("Create a SCIM token")');
    await page.waitForLoadState('load');
    if (shots) await page.screenshot({ path: join(shots, 'scim-token.png'), fullPage: true });
    expect(dialogs).toEqual([]);
    await expect(page.locator('img').count()).resolves.toBe(0);
    expect(await page.locator('body').innerText()).toContain(`SCIM token for ${HOSTILE_NAME}`);
    const text = await visit('connection-details-scim', `/admin/connections/${connectionId}`);
    expect(text).toContain(HOSTILE_TOKEN);
  });

  it('the sign-in page names the SSO connection as text', async () => {
    const anonymous = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    const signIn = await anonymous.newPage();
    signIn.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      dialog.dismiss().catch(() => undefined); // the dialog was already counted
    });
    const response = await signIn.goto(`${base}/admin/sign-in?next=${encodeURIComponent('/admin/users')}`);
    expect(response?.status()).toBe(200);
    if (shots) await signIn.screenshot({ path: join(shots, 'sign-in.png'), fullPage: true });
    if (markup && response) writeFileSync(join(markup, 'sign-in.html'), await response.text());
    expect(await signIn.locator('body').innerText()).toContain(`Sign in with ${HOSTILE_NAME}`);
    expect(dialogs).toEqual([]);
    await expect(signIn.locator('img').count()).resolves.toBe(0);
    await expect(signIn.locator('script:not([src])').count()).resolves.toBe(0);
    await anonymous.close();
  });

  it('an error page shows a reason code and keeps the session chrome', async () => {
    const text = await visit('error-404', '/admin/connections/00000000-0000-4000-8000-000000000000', 404);
    expect(text).toContain('Not found');
    expect(text).toContain('Reason:');
  });

  it('the customer setup page shows the hostile name and entity ID as text', async () => {
    const customer = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    const setup = await customer.newPage();
    setup.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      dialog.dismiss().catch(() => undefined); // the dialog was already counted
    });
    await setup.goto(setupUrl);
    await setup.waitForURL(`${base}/setup`);
    if (shots) await setup.screenshot({ path: join(shots, 'setup.png'), fullPage: true });
    const text = await setup.locator('body').innerText();
    expect(text).toContain(HOSTILE_NAME);
    expect(text).toContain(HOSTILE_ENTITY_ID);
    expect(dialogs).toEqual([]);
    await expect(setup.locator('img').count()).resolves.toBe(0);
    await expect(setup.locator('script:not([src])').count()).resolves.toBe(0);
    const missing = await setup.goto(`${base}/setup/not-a-valid-token-0000`);
    expect(missing?.status()).toBeGreaterThanOrEqual(400);
    if (shots) await setup.screenshot({ path: join(shots, 'setup-error.png'), fullPage: true });
    await customer.close();
  });
});
