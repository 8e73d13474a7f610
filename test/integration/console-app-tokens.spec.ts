import { startTestApp, TEST_ADMIN_KEY, type TestApp } from '../support/test-app';

const REDIRECT = 'https://tokens.example.com/cb';

/** The console's app form: an app's token settings (format, and what access and ID tokens are signed with). */
describe('console: token settings of an app', () => {
  let t: TestApp;
  let cookie: string;
  beforeAll(async () => {
    t = await startTestApp('embedded');
    const signIn = await t
      .http()
      .post('/admin/sign-in')
      .set('Origin', t.config.baseUrl)
      .type('form')
      .send({ key: TEST_ADMIN_KEY, next: '/admin/apps' })
      .expect(303);
    cookie = (signIn.headers['set-cookie'] as unknown as string[])
      .find((c) => c.startsWith('admin_console='))
      ?.split(';')[0] as string;
  }, 120_000);
  afterAll(async () => t?.close());

  const csrfOf = async (path: string) => {
    const form = await t.http().get(path).set('Cookie', cookie).expect(200);
    return { text: form.text, csrf: /name="_csrf" value="([^"]+)"/.exec(form.text)?.[1] as string };
  };
  const post = (path: string, fields: Record<string, string>) =>
    t.http().post(path).set('Cookie', cookie).set('Origin', t.config.baseUrl).type('form').send(fields);
  const base = { redirectUris: REDIRECT, grantTypes: 'authorization_code,refresh_token' };

  it('offers them with the defaults selected, registers an app with ES256 tokens and shows them', async () => {
    const { text, csrf } = await csrfOf('/admin/apps/new');
    for (const name of ['accessTokenFormat', 'accessTokenSigningAlg', 'idTokenSignedResponseAlg'])
      expect(text).toContain(`name="${name}"`);
    expect(text).toMatch(/<option value="RS256" selected/);
    expect(text).toMatch(/<option value="jwt" selected/);

    const created = await post('/admin/apps', {
      _csrf: csrf,
      name: 'ES256 app',
      ...base,
      accessTokenFormat: 'jwt',
      accessTokenSigningAlg: 'ES256',
      idTokenSignedResponseAlg: 'ES256',
    });
    // Registered: the page with the secret (shown once).
    expect(created.status).toBe(201);
    const apps = await t.admin.get('/api/v1/clients').expect(200);
    const clientId = (apps.body.items as Array<{ name: string; clientId: string }>).find(
      (a) => a.name === 'ES256 app',
    )?.clientId as string;
    const api = await t.admin.get(`/api/v1/clients/${clientId}`).expect(200);
    expect(api.body).toMatchObject({
      accessTokenFormat: 'jwt',
      accessTokenSigningAlg: 'ES256',
      idTokenSignedResponseAlg: 'ES256',
    });
    const page = await t.http().get(`/admin/apps/${clientId}`).set('Cookie', cookie).expect(200);
    expect(page.text).toContain('Access tokens <code>jwt</code> signed with <code>ES256</code>');
    expect(page.text).toContain('ID tokens signed with <code>ES256</code>');

    // Editing changes them; the other settings stay as they were.
    const edit = await csrfOf(`/admin/apps/${clientId}`);
    await post(`/admin/apps/${clientId}`, {
      _csrf: edit.csrf,
      name: 'ES256 app',
      ...base,
      accessTokenFormat: 'opaque',
      accessTokenSigningAlg: 'RS256',
      idTokenSignedResponseAlg: 'ES256',
    }).expect(303);
    const after = await t.admin.get(`/api/v1/clients/${clientId}`).expect(200);
    expect(after.body).toMatchObject({
      accessTokenFormat: 'opaque',
      accessTokenSigningAlg: 'RS256',
      idTokenSignedResponseAlg: 'ES256',
      redirectUris: [REDIRECT],
    });
  });

  it('refuses a value that is not one of the choices at its field, keeping what was typed', async () => {
    const { csrf } = await csrfOf('/admin/apps/new');
    const refused = await post('/admin/apps', {
      _csrf: csrf,
      name: 'Forged <alg>',
      ...base,
      accessTokenSigningAlg: 'HS256',
    }).expect(400);
    expect(refused.text).toContain('value="Forged &lt;alg&gt;"');
    expect(refused.text).toMatch(/id="accessTokenSigningAlg"[^>]*aria-invalid="true"/);
    const apps = await t.admin.get('/api/v1/clients').expect(200);
    expect(apps.body.items.map((a: { name: string }) => a.name)).not.toContain('Forged <alg>');
  });
});
