import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import { LoginClient, type Browser, type LoginEvidence } from '../support/login-client';
import { createTestConnection, SamlConnectionFixture } from '../support/saml-flow';
import { databaseKinds, startTestApp, TestApp } from '../support/test-app';
import { need } from '../support/defined';

const REDIRECT = 'http://127.0.0.1:9/callback';
const BYE = 'http://127.0.0.1:9/bye';

/**
 * RP-initiated logout for a user agent that runs no script (a browser with JavaScript off, a CLI): plain
 * HTTP requests that follow the bridge's 303s. A hint that names the signed-in user and session signs out
 * server-side; anything else shows the confirmation page, which works without a script too.
 */
describe.each(databaseKinds().slice(0, 1))('Sign-out without JavaScript on %s', (kind) => {
  let t: TestApp;
  let saml: SamlConnectionFixture;
  let login: LoginClient;
  let receiver: Server;
  const logoutTokens: string[] = [];
  let nextUser = 0;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        logoutTokens.push(new URLSearchParams(body).get('logout_token') ?? '');
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    t = await startTestApp(kind, {}, undefined, { listen: true });
    saml = await createTestConnection(t, 'noscript-co');
    const app = (
      await t.admin
        .post('/api/v1/clients')
        .send({
          name: 'No-script app',
          redirectUris: [REDIRECT],
          postLogoutRedirectUris: [BYE],
          backchannelLogoutUri: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/bcl`,
        })
        .expect(201)
    ).body;
    login = new LoginClient({
      publicBase: t.config.baseUrl,
      instances: () => [`http://127.0.0.1:${t.config.port}`],
      connection: saml,
      client: { ...app, redirectUri: REDIRECT },
    });
  });
  afterAll(async () => {
    await t?.close();
    receiver?.closeAllConnections();
    await new Promise((r) => receiver?.close(r));
  });

  const evidence = (): LoginEvidence => ({ samlResponses: [], continues: [], codes: [] });
  const signIn = () => {
    const n = nextUser++;
    return login.login(`ns-${n}`, `ns${n}@example.com`, evidence(), { scope: 'openid email' });
  };
  const path = (location: string) => {
    const u = new URL(location, t.config.baseUrl);
    return u.pathname + u.search;
  };
  const endSessionUrl = (params: Record<string, string>) =>
    `/oidc/session/end?${new URLSearchParams(params).toString()}`;
  /** Requests `start` and follows the bridge's redirects; returns the last answer and where it points. */
  async function follow(browser: Browser, start: string) {
    const hops: string[] = [];
    let res = await browser.step(start);
    while (res.status === 303 || res.status === 302) {
      const location = res.headers.get('location') as string;
      hops.push(location);
      if (!location.startsWith('/') && !location.startsWith(t.config.baseUrl)) break;
      res = await browser.step(path(location));
    }
    return { res, hops };
  }
  const sessionAlive = async (browser: Browser) => (await browser.step('/saml/session')).status === 200;

  it('a hint naming the signed-in user and session signs out server-side: 303s only, back-channel logout, SAML SLO, back to the app', async () => {
    const { idToken, browser } = await signIn();
    expect(await sessionAlive(browser)).toBe(true);
    const before = logoutTokens.length;
    const { res, hops } = await follow(
      browser,
      endSessionUrl({ id_token_hint: idToken, post_logout_redirect_uri: BYE, state: 'st-1' }),
    );
    // end_session → the confirmation (a GET) → the IdP's SLO endpoint with a LogoutRequest.
    expect(res.status).toBe(303);
    expect(new URL(need(hops[0]), t.config.baseUrl).pathname).toBe('/oidc/session/end/confirm');
    const toIdp = new URL(need(hops[hops.length - 1]));
    expect(toIdp.origin + toIdp.pathname).toBe(saml.idp.sloUrl);
    expect(await sessionAlive(browser)).toBe(false);
    // oidc-provider delivered the app's logout token itself, before answering.
    expect(logoutTokens.length).toBe(before + 1);

    const request = inflateRawSync(
      Buffer.from(toIdp.searchParams.get('SAMLRequest') as string, 'base64'),
    ).toString();
    const answer = saml.idp.logoutResponseXml({
      destination: saml.sloUrl,
      inResponseTo: /ID="([^"]+)"/.exec(request)?.[1] as string,
    });
    const back = await browser.step(
      `/saml/${saml.slug}/slo?${saml.idp.redirectBindingQuery('SAMLResponse', answer, toIdp.searchParams.get('RelayState') ?? undefined, { sign: true })}`,
    );
    expect(back.status).toBe(303);
    expect(back.headers.get('location')).toBe(`${BYE}?state=st-1`);
  });

  it('no hint: the confirmation page, without a script, whose form signs out', async () => {
    const { browser } = await signIn();
    const page = await fetch(`http://127.0.0.1:${t.config.port}${endSessionUrl({})}`, {
      headers: { cookie: browser.cookie() },
      redirect: 'manual',
    });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('id="op.logoutForm"');
    expect(html).not.toContain('<script');
    expect(page.headers.get('content-security-policy')).not.toContain('script-src');
    expect(await sessionAlive(browser)).toBe(true);
    // The form's POST (what a browser without JavaScript sends on "Sign out").
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1] as string;
    const confirm = await browser.step('/oidc/session/end/confirm', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    expect(confirm.status).toBe(303);
    expect(await sessionAlive(browser)).toBe(false);
  });

  it("a hint for another user's session is not enough: the user confirms", async () => {
    const other = await signIn();
    const { browser } = await signIn();
    const res = await browser.step(
      endSessionUrl({ id_token_hint: other.idToken, post_logout_redirect_uri: BYE }),
    );
    expect(res.status).toBe(200);
    expect(await sessionAlive(browser)).toBe(true);
    expect(await sessionAlive(other.browser)).toBe(true);
  });

  it('a forged confirmation (wrong xsrf) by GET signs nobody out', async () => {
    const { browser } = await signIn();
    const res = await browser.step('/oidc/session/end/confirm?xsrf=forged&logout=yes');
    expect(res.status).toBe(400);
    expect(await sessionAlive(browser)).toBe(true);
  });

  it('nobody signed in: no page, straight back to the app', async () => {
    const { idToken, browser } = await signIn();
    await follow(browser, endSessionUrl({ id_token_hint: idToken, post_logout_redirect_uri: BYE }));
    const fresh = login.browser();
    const { res, hops } = await follow(
      fresh,
      endSessionUrl({ id_token_hint: idToken, post_logout_redirect_uri: BYE, state: 'st-2' }),
    );
    expect(res.status).toBe(303);
    expect(hops[hops.length - 1]).toBe(`${BYE}?state=st-2`);
  });
});
