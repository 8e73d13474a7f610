import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { ConnectionsService } from '../../src/connections/connections.service';
import { MetadataServer } from '../support/metadata-server';
import { databaseKinds, FIXTURES, startTestApp, TestApp, TEST_ADMIN_KEY } from '../support/test-app';

const md = (name: string) => readFileSync(join(FIXTURES, 'metadata', name), 'utf8');
const ENTRA = md('entra-id__federationmetadata__signed.xml');
const OKTA = md('okta__metadata__2024.xml');
const OKTA_ENTITY = 'http://www.okta.com/exkdoocxa1VmjpXmX697';
const ENTRA_ENTITY = 'https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/';

describe.each(databaseKinds())('connections API on %s', (kind) => {
  let t: TestApp;
  const logs: string[] = [];
  const metadataServer = new MetadataServer();
  let metadataBase: string;

  beforeAll(async () => {
    t = await startTestApp(kind, {}, { write: (line: string) => void logs.push(line) });
    metadataBase = await metadataServer.start();
  });
  afterAll(async () => {
    await metadataServer.stop();
    await t?.close();
  });

  const countConnections = async () =>
    (await t.admin.get('/api/v1/connections').expect(200)).body.total as number;

  it('registers a connection from Entra ID metadata and returns the SP details for the customer', async () => {
    const res = await t.admin
      .post('/api/v1/connections')
      .send({
        slug: 'acme',
        name: 'Acme (Entra ID)',
        metadataXml: ENTRA,
        domains: ['Acme.com'],
        preset: 'entra',
      })
      .expect(201);
    const c = res.body;
    expect(c.sp).toEqual({
      entityId: 'http://bridge.test/saml/acme/metadata',
      acsUrl: 'http://bridge.test/saml/acme/acs',
      sloUrl: 'http://bridge.test/saml/acme/slo',
      metadataUrl: 'http://bridge.test/saml/acme/metadata',
    });
    expect(c.idp.entityId).toBe(ENTRA_ENTITY);
    expect(c.idp.ssoUrls['HTTP-Redirect']).toMatch(/^https:\/\/login\.microsoftonline\.com\/.+\/saml2$/);
    expect(c.idp.ssoUrls['HTTP-POST']).toBe(c.idp.ssoUrls['HTTP-Redirect']);
    expect(c.idp.sloUrls['HTTP-Redirect']).toBeDefined();
    expect(c.idp.certificates).toHaveLength(1);
    expect(c.idp.certificates[0]).toMatchObject({
      subject: expect.stringContaining('Microsoft Azure Federated SSO Certificate'),
      notAfter: expect.stringMatching(/^2026-11-16/),
      fingerprint: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
    });
    expect(c.idp.wantAuthnRequestsSigned).toBe(false);
    expect(c.domains).toEqual(['acme.com']);
    expect(c.preset).toBe('entra');
    expect(c.options.requiredSignature).toBe('assertion');
    expect(c.options.clockSkewSeconds).toBe(180);
    expect(c.allowIdpInitiated).toBe(false);
    expect(c.metadata).toMatchObject({ source: 'xml', status: 'ok', signature: 'present-unverified' });

    const got = await t.admin.get(`/api/v1/connections/${c.id}`).expect(200);
    expect(got.body.idp.entityId).toBe(ENTRA_ENTITY);
  });

  it('rejects a duplicate slug with 409 slug_taken', async () => {
    const res = await t.admin
      .post('/api/v1/connections')
      .send({ slug: 'acme', name: 'Again', metadataXml: OKTA })
      .expect(409);
    expect(res.body.code).toBe('slug_taken');
  });

  it.each([
    ['an invalid slug', { slug: 'Not A Slug!', name: 'x', metadataXml: OKTA }, 400, 'validation_failed'],
    [
      'a slug with a leading hyphen',
      { slug: '-acme', name: 'x', metadataXml: OKTA },
      400,
      'validation_failed',
    ],
    ['no metadata', { slug: 'nometa', name: 'x' }, 400, 'metadata_required'],
    [
      'both XML and URL',
      { slug: 'both', name: 'x', metadataXml: OKTA, metadataUrl: 'https://x.test/m' },
      400,
      'metadata_source_conflict',
    ],
    [
      'an unknown preset',
      { slug: 'p', name: 'x', metadataXml: OKTA, preset: 'ping' },
      400,
      'validation_failed',
    ],
    ['an unknown field', { slug: 'u', name: 'x', metadataXml: OKTA, admin: true }, 400, 'validation_failed'],
    [
      'an invalid domain',
      { slug: 'd', name: 'x', metadataXml: OKTA, domains: ['not a domain'] },
      400,
      'invalid_domain',
    ],
    [
      'malformed XML',
      { slug: 'm', name: 'x', metadataXml: '<EntityDescriptor><oops>' },
      400,
      'metadata_malformed_xml',
    ],
    [
      'a DOCTYPE (XXE)',
      {
        slug: 'xxe',
        name: 'x',
        metadataXml: '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
      },
      400,
      'metadata_doctype_forbidden',
    ],
    [
      'billion laughs',
      {
        slug: 'lol',
        name: 'x',
        metadataXml: `<!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i ? i : ''};`.repeat(10)}">`).join('')}]><lolz>&lol9;</lolz>`,
      },
      400,
      'metadata_doctype_forbidden',
    ],
    [
      'SP metadata (no IDPSSODescriptor)',
      {
        slug: 'sp',
        name: 'x',
        metadataXml:
          '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>',
      },
      400,
      'metadata_no_idp_descriptor',
    ],
    [
      'HTML instead of metadata',
      { slug: 'html', name: 'x', metadataXml: '<html><body>Sign in</body></html>' },
      400,
      'metadata_not_saml',
    ],
    [
      'a non-https metadata URL scheme',
      { slug: 'ftp', name: 'x', metadataUrl: 'ftp://idp.test/metadata' },
      400,
      'metadata_url_invalid',
    ],
  ])('rejects %s with a clear 4xx and writes nothing', async (_label, body, status, code) => {
    const before = await countConnections();
    const res = await t.admin.post('/api/v1/connections').send(body).expect(status);
    expect(res.body.code).toBe(code);
    expect(typeof res.body.message).toBe('string');
    expect(res.body.message.length).toBeGreaterThan(10);
    expect(JSON.stringify(res.body)).not.toMatch(/at .+\.(ts|js):\d+/);
    expect(await countConnections()).toBe(before);
  });

  it('answers a 50 MB body with 413 payload_too_large', async () => {
    const res = await t.admin
      .post('/api/v1/connections')
      .set('content-type', 'application/json')
      .send(`{"slug":"big","name":"x","metadataXml":"${'a'.repeat(50 * 1024 * 1024)}"}`)
      .expect(413);
    expect(res.body.code).toBe('payload_too_large');
  });

  it('answers malformed JSON with 400 malformed_json', async () => {
    const res = await t.admin
      .post('/api/v1/connections')
      .set('content-type', 'application/json')
      .send('{"slug": "x", ')
      .expect(400);
    expect(res.body.code).toBe('malformed_json');
  });

  it('answers an unreachable metadata URL with 422 metadata_url_unreachable', async () => {
    const res = await t.admin
      .post('/api/v1/connections')
      .send({ slug: 'down', name: 'x', metadataUrl: 'http://127.0.0.1:1/metadata' })
      .expect(422);
    expect(res.body.code).toBe('metadata_url_unreachable');
  });

  it('answers a metadata URL that serves something other than XML with a 4xx', async () => {
    metadataServer.status = 200;
    metadataServer.contentType = 'text/html';
    metadataServer.body = '<!doctype html><html><body>Login</body></html>';
    const res = await t.admin
      .post('/api/v1/connections')
      .send({ slug: 'notxml', name: 'x', metadataUrl: `${metadataBase}/html` })
      .expect(400);
    expect(res.body.code).toBe('metadata_not_saml');
    metadataServer.body = 'just text';
    const res2 = await t.admin
      .post('/api/v1/connections')
      .send({ slug: 'notxml', name: 'x', metadataUrl: `${metadataBase}/text` })
      .expect(400);
    expect(res2.body.code).toBe('metadata_malformed_xml');
    metadataServer.status = 404;
    const res3 = await t.admin
      .post('/api/v1/connections')
      .send({ slug: 'notxml', name: 'x', metadataUrl: `${metadataBase}/missing` })
      .expect(422);
    expect(res3.body.code).toBe('metadata_url_http_error');
  });

  it('lists connections with pagination and a filter', async () => {
    for (const slug of ['page-a', 'page-b', 'page-c']) {
      await t.admin
        .post('/api/v1/connections')
        .send({ slug, name: `Page ${slug}`, metadataXml: OKTA })
        .expect(201);
    }
    const all = await t.admin.get('/api/v1/connections').expect(200);
    const page = await t.admin.get('/api/v1/connections?limit=2&offset=1').expect(200);
    expect(page.body.items).toHaveLength(2);
    expect(page.body.total).toBe(all.body.total);
    expect(page.body.items[0].id).toBe(all.body.items[1].id);
    const filtered = await t.admin.get('/api/v1/connections?q=page-').expect(200);
    expect(filtered.body.items.map((c: { slug: string }) => c.slug)).toEqual(['page-a', 'page-b', 'page-c']);
    const bad = await t.admin.get('/api/v1/connections?limit=100000').expect(400);
    expect(bad.body.code).toBe('validation_failed');
  });

  it('updates domains, preset and options; the slug cannot change', async () => {
    const created = await t.admin
      .post('/api/v1/connections')
      .send({ slug: 'upd', name: 'Upd', metadataXml: OKTA, preset: 'okta' })
      .expect(201);
    const id = created.body.id;
    const res = await t.admin
      .patch(`/api/v1/connections/${id}`)
      .send({ domains: ['upd.example'], options: { clockSkewSeconds: 60 }, allowIdpInitiated: true })
      .expect(200);
    expect(res.body.domains).toEqual(['upd.example']);
    expect(res.body.options.clockSkewSeconds).toBe(60);
    expect(res.body.allowIdpInitiated).toBe(true);
    const preset = await t.admin.patch(`/api/v1/connections/${id}`).send({ preset: 'google' }).expect(200);
    expect(preset.body.options.requiredSignature).toBe('assertion');
    const slug = await t.admin.patch(`/api/v1/connections/${id}`).send({ slug: 'other' }).expect(400);
    expect(slug.body.code).toBe('slug_immutable');
    const bad = await t.admin
      .patch(`/api/v1/connections/${id}`)
      .send({ options: { clockSkewSeconds: 100000 } })
      .expect(400);
    expect(bad.body.code).toBe('validation_failed');
  });

  it('replaces metadata with a raw XML body or a multipart upload, and refuses other media types', async () => {
    const created = await t.admin
      .post('/api/v1/connections')
      .send({ slug: 'replace', name: 'Replace', metadataXml: OKTA })
      .expect(201);
    const id = created.body.id;
    const raw = await t.admin
      .put(`/api/v1/connections/${id}/metadata`)
      .set('content-type', 'application/samlmetadata+xml')
      .send(ENTRA)
      .expect(200);
    expect(raw.body.idp.entityId).toBe(ENTRA_ENTITY);
    const upload = await t.admin
      .put(`/api/v1/connections/${id}/metadata`)
      .attach('file', Buffer.from(OKTA), { filename: 'metadata.xml', contentType: 'application/xml' })
      .expect(200);
    expect(upload.body.idp.entityId).toBe(OKTA_ENTITY);
    const json = await t.admin.put(`/api/v1/connections/${id}/metadata`).send({ xml: OKTA }).expect(415);
    expect(json.body.code).toBe('unsupported_media_type');
    const hostile = await t.admin
      .put(`/api/v1/connections/${id}/metadata`)
      .set('content-type', 'text/xml')
      .send('<!DOCTYPE x [<!ENTITY e SYSTEM "http://attacker.test/">]><x>&e;</x>')
      .expect(400);
    expect(hostile.body.code).toBe('metadata_doctype_forbidden');
    const after = await t.admin.get(`/api/v1/connections/${id}`).expect(200);
    expect(after.body.idp.entityId).toBe(OKTA_ENTITY);
  });

  it('chooses an entity inside an EntitiesDescriptor and says which are available', async () => {
    const entities = md('shibboleth-idp__testshib__entities.xml');
    const ok = await t.admin
      .post('/api/v1/connections')
      .send({ slug: 'testshib', name: 'TestShib', metadataXml: entities })
      .expect(201);
    expect(ok.body.idp.entityId).toBe('https://idp.testshib.org/idp/shibboleth');
    const missing = await t.admin
      .post('/api/v1/connections')
      .send({
        slug: 'testshib2',
        name: 'TestShib',
        metadataXml: entities,
        metadataEntityId: 'https://nope.test',
      })
      .expect(400);
    expect(missing.body.code).toBe('metadata_entity_not_found');
    expect(missing.body.details.available).toContain('https://idp.testshib.org/idp/shibboleth');
  });

  it('deletes a connection', async () => {
    const created = await t.admin
      .post('/api/v1/connections')
      .send({ slug: 'gone', name: 'Gone', metadataXml: OKTA })
      .expect(201);
    await t.admin.delete(`/api/v1/connections/${created.body.id}`).expect(204);
    const res = await t.admin.get(`/api/v1/connections/${created.body.id}`).expect(404);
    expect(res.body.code).toBe('connection_not_found');
    await t.admin.delete(`/api/v1/connections/${created.body.id}`).expect(404);
    await t.admin.get('/api/v1/connections/not-a-uuid').expect(400);
  });

  describe('metadata URL', () => {
    let id: string;
    const okta2020 = md('okta__metadata__2020.xml');

    it('imports from a URL and schedules a refresh', async () => {
      metadataServer.status = 200;
      metadataServer.contentType = 'application/samlmetadata+xml';
      metadataServer.body = OKTA;
      const res = await t.admin
        .post('/api/v1/connections')
        .send({ slug: 'from-url', name: 'From URL', metadataUrl: `${metadataBase}/okta`, preset: 'okta' })
        .expect(201);
      id = res.body.id;
      expect(res.body.idp.entityId).toBe(OKTA_ENTITY);
      expect(res.body.metadata).toMatchObject({ source: 'url', status: 'ok', lastRefreshError: null });
      const next = new Date(res.body.metadata.nextRefreshAt).getTime();
      expect(next).toBeGreaterThan(Date.now() + 23 * 3600_000);
    });

    it('keeps the last good metadata when a refresh fails, and records why', async () => {
      for (const [setup, code] of [
        [() => ((metadataServer.status = 503), (metadataServer.body = 'down')), 'metadata_url_http_error'],
        [
          () => ((metadataServer.status = 200), (metadataServer.body = 'garbage <<<')),
          'metadata_malformed_xml',
        ],
        [() => (metadataServer.body = okta2020), 'metadata_entity_changed'],
      ] as Array<[() => void, string]>) {
        setup();
        const res = await t.admin.post(`/api/v1/connections/${id}/metadata/refresh`).expect(200);
        expect(res.body.metadata.status).toBe('refresh_failed');
        expect(res.body.metadata.lastRefreshError.code).toBe(code);
        expect(res.body.idp.entityId).toBe(OKTA_ENTITY);
        expect(res.body.idp.certificates).toHaveLength(1);
      }
    });

    it('recovers on the next good refresh, and a new certificate joins the old one', async () => {
      const before = await t.admin.get(`/api/v1/connections/${id}`).expect(200);
      const oldCert = before.body.idp.certificates[0].fingerprint;
      // The IdP publishes a second signing certificate next to the current one (rotation).
      const otherCert = /<(?:ds:)?X509Certificate>([^<]+)</.exec(okta2020)?.[1] as string;
      metadataServer.status = 200;
      metadataServer.body = OKTA.replace(
        /(<md:KeyDescriptor use="signing">)/,
        `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${otherCert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>$1`,
      );
      const res = await t.admin.post(`/api/v1/connections/${id}/metadata/refresh`).expect(200);
      expect(res.body.metadata).toMatchObject({ status: 'ok', lastRefreshError: null });
      expect(res.body.idp.certificates.map((c: { fingerprint: string }) => c.fingerprint)).toContain(oldCert);
      expect(res.body.idp.certificates).toHaveLength(2);
    });

    it('refreshes due connections from the scheduler, once per due connection', async () => {
      const ds = t.app.get(DataSource);
      await ds.query(
        `UPDATE connections SET metadata_next_refresh_at = now() - interval '1 minute' WHERE id = $1`,
        [id],
      );
      metadataServer.body = OKTA;
      const requests = metadataServer.requests;
      const service = t.app.get(ConnectionsService);
      const [first, second] = await Promise.all([service.refreshDue(), service.refreshDue()]);
      const outcomes = [...first, ...second].filter((o) => o.id === id);
      expect(outcomes).toEqual([{ id, slug: 'from-url', ok: true }]);
      expect(metadataServer.requests - requests).toBe(1);
      const after = await t.admin.get(`/api/v1/connections/${id}`).expect(200);
      expect(after.body.idp.certificates).toHaveLength(1);
    });

    it('reports an on-demand refresh of an uploaded-metadata connection as a 400', async () => {
      const created = await t.admin
        .post('/api/v1/connections')
        .send({ slug: 'no-url', name: 'x', metadataXml: OKTA })
        .expect(201);
      const res = await t.admin.post(`/api/v1/connections/${created.body.id}/metadata/refresh`).expect(400);
      expect(res.body.code).toBe('metadata_url_not_set');
    });
  });

  it('never writes an admin key into the logs', () => {
    const all = logs.join('\n');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(TEST_ADMIN_KEY);
  });
});
