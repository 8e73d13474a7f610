import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { databaseKinds, startTestApp, TEST_ADMIN_KEY, type TestApp } from '../support/test-app';
import { ApacheOidcRp } from './apache-rp';
import { launchBrowser, loginAtSimpleSamlPhp } from './browser';
import { SimpleSamlPhpIdp, type SimpleSamlPhpUser } from './simplesamlphp';

/**
 * A second, independent relying party from another ecosystem: Debian's Apache httpd + mod_auth_openidc
 * 2.4.12 (C, libcurl, cjose), beside the openid-client apps of bridge-oidc.e2e-spec.ts. It protects a page
 * of an internal app; a user signs in through the bridge at a real SimpleSAMLphp IdP in headless Chromium.
 *
 * mod_auth_openidc is on its defaults except the directives it cannot do without and three more (see
 * apache-rp.ts): OIDCScope (claims and a refresh token), OIDCAuthRequestParams prompt=consent (OIDC Core
 * §11: offline_access needs it) and OIDCPKCEMethod S256 (the bridge requires PKCE from every app).
 * Userinfo (called by mod_auth_openidc on every login by default), the refresh hook
 * (`<redirect_uri>?refresh=…&access_token=…`) and back-channel logout (`<redirect_uri>?logout=backchannel`)
 * are its built-in defaults.
 */

const grace: SimpleSamlPhpUser = {
  username: 'grace',
  password: 'grace-pass',
  nameId: 'grace-0001',
  attributes: { mail: ['grace@example.com'], givenName: ['Grace'], sn: ['Hopper'], groups: ['navy'] },
};

/** The value of one Prometheus sample (0 when the series does not exist yet). */
function sample(metrics: string, name: string, labels: Record<string, string>): number {
  const line = metrics.split('\n').find((l) => {
    if (!l.startsWith(`${name}{`)) return false;
    const body = l.slice(name.length + 1, l.indexOf('}'));
    return Object.entries(labels).every(([k, v]) => body.split(',').includes(`${k}="${v}"`));
  });
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

async function shown(page: Page, variable: string): Promise<string> {
  return ((await page.locator(`[id="${variable}"]`).textContent()) ?? '').trim();
}

describe('Apache httpd + mod_auth_openidc through the bridge and SimpleSAMLphp in Chromium', () => {
  let t: TestApp;
  let base: string;
  let idp: SimpleSamlPhpIdp;
  let apache: ApacheOidcRp;
  let browser: Browser;
  let context: BrowserContext;

  const metrics = async () => (await request(base).get('/metrics').expect(200)).text;

  beforeAll(async () => {
    t = await startTestApp(databaseKinds()[0], {}, undefined, { listen: true, baseHost: 'localhost' });
    base = t.config.baseUrl;
    idp = await SimpleSamlPhpIdp.start({ users: [grace] });
    await t.admin
      .post('/api/v1/connections')
      .send({ slug: 'navy', name: 'Navy', metadataXml: await idp.metadataXml(), domains: ['example.com'] })
      .expect(201);
    await idp.addSp((await request(base).get('/saml/navy/metadata').expect(200)).text);
    apache = await ApacheOidcRp.start({
      issuer: t.config.issuer,
      register: async (urls) => {
        // A confidential app (client_secret_basic, the default of both sides), as an admin registers it.
        const created = await request(base)
          .post('/api/v1/clients')
          .set('Authorization', `Bearer ${TEST_ADMIN_KEY}`)
          .send({
            name: 'Apache app',
            redirectUris: [urls.redirectUri],
            postLogoutRedirectUris: [urls.postLogoutRedirectUri],
            backchannelLogoutUri: urls.backchannelLogoutUri,
          })
          .expect(201);
        return { clientId: created.body.clientId, clientSecret: created.body.clientSecret };
      },
    });
    browser = await launchBrowser();
    context = await browser.newContext();
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close();
    await apache?.stop();
    await idp?.stop();
    await t?.close();
  });

  it('logs in, calls userinfo, refreshes, and is logged out by back channel within seconds of an IdP logout', async () => {
    const before = await metrics();
    const userinfoBefore = sample(before, 'bridge_http_request_duration_seconds_count', {
      route: '/oidc/me',
      status: '200',
    });

    // 1. Login: Apache → bridge (work email page) → SimpleSAMLphp → bridge → Apache's redirect URI → the page.
    const page = await context.newPage();
    await page.goto(apache.appUrl);
    await page.waitForURL((url) => url.toString().startsWith(`${base}/oidc/interaction/`));
    await page.locator('input#email').fill('grace@example.com');
    await page.locator('button[type="submit"]').click();
    await loginAtSimpleSamlPhp(page, 'grace', 'grace-pass');
    await page.waitForURL(apache.appUrl);
    expect(await shown(page, 'OIDC_CLAIM_email')).toBe('grace@example.com');
    expect(await shown(page, 'OIDC_CLAIM_given_name')).toBe('Grace');
    expect(await shown(page, 'OIDC_CLAIM_family_name')).toBe('Hopper');
    expect(await shown(page, 'OIDC_CLAIM_groups')).toBe('navy');
    expect(await shown(page, 'OIDC_CLAIM_email_verified')).toBe('1');
    const sub = await shown(page, 'OIDC_CLAIM_sub');
    expect(sub).toMatch(/^\S+$/);
    expect(await shown(page, 'OIDC_CLAIM_sid')).toMatch(/^\S+$/);
    // OIDCRemoteUserClaim's default: sub@issuer.
    expect(await shown(page, 'REMOTE_USER')).toBe(`${sub}@${t.config.issuer}`);

    // 2. mod_auth_openidc called the bridge's userinfo (with the JWT access token) and got the claims.
    const afterLogin = await metrics();
    expect(
      sample(afterLogin, 'bridge_http_request_duration_seconds_count', { route: '/oidc/me', status: '200' }),
    ).toBe(userinfoBefore + 1);
    expect(
      sample(afterLogin, 'bridge_http_request_duration_seconds_count', { route: '/oidc/me' }),
    ).toBeGreaterThan(0);

    // 3. Refresh: mod_auth_openidc's refresh hook redeems the refresh token; the page gets a new access token.
    const firstAccessToken = await shown(page, 'OIDC_access_token');
    expect(firstAccessToken.split('.')).toHaveLength(3);
    const refreshesBefore = sample(afterLogin, 'bridge_oidc_token_grants_total', {
      grant_type: 'refresh_token',
    });
    await page.goto(apache.refreshUrl(firstAccessToken));
    await page.waitForURL(apache.appUrl);
    const refreshedAccessToken = await shown(page, 'OIDC_access_token');
    expect(refreshedAccessToken.split('.')).toHaveLength(3);
    expect(refreshedAccessToken).not.toBe(firstAccessToken);
    expect(await shown(page, 'OIDC_CLAIM_email')).toBe('grace@example.com');
    expect(sample(await metrics(), 'bridge_oidc_token_grants_total', { grant_type: 'refresh_token' })).toBe(
      refreshesBefore + 1,
    );

    // Signed in: the page answers without a redirect.
    expect((await context.request.get(apache.appUrl, { maxRedirects: 0 })).status()).toBe(200);
    const deliveredBefore = sample(await metrics(), 'bridge_backchannel_logout_deliveries_total', {
      result: 'delivered',
    });

    // 4. The user logs out at the IdP: SimpleSAMLphp sends the bridge a LogoutRequest; the bridge sends
    // mod_auth_openidc a logout token on its back channel; the next request must sign in again.
    const loggedOutAt = Date.now();
    await page.goto(idp.idpInitiatedLogoutUrl(`${base}/saml/session`));
    await page.waitForURL(`${base}/saml/session`);
    let status = 0;
    let location = '';
    const deadline = loggedOutAt + 10_000;
    while (Date.now() < deadline) {
      const res = await context.request.get(apache.appUrl, { maxRedirects: 0 });
      status = res.status();
      location = res.headers().location ?? '';
      if (status !== 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const loggedOutAfterMs = Date.now() - loggedOutAt;
    expect({ status, authorize: location.split('?')[0] }).toEqual({
      status: 302,
      authorize: `${base}/oidc/auth`,
    });
    expect(loggedOutAfterMs).toBeLessThan(10_000);
    process.stdout.write(`mod_auth_openidc signed out ${loggedOutAfterMs} ms after the IdP logout began\n`);

    // The bridge recorded the delivery as delivered, and Apache answered it.
    const client = await t.admin.get(`/api/v1/clients/${apache.clientId}`).expect(200);
    expect(client.body.backchannelLogout).toMatchObject({ result: 'delivered' });
    expect(
      sample(await metrics(), 'bridge_backchannel_logout_deliveries_total', { result: 'delivered' }),
    ).toBeGreaterThan(deliveredBefore);
    expect(await apache.accessLog()).toMatch(
      /"POST \/app\/redirect_uri\?logout=backchannel HTTP\/1\.1" 200 /,
    );
  });
});
