import { inflateRawSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import {
  cookieFrom,
  createTestConnection,
  postAndContinue,
  reasonOf,
  SamlConnectionFixture,
  startLogin,
} from '../support/saml-flow';
import { NAMEID_EMAIL, NAMEID_PERSISTENT } from '../support/saml-test-idp';
import { databaseKinds, startTestApp, TestApp } from '../support/test-app';
import { need } from '../support/defined';

const ATTRS = {
  email: 'alice@example.com',
  givenName: 'Alice',
  sn: 'Liddell',
  groups: ['staff', 'admins'],
};

describe.each(databaseKinds())('SAML service provider on %s', (kind) => {
  let t: TestApp;
  let c: SamlConnectionFixture;

  beforeAll(async () => {
    t = await startTestApp(kind);
    c = await createTestConnection(t, 'acme');
  });
  afterAll(async () => t?.close());

  const login = (xml: string, relayState?: string) => postAndContinue(t, c.slug, xml, relayState);
  const post = (xml: string, relayState?: string) =>
    t
      .http()
      .post(`/saml/${c.slug}/acs`)
      .type('form')
      .send({
        SAMLResponse: Buffer.from(xml).toString('base64'),
        ...(relayState ? { RelayState: relayState } : {}),
      });

  it('publishes SP metadata with the ACS, both SLO bindings, the SP certificate and NameID formats', async () => {
    const res = await t.http().get(`/saml/${c.slug}/metadata`).expect(200);
    expect(res.headers['content-type']).toContain('application/samlmetadata+xml');
    expect(res.text).toContain(`entityID="${c.spEntityId}"`);
    expect(res.text).toContain(
      `<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${c.acsUrl}"`,
    );
    expect(res.text).toContain('HTTP-Redirect" Location="http://bridge.test/saml/acme/slo"');
    expect(res.text).toContain('HTTP-POST" Location="http://bridge.test/saml/acme/slo"');
    expect(res.text).toContain('<md:KeyDescriptor use="signing">');
    expect(res.text).toContain('<md:KeyDescriptor use="encryption">');
    expect(res.text).toContain('nameid-format:persistent');
    await t.http().get('/saml/nope/metadata').expect(404);
  });

  it('builds AuthnRequests with ForceAuthn, NameIDPolicy, RequestedAuthnContext, a signature when asked, or over POST', async () => {
    const opts = await createTestConnection(t, 'options-co', {
      options: {
        forceAuthn: true,
        nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
        requestedAuthnContext: ['urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract'],
        signAuthnRequests: true,
      },
    });
    const { xml, location } = await startLogin(t, opts.slug);
    expect(xml).toContain('ForceAuthn="true"');
    expect(xml).toContain('Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"');
    expect(xml).toContain('MobileTwoFactorContract');
    const url = new URL(location);
    expect(url.searchParams.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    expect(url.searchParams.get('Signature')).toBeTruthy();
    expect(url.searchParams.get('RelayState')).toMatch(/^_[0-9a-f]{40}$/);

    await t.admin
      .patch(`/api/v1/connections/${opts.id}`)
      .send({ options: { authnRequestBinding: 'HTTP-POST' } })
      .expect(200);
    const form = await t.http().get(`/saml/${opts.slug}/login`).expect(200);
    expect(form.headers['content-type']).toContain('text/html');
    expect(form.text).toContain(`action="${opts.idp.ssoUrl}"`);
    expect(form.text).toContain('name="SAMLRequest"');
    const nonce = /script-src 'nonce-([^']+)'/.exec(
      need(form.headers['content-security-policy'], 'Content-Security-Policy'),
    )?.[1];
    expect(nonce).toBeTruthy();
    expect(form.text).toContain(`<script nonce="${nonce}">`);
    const posted = Buffer.from(
      /name="SAMLRequest" value="([^"]+)"/.exec(form.text)?.[1] as string,
      'base64',
    ).toString();
    expect(posted).toContain('<samlp:AuthnRequest');
    expect(posted).toContain('<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">');

    const bad = await t.http().get(`/saml/${opts.slug}/login?returnTo=https://evil.example/`).expect(400);
    expect(reasonOf(bad.text)).toBe('saml_relay_state_invalid');
    await t.http().get(`/saml/${opts.slug}/login?returnTo=//evil.example/`).expect(400);
  });

  it('logs a user in: AuthnRequest → signed response → JIT user → session → returnTo', async () => {
    const { requestId, location, xml } = await startLogin(t, c.slug, '/welcome?x=1');
    expect(location.startsWith(c.idp.ssoUrl)).toBe(true);
    expect(xml).toContain(`AssertionConsumerServiceURL="${c.acsUrl}"`);
    const response = c.idp.responseXml({
      spEntityId: c.spEntityId,
      acsUrl: c.acsUrl,
      inResponseTo: requestId,
      nameId: 'u-1001',
      attributes: ATTRS,
      sessionIndex: 'sess-1',
    }) as string;
    const res = await login(response, requestId);
    expect(res.headers.location).toBe('/welcome?x=1');
    const cookie = cookieFrom(res) as string;
    expect(need(res.headers['set-cookie']?.[0])).toMatch(/HttpOnly/);
    expect(need(res.headers['set-cookie']?.[0])).toMatch(/SameSite=Lax/);

    const me = await t
      .http()
      .get('/saml/session')
      .set('Cookie', cookie)
      .set('Accept', 'application/json')
      .expect(200);
    expect(me.body.user).toMatchObject({
      email: 'alice@example.com',
      emailVerified: true,
      groups: ['staff', 'admins'],
    });
    const users = await t.admin.get(`/api/v1/users?connectionId=${c.id}`).expect(200);
    expect(users.body.items).toHaveLength(1);
    expect(users.body.items[0]).toMatchObject({
      subject: 'u-1001',
      givenName: 'Alice',
      familyName: 'Liddell',
      lastLoginAt: expect.any(String),
    });

    // Replaying the same response: the request ID is single use.
    const replay = await post(response).expect(400);
    expect(reasonOf(replay.text)).toBe('saml_in_response_to_unknown');
    expect(replay.text).toMatch(/Trace id: <code>[0-9a-f-]{36}<\/code>/);
    expect(replay.text).not.toContain('<saml');
  });

  it('binds an SP-initiated login to the browser that started it (login CSRF)', async () => {
    const { requestId } = await startLogin(t, c.slug);
    const response = c.idp.responseXml({
      spEntityId: c.spEntityId,
      acsUrl: c.acsUrl,
      inResponseTo: requestId,
      nameId: 'u-attacker',
      attributes: { email: 'mallory@example.com' },
    }) as string;
    // The attacker's own valid response, auto-posted into the victim's browser (which has no binding
    // cookie for the attacker's login, or another one): the ACS validates it, the continue step refuses.
    const acs = await post(response).expect(303);
    const victim = await t
      .http()
      .get(need(acs.headers.location, 'Location'))
      .set('Cookie', 'bridge_browser=victim-browser-0123456789abcdef012345')
      .expect(403);
    expect(reasonOf(victim.text)).toBe('saml_browser_mismatch');
    expect(cookieFrom(victim)).toBeUndefined();
    // The code is single use: even the right browser cannot use it after that.
    const again = await t.http().get(need(acs.headers.location, 'Location')).expect(400);
    expect(reasonOf(again.text)).toBe('saml_login_not_found');
  });

  it('updates the profile on the next login (removed groups go away) and never shares users across connections', async () => {
    const { requestId } = await startLogin(t, c.slug);
    const response = c.idp.responseXml({
      spEntityId: c.spEntityId,
      acsUrl: c.acsUrl,
      inResponseTo: requestId,
      nameId: 'u-1001',
      attributes: { ...ATTRS, groups: ['staff'], givenName: 'Alicia' },
    }) as string;
    const res = await login(response);
    expect(res.headers.location).toBe('/saml/session');
    const users = await t.admin.get(`/api/v1/users?connectionId=${c.id}`).expect(200);
    const alices = users.body.items.filter((u: { subject: string }) => u.subject === 'u-1001');
    expect(alices).toHaveLength(1);
    expect(alices[0]).toMatchObject({ givenName: 'Alicia', groups: ['staff'] });

    const other = await createTestConnection(t, 'other-co', { domains: ['other.example'] });
    const otherLogin = await startLogin(t, other.slug);
    const otherResponse = other.idp.responseXml({
      spEntityId: other.spEntityId,
      acsUrl: other.acsUrl,
      inResponseTo: otherLogin.requestId,
      nameId: 'u-1001',
      attributes: ATTRS,
    }) as string;
    await postAndContinue(t, other.slug, otherResponse);
    const all = await t.admin.get('/api/v1/users?email=alice@example.com').expect(200);
    expect(all.body.items).toHaveLength(2);
    const foreign = all.body.items.find((u: { connectionId: string }) => u.connectionId === other.id);
    // example.com is not a verified domain of the other connection.
    expect(foreign.emailVerified).toBe(false);
  });

  it('decrypts encrypted assertions with the connection SP key (AES-GCM and AES-CBC, RSA-OAEP)', async () => {
    const keys = await t.admin.get(`/api/v1/connections/${c.id}/sp-keys`).expect(200);
    const spCertificatePem = keys.body.items.find(
      (k: { status: string }) => k.status === 'current',
    ).certificatePem;
    for (const dataAlgorithm of ['aes256-gcm', 'aes256-cbc'] as const) {
      const { requestId } = await startLogin(t, c.slug);
      const response = await c.idp.responseXmlAsync(
        {
          spEntityId: c.spEntityId,
          acsUrl: c.acsUrl,
          inResponseTo: requestId,
          nameId: 'u-enc',
          attributes: ATTRS,
        },
        { sign: 'assertion', encrypt: { spCertificatePem, dataAlgorithm } },
      );
      expect(response).toContain('EncryptedAssertion');
      await login(response);
    }
  });

  it('accepts IdP-initiated logins only when the connection allows them, and rejects their replay', async () => {
    const response = c.idp.responseXml({
      spEntityId: c.spEntityId,
      acsUrl: c.acsUrl,
      nameId: 'u-idp',
      attributes: ATTRS,
    }) as string;
    const refused = await post(response).expect(400);
    expect(reasonOf(refused.text)).toBe('saml_unsolicited_response');
    await t.admin
      .patch(`/api/v1/connections/${c.id}`)
      .send({ allowIdpInitiated: true, options: { idpInitiatedTarget: '/home' } })
      .expect(200);
    const fresh = c.idp.responseXml({
      spEntityId: c.spEntityId,
      acsUrl: c.acsUrl,
      nameId: 'u-idp',
      attributes: ATTRS,
    }) as string;
    const ok = await login(fresh);
    expect(ok.headers.location).toBe('/home');
    const replay = await post(fresh).expect(400);
    expect(reasonOf(replay.text)).toBe('saml_replay');
    const evilRelay = c.idp.responseXml({
      spEntityId: c.spEntityId,
      acsUrl: c.acsUrl,
      nameId: 'u-idp',
      attributes: ATTRS,
    }) as string;
    const relayed = await login(evilRelay, 'https://evil.example/');
    expect(relayed.headers.location).toBe('/home');
    await t.admin.patch(`/api/v1/connections/${c.id}`).send({ allowIdpInitiated: false }).expect(200);
  });

  it('refuses a disabled user and a disabled connection', async () => {
    const users = await t.admin.get(`/api/v1/users?connectionId=${c.id}`).expect(200);
    const alice = users.body.items.find((u: { subject: string }) => u.subject === 'u-1001');
    await t.admin.post(`/api/v1/users/${alice.id}/disable`).expect(200);
    const { requestId } = await startLogin(t, c.slug);
    const response = c.idp.responseXml({
      spEntityId: c.spEntityId,
      acsUrl: c.acsUrl,
      inResponseTo: requestId,
      nameId: 'u-1001',
      attributes: ATTRS,
    }) as string;
    const res = await post(response).expect(403);
    expect(reasonOf(res.text)).toBe('saml_user_disabled');
    await t.admin.post(`/api/v1/users/${alice.id}/enable`).expect(200);

    await t.admin.patch(`/api/v1/connections/${c.id}`).send({ enabled: false }).expect(200);
    const login = await t.http().get(`/saml/${c.slug}/login`).expect(403);
    expect(reasonOf(login.text)).toBe('saml_connection_disabled');
    await t.admin.patch(`/api/v1/connections/${c.id}`).send({ enabled: true }).expect(200);
  });

  it('refuses an email-only NameID under the generic preset, with a clear reason, unless subjectSource=nameid', async () => {
    const { requestId } = await startLogin(t, c.slug);
    const response = c.idp.responseXml({
      spEntityId: c.spEntityId,
      acsUrl: c.acsUrl,
      inResponseTo: requestId,
      nameId: 'bob@example.com',
      nameIdFormat: NAMEID_EMAIL,
    }) as string;
    const res = await post(response).expect(400);
    expect(reasonOf(res.text)).toBe('saml_subject_unstable');
    const traces = await t.admin
      .get(`/api/v1/connections/${c.id}/traces?outcome=failure&limit=1`)
      .expect(200);
    expect(traces.body.items[0]).toMatchObject({ reason: 'saml_subject_unstable', kind: 'acs' });
    expect(traces.body.items[0].samlMessage).toContain('bob@example.com');
  });

  it('previews the attribute mapping without provisioning anyone', async () => {
    const before = (await t.admin.get('/api/v1/users').expect(200)).body.total;
    const assertion = c.idp.assertionXml({
      spEntityId: c.spEntityId,
      acsUrl: c.acsUrl,
      nameId: 'u-preview',
      nameIdFormat: NAMEID_PERSISTENT,
      attributes: ATTRS,
    });
    const res = await t.admin
      .post(`/api/v1/connections/${c.id}/mapping-preview`)
      .send({ assertionXml: assertion })
      .expect(200);
    expect(res.body).toMatchObject({
      ok: true,
      mapped: {
        subject: 'u-preview',
        email: 'alice@example.com',
        emailVerified: true,
        givenName: 'Alice',
        familyName: 'Liddell',
        groups: ['staff', 'admins'],
      },
    });
    expect((await t.admin.get('/api/v1/users').expect(200)).body.total).toBe(before);
    const bad = await t.admin
      .post(`/api/v1/connections/${c.id}/mapping-preview`)
      .send({ assertionXml: '<!DOCTYPE x><x/>' })
      .expect(400);
    expect(bad.body.code).toBe('saml_doctype_forbidden');
  });

  describe('single logout', () => {
    let cookie: string;
    beforeEach(async () => {
      const { requestId } = await startLogin(t, c.slug);
      const response = c.idp.responseXml({
        spEntityId: c.spEntityId,
        acsUrl: c.acsUrl,
        inResponseTo: requestId,
        nameId: 'u-slo',
        attributes: ATTRS,
        sessionIndex: 'idx-slo',
      }) as string;
      cookie = cookieFrom(await login(response)) as string;
      await t.http().get('/saml/session').set('Cookie', cookie).expect(200);
    });

    it('IdP-initiated (Redirect binding): ends the session and answers with a signed LogoutResponse', async () => {
      const request = c.idp.logoutRequestXml({
        spEntityId: c.spEntityId,
        destination: c.sloUrl,
        nameId: 'u-slo',
        sessionIndex: 'idx-slo',
        id: '_logout-1',
      });
      const query = c.idp.redirectBindingQuery('SAMLRequest', request, 'rs-1', { sign: true });
      const res = await t.http().get(`/saml/${c.slug}/slo?${query}`).expect(303);
      const url = new URL(need(res.headers.location, 'Location'));
      expect(url.origin + url.pathname).toBe(c.idp.sloUrl);
      expect(url.searchParams.get('RelayState')).toBe('rs-1');
      expect(url.searchParams.get('Signature')).toBeTruthy();
      const answer = inflateRawSync(
        Buffer.from(url.searchParams.get('SAMLResponse') as string, 'base64'),
      ).toString();
      expect(answer).toContain('InResponseTo="_logout-1"');
      expect(answer).toContain('status:Success');
      await t.http().get('/saml/session').set('Cookie', cookie).expect(401);
    });

    it('IdP-initiated (POST binding) with a signed LogoutRequest', async () => {
      const request = c.idp.logoutRequestXml(
        { spEntityId: c.spEntityId, destination: c.sloUrl, nameId: 'u-slo', sessionIndex: 'idx-slo' },
        { sign: true },
      );
      await t
        .http()
        .post(`/saml/${c.slug}/slo`)
        .type('form')
        .send({ SAMLRequest: Buffer.from(request).toString('base64') })
        .expect(303);
      await t.http().get('/saml/session').set('Cookie', cookie).expect(401);
    });

    it('refuses unsigned, expired, foreign or tampered logout requests, and still answers unknown sessions', async () => {
      const request = c.idp.logoutRequestXml({
        spEntityId: c.spEntityId,
        destination: c.sloUrl,
        nameId: 'u-slo',
        sessionIndex: 'idx-slo',
      });
      const unsigned = await t
        .http()
        .get(`/saml/${c.slug}/slo?${c.idp.redirectBindingQuery('SAMLRequest', request)}`)
        .expect(400);
      expect(reasonOf(unsigned.text)).toBe('saml_signature_missing');
      const signed = c.idp.redirectBindingQuery('SAMLRequest', request, 'a', { sign: true });
      const tampered = await t
        .http()
        .get(`/saml/${c.slug}/slo?${signed.replace('RelayState=a', 'RelayState=b')}`)
        .expect(400);
      expect(reasonOf(tampered.text)).toBe('saml_signature_invalid');
      const old = c.idp.logoutRequestXml({
        spEntityId: c.spEntityId,
        destination: c.sloUrl,
        nameId: 'u-slo',
        now: new Date(Date.now() - 3600_000),
        notOnOrAfter: new Date(Date.now() - 3000_000),
      });
      const expired = await t
        .http()
        .get(
          `/saml/${c.slug}/slo?${c.idp.redirectBindingQuery('SAMLRequest', old, undefined, { sign: true })}`,
        )
        .expect(400);
      expect(reasonOf(expired.text)).toBe('saml_expired');
      const sha1 = await t
        .http()
        .get(
          `/saml/${c.slug}/slo?${c.idp.redirectBindingQuery('SAMLRequest', request, undefined, { sign: true, sigAlg: 'rsa-sha1' })}`,
        )
        .expect(400);
      expect(reasonOf(sha1.text)).toBe('saml_signature_algorithm_forbidden');
      await t.http().get('/saml/session').set('Cookie', cookie).expect(200);
      const unknown = c.idp.logoutRequestXml({
        spEntityId: c.spEntityId,
        destination: c.sloUrl,
        nameId: 'nobody',
      });
      await t
        .http()
        .get(
          `/saml/${c.slug}/slo?${c.idp.redirectBindingQuery('SAMLRequest', unknown, undefined, { sign: true })}`,
        )
        .expect(303);
    });

    it('SP-initiated: signed LogoutRequest with NameID + SessionIndex, then the LogoutResponse returns the user', async () => {
      const start = await t
        .http()
        .get(`/saml/${c.slug}/logout?returnTo=/bye`)
        .set('Cookie', cookie)
        .expect(303);
      await t.http().get('/saml/session').set('Cookie', cookie).expect(401);
      const url = new URL(need(start.headers.location, 'Location'));
      expect(url.searchParams.get('Signature')).toBeTruthy();
      const request = inflateRawSync(
        Buffer.from(url.searchParams.get('SAMLRequest') as string, 'base64'),
      ).toString();
      expect(request).toContain('>u-slo</saml:NameID>');
      expect(request).toContain('idx-slo');
      const id = /ID="([^"]+)"/.exec(request)?.[1] as string;
      const answer = c.idp.logoutResponseXml({ destination: c.sloUrl, inResponseTo: id });
      const query = c.idp.redirectBindingQuery(
        'SAMLResponse',
        answer,
        url.searchParams.get('RelayState') ?? undefined,
        { sign: true },
      );
      const back = await t.http().get(`/saml/${c.slug}/slo?${query}`).expect(303);
      expect(back.headers.location).toBe('/bye');
      const again = await t.http().get(`/saml/${c.slug}/slo?${query}`).expect(400);
      expect(reasonOf(again.text)).toBe('saml_in_response_to_unknown');
    });
  });

  it('keeps SP keys encrypted at rest and rolls them over (next is published, then promoted)', async () => {
    const rows = await t.app
      .get(DataSource)
      .query('SELECT private_key_sealed FROM sp_keys WHERE connection_id = $1', [c.id]);
    expect(rows[0].private_key_sealed).toMatch(/^v1\./);
    expect(rows[0].private_key_sealed).not.toContain('PRIVATE KEY');
    await t.admin.post(`/api/v1/connections/${c.id}/sp-keys/next`).expect(201);
    const metadata = await t.http().get(`/saml/${c.slug}/metadata`).expect(200);
    expect(metadata.text.match(/use="encryption"/g)).toHaveLength(2);
    await t.admin.post(`/api/v1/connections/${c.id}/sp-keys/next`).expect(409);
    const promoted = await t.admin.post(`/api/v1/connections/${c.id}/sp-keys/promote`).expect(200);
    expect(promoted.body.items.map((k: { status: string }) => k.status).sort()).toEqual([
      'current',
      'retired',
    ]);
    const { requestId } = await startLogin(t, c.slug);
    await login(
      c.idp.responseXml({
        spEntityId: c.spEntityId,
        acsUrl: c.acsUrl,
        inResponseTo: requestId,
        nameId: 'u-1001',
        attributes: ATTRS,
      }) as string,
    );
  });
});
