import { createTestConnection, postAndContinue, startLogin } from '../support/saml-flow';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The embedded database under concurrent load: PGlite is a single session, and pglite-socket interleaves
 * the protocol messages of concurrent connections, so the bridge must queue its queries itself (one pooled
 * connection). Regression test: with a pool of 8, concurrent logins failed with "bind message supplies 1
 * parameters, but prepared statement requires 2" and then a desynchronised protocol.
 */
describe('the embedded database under concurrent logins and token requests', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('embedded');
  });
  afterAll(async () => t?.close());

  it('completes every flow, with nothing out of order', async () => {
    const saml = await createTestConnection(t, 'busy-co');
    const svc = (
      await t.admin
        .post('/api/v1/clients')
        .send({ name: 'Busy service', grantTypes: ['client_credentials'] })
        .expect(201)
    ).body as { clientId: string; clientSecret: string };
    const login = async (i: number) => {
      const { requestId } = await startLogin(t, saml.slug);
      const xml = saml.idp.responseXml({
        spEntityId: saml.spEntityId,
        acsUrl: saml.acsUrl,
        inResponseTo: requestId,
        nameId: `busy-${i % 8}`,
        attributes: { email: `busy-${i % 8}@example.com` },
      }) as string;
      await postAndContinue(t, saml.slug, xml);
    };
    const token = () =>
      t
        .http()
        .post('/oidc/token')
        .auth(svc.clientId, svc.clientSecret)
        .type('form')
        .send({ grant_type: 'client_credentials', scope: 'api' })
        .expect(200);
    const results = await Promise.allSettled([
      ...Array.from({ length: 24 }, (_, i) => login(i)),
      ...Array.from({ length: 24 }, () => token()),
      ...Array.from({ length: 8 }, () => t.admin.get('/api/v1/users?limit=5').expect(200)),
    ]);
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    const users = await t.admin.get(`/api/v1/users?connectionId=${saml.id}`).expect(200);
    expect(users.body.items).toHaveLength(8);
  }, 60_000);
});
