import { inflateRawSync } from 'node:zlib';
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

/** Starts an SP-initiated login and returns the AuthnRequest's ID (from the Redirect-binding URL). */
export async function startLogin(
  t: TestApp,
  slug: string,
  returnTo?: string,
): Promise<{ requestId: string; location: string; xml: string }> {
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
  return { requestId, location, xml };
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
