import { createTestConnection } from '../support/saml-flow';
import { databaseKinds, startTestApp, TestApp, TEST_ADMIN_KEY } from '../support/test-app';

/** Access-log lines say what a request was about: connection, client, outcome; never a secret. */
describe('access log', () => {
  let t: TestApp;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    t = await startTestApp(
      databaseKinds()[0],
      {},
      { write: (line: string) => void lines.push(JSON.parse(line)) },
    );
  });
  afterAll(async () => t?.close());

  const accessLine = (path: string) =>
    lines.filter((l) => (l.req as { path?: string } | undefined)?.path === path).pop() as Record<
      string,
      unknown
    >;

  it('records the connection and the rejection reason of a refused SAML response', async () => {
    const c = await createTestConnection(t, 'logged-co');
    await t
      .http()
      .post(`/saml/${c.slug}/acs`)
      .type('form')
      .send({ SAMLResponse: 'bm90IHhtbA==' })
      .expect(400);
    expect(accessLine(`/saml/${c.slug}/acs`)).toMatchObject({
      connection: 'logged-co',
      outcome: 'saml_malformed_xml',
      res: { statusCode: 400 },
      level: 'warn',
    });
  });

  it('records the client, grant type and outcome of token requests, and no secret', async () => {
    const app = (
      await t.admin
        .post('/api/v1/clients')
        .send({ name: 'Logged', grantTypes: ['client_credentials'] })
        .expect(201)
    ).body;
    const basic = `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`;
    await t
      .http()
      .post('/oidc/token')
      .set('Authorization', basic)
      .type('form')
      .send({ grant_type: 'client_credentials', scope: 'api' })
      .expect(200);
    expect(accessLine('/oidc/token')).toMatchObject({
      client: app.clientId,
      grant: 'client_credentials',
      outcome: 'success',
    });
    const wrong = `Basic ${Buffer.from(`${app.clientId}:sbs_wrong`).toString('base64')}`;
    await t
      .http()
      .post('/oidc/token')
      .set('Authorization', wrong)
      .type('form')
      .send({ grant_type: 'client_credentials' })
      .expect(401);
    const all = JSON.stringify(lines);
    expect(all).not.toContain(app.clientSecret);
    expect(all).not.toContain(TEST_ADMIN_KEY);
  });
});
