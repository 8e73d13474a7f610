import { inflateRawSync } from 'node:zlib';
import { LoginClient } from './login-client';
import type { TestApp } from './test-app';
import { generateTestKeyPair, TestIdp } from './saml-test-idp';

export interface SamlConnectionFixture {
  idp: TestIdp;
  id: string;
  slug: string;
  spEntityId: string;
  acsUrl: string;
  sloUrl: string;
}

/** Registers a connection at the bridge for a fresh test IdP. */
export async function createTestConnection(
  t: TestApp,
  slug: string,
  body: Record<string, unknown> = {},
  idp?: TestIdp,
): Promise<SamlConnectionFixture> {
  const testIdp =
    idp ??
    new TestIdp({
      entityId: `https://idp-${slug}.test/metadata`,
      keys: await generateTestKeyPair(`IdP ${slug}`),
    });
  const res = await t.admin
    .post('/api/v1/connections')
    .send({
      slug,
      name: `Test ${slug}`,
      metadataXml: testIdp.metadataXml(),
      domains: ['example.com'],
      ...body,
    })
    .expect(201);
  return {
    idp: testIdp,
    id: res.body.id,
    slug,
    spEntityId: res.body.sp.entityId,
    acsUrl: res.body.sp.acsUrl,
    sloUrl: res.body.sp.sloUrl,
  };
}

/** The browser-binding cookie of each login started by `startLogin`, by AuthnRequest ID. */
const browserCookies = new Map<string, string>();

/** Starts an SP-initiated login and returns the AuthnRequest's ID (from the Redirect-binding URL). */
export async function startLogin(
  t: TestApp,
  slug: string,
  returnTo?: string,
): Promise<{ requestId: string; location: string; xml: string; browser?: string }> {
  const res = await t
    .http()
    .get(`/saml/${slug}/login${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`)
    .expect(303);
  const location = res.headers.location as string;
  const url = new URL(location);
  const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest') as string, 'base64')).toString(
    'utf8',
  );
  const requestId = /ID="([^"]+)"/.exec(xml)?.[1] as string;
  const browser = (res.headers['set-cookie'] as unknown as string[] | undefined)
    ?.find((c) => c.startsWith('bridge_browser='))
    ?.split(';')[0];
  if (browser) browserCookies.set(requestId, browser);
  return { requestId, location, xml, browser };
}

export function cookieFrom(res: { headers: Record<string, unknown> }): string | undefined {
  const set = res.headers['set-cookie'] as string[] | undefined;
  const c = set?.find((v) => v.startsWith('bridge_session='));
  return c?.split(';')[0];
}

/** Extracts the reason code from the bridge's HTML error page. */
export function reasonOf(html: string): string | undefined {
  return /Reason: <code>([^<]+)<\/code>/.exec(html)?.[1];
}

/**
 * Posts a response to the ACS, expects the 303 to the same-site continue URL, and follows it as the
 * browser that started the login (its binding cookie, found by the response's InResponseTo). Returns the
 * continue response (checked to be `expectStatus`): 303 to the return path with the session cookie.
 */
export async function postAndContinue(
  t: TestApp,
  slug: string,
  xml: string,
  relayState?: string,
  expectStatus = 303,
) {
  const acs = await t
    .http()
    .post(`/saml/${slug}/acs`)
    .type('form')
    .send({
      SAMLResponse: Buffer.from(xml).toString('base64'),
      ...(relayState ? { RelayState: relayState } : {}),
    })
    .expect(303);
  const location = acs.headers.location as string;
  if (!location.startsWith(`/saml/${slug}/continue?code=`))
    throw new Error(`Unexpected ACS redirect ${location}`);
  if (cookieFrom(acs)) throw new Error('The ACS must not set the session cookie itself');
  const res = await followContinue(t, location, xml);
  if (res.status !== expectStatus)
    throw new Error(`continue answered ${res.status}, expected ${expectStatus}: ${res.text.slice(0, 300)}`);
  return res;
}

/** GETs the continue URL as the browser that started the login answered by `xml` (if it was solicited). */
export async function followContinue(t: TestApp, location: string, xml: string) {
  const inResponseTo = /InResponseTo="([^"]+)"/.exec(xml)?.[1];
  const browser = inResponseTo ? browserCookies.get(inResponseTo) : undefined;
  const next = t.http().get(location);
  return browser ? next.set('Cookie', browser) : next;
}

/**
 * Registers an app (authorization code, `redirectUri`) and a LoginClient that signs in to it through
 * `connection`, against the test app's own port (started with `listen: true`).
 */
export async function appLoginClient(
  t: TestApp,
  connection: SamlConnectionFixture,
  name: string,
  redirectUri: string,
): Promise<{ login: LoginClient; client: { clientId: string; clientSecret: string } }> {
  const client = (
    await t.admin
      .post('/api/v1/clients')
      .send({ name, redirectUris: [redirectUri] })
      .expect(201)
  ).body as { clientId: string; clientSecret: string };
  const login = new LoginClient({
    publicBase: t.config.baseUrl,
    instances: () => [`http://127.0.0.1:${t.config.port}`],
    connection,
    client: { ...client, redirectUri },
  });
  return { login, client };
}
