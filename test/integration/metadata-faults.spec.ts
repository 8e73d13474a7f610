import { MetadataServer } from '../support/metadata-server';
import { postAndContinue, reasonOf, startLogin } from '../support/saml-flow';
import { generateTestKeyPair, signMetadata, TestIdp } from '../support/saml-test-idp';
import { databaseKinds, startTestApp, TestApp } from '../support/test-app';

/**
 * The IdP's metadata URL fails during a refresh (down, garbage, a signature by the wrong key): logins go on
 * with the last good metadata, and the failure shows on the connection and in the metrics.
 */
describe.each(databaseKinds())('metadata URL faults on %s', (kind) => {
  let t: TestApp;
  const server = new MetadataServer();
  let url: string;
  let idp: TestIdp;
  let metadataSigner: Awaited<ReturnType<typeof generateTestKeyPair>>;
  let id: string;

  beforeAll(async () => {
    t = await startTestApp(kind);
    url = `${await server.start()}/idp/metadata`;
    [idp, metadataSigner] = await Promise.all([
      generateTestKeyPair('IdP').then(
        (keys) => new TestIdp({ entityId: 'https://idp-mdf.test/metadata', keys }),
      ),
      generateTestKeyPair('IdP metadata signer'),
    ]);
  });
  afterAll(async () => {
    await t?.close();
    await server.stop();
  });

  async function login(signedBy: TestIdp, status = 303): Promise<string | undefined> {
    const { requestId } = await startLogin(t, 'mdf');
    const xml = signedBy.responseXml({
      spEntityId: `${t.config.baseUrl}/saml/mdf/metadata`,
      acsUrl: `${t.config.baseUrl}/saml/mdf/acs`,
      inResponseTo: requestId,
      nameId: 'mdf-0001',
      attributes: { email: 'mdf@example.com' },
    }) as string;
    if (status === 303) {
      await postAndContinue(t, 'mdf', xml);
      return undefined;
    }
    const res = await t
      .http()
      .post('/saml/mdf/acs')
      .type('form')
      .send({ SAMLResponse: Buffer.from(xml).toString('base64') })
      .expect(status);
    return reasonOf(res.text);
  }

  const refresh = async () =>
    (await t.admin.post(`/api/v1/connections/${id}/metadata/refresh`).expect(200)).body as {
      metadata: { status: string; lastRefreshError: { code: string } | null };
    };

  it('imports signed metadata from a URL with a pinned signing certificate', async () => {
    server.body = signMetadata(idp.metadataXml(), metadataSigner);
    const res = await t.admin
      .post('/api/v1/connections')
      .send({
        slug: 'mdf',
        name: 'Metadata faults',
        metadataUrl: url,
        metadataSigningCertificate: metadataSigner.certificatePem,
      })
      .expect(201);
    id = res.body.id;
    expect(res.body.metadata.status).toBe('ok');
    await login(idp);
  });

  it('keeps logins working on the last good metadata through every kind of refresh failure', async () => {
    const impostor = new TestIdp({ entityId: idp.entityId, keys: await generateTestKeyPair('Impostor') });
    const attackerSigner = await generateTestKeyPair('Attacker');
    const faults: Array<[string, () => void, string]> = [
      ['unreachable', () => (server.reset = true), 'metadata_url_unreachable'],
      [
        'down for maintenance',
        () => ((server.reset = false), (server.status = 503), (server.body = 'maintenance')),
        'metadata_url_http_error',
      ],
      ['garbage', () => ((server.status = 200), (server.body = '\u0000<not xml')), 'metadata_malformed_xml'],
      ['unsigned', () => (server.body = impostor.metadataXml()), 'metadata_signature_missing'],
      [
        'signed by the wrong key',
        () => (server.body = signMetadata(impostor.metadataXml(), attackerSigner)),
        'metadata_signature_invalid',
      ],
      [
        'tampered after signing',
        () =>
          (server.body = signMetadata(idp.metadataXml(), metadataSigner).replace(
            idp.keys.certificateBase64,
            impostor.keys.certificateBase64,
          )),
        'metadata_signature_invalid',
      ],
    ];
    for (const [, setup, code] of faults) {
      setup();
      const res = await refresh();
      expect({ status: res.metadata.status, code: res.metadata.lastRefreshError?.code }).toEqual({
        status: 'refresh_failed',
        code,
      });
      await login(idp); // the last good metadata still works
      expect(await login(impostor, 400)).toBe('saml_signature_invalid'); // the bad document changed nothing
    }
    const metrics = (await t.http().get('/metrics').expect(200)).text;
    expect(metrics).toContain('bridge_metadata_status{connection="mdf",status="refresh_failed"} 0');
    for (const code of new Set(faults.map((f) => f[2])))
      expect(metrics).toMatch(
        new RegExp(`bridge_metadata_refreshes_total\\{connection="mdf",result="${code}"\\} [1-9]`),
      );
  });

  it('recovers on the next good refresh', async () => {
    server.status = 200;
    server.body = signMetadata(idp.metadataXml(), metadataSigner);
    const res = await refresh();
    expect(res.metadata).toMatchObject({ status: 'ok', lastRefreshError: null });
    const metrics = (await t.http().get('/metrics').expect(200)).text;
    expect(metrics).toContain('bridge_metadata_status{connection="mdf",status="ok"} 1');
    await login(idp);
  });
});
