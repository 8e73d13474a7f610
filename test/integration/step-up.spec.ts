/**
 * Step-up authentication end to end, through the real HTTP stack: the app (openid-client) asks with
 * acr_values / claims / prompt=login, the AuthnRequest carries RequestedAuthnContext and ForceAuthn, the
 * test IdP answers with a signed response, and the ID token's acr / amr / auth_time say what happened — or
 * the app receives unmet_authentication_requirements.
 */
import { inflateRawSync } from 'node:zlib';
import request from 'supertest';
import { ACR_MFA, ACR_SFA } from '../../src/connections/connection-presets';
import { createTestConnection, type SamlConnectionFixture } from '../support/saml-flow';
import { databaseKinds, startTestApp, type TestApp } from '../support/test-app';

type OidcClient = typeof import('openid-client');

/** The AuthnRequest's RequestedAuthnContext/AuthnContextClassRef element naming `classRef`. */
const classRefElement = (classRef: string) =>
  new RegExp(
    `<saml:AuthnContextClassRef[^>]*>${classRef.replace(/[.]/g, '\\.')}</saml:AuthnContextClassRef>`,
  );

const REDIRECT = 'https://app.example.com/callback';
const MS_MFA = 'http://schemas.microsoft.com/claims/multipleauthn';
const PASSWORD = 'urn:oasis:names:tc:SAML:2.0:ac:classes:Password';

describe.each(databaseKinds().slice(0, 1))('step-up authentication on %s', (kind) => {
  let t: TestApp;
  let oc: OidcClient;
  let issuer: string;
  let entra: SamlConnectionFixture;
  let generic: SamlConnectionFixture;
  let config: import('openid-client').Configuration;

  beforeAll(async () => {
    oc = await import('openid-client');
    t = await startTestApp(kind, {}, undefined, { listen: true });
    issuer = t.config.issuer;
    entra = await createTestConnection(t, 'entra-co', { preset: 'entra' });
    generic = await createTestConnection(t, 'generic-co');
    const app = await t.admin
      .post('/api/v1/clients')
      .send({ name: 'Payroll', redirectUris: [REDIRECT] })
      .expect(201);
    config = await oc.discovery(new URL(issuer), app.body.clientId, app.body.clientSecret, undefined, {
      execute: [oc.allowInsecureRequests],
    });
  });
  afterAll(async () => t?.close());

  /** One browser: follows the bridge's redirects until the IdP or the app. */
  function browser() {
    const agent = request.agent(t.app.getHttpServer());
    const follow = async (url: string): Promise<string> => {
      let next = url;
      for (let i = 0; i < 15; i++) {
        const u = new URL(next, issuer);
        if (u.origin !== new URL(issuer).origin) return u.toString();
        const res = await agent.get(u.pathname + u.search);
        if (res.status !== 303 && res.status !== 302) {
          throw new Error(`${u.pathname} answered ${res.status}: ${res.text.slice(0, 300)}`);
        }
        next = res.headers.location as string;
      }
      throw new Error('too many redirects');
    };
    return { agent, follow };
  }

  /** The app sends the user to /oidc/auth with `params`; returns where the browser ends (IdP or app). */
  async function authorize(
    b: ReturnType<typeof browser>,
    connection: string,
    params: Record<string, string>,
  ) {
    const verifier = oc.randomPKCECodeVerifier();
    const state = oc.randomState();
    const url = oc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid email',
      code_challenge: await oc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      connection,
      ...params,
    });
    return { at: await b.follow(url.toString()), verifier, state };
  }

  function authnRequestOf(idpUrl: string): { id: string; xml: string } {
    const samlRequest = new URL(idpUrl).searchParams.get('SAMLRequest') as string;
    const xml = inflateRawSync(Buffer.from(samlRequest, 'base64')).toString();
    return { id: /ID="([^"]+)"/.exec(xml)?.[1] as string, xml };
  }

  /** The IdP's signed answer, POSTed to the ACS; then the browser follows the bridge back to the app. */
  async function idpAnswers(
    b: ReturnType<typeof browser>,
    c: SamlConnectionFixture,
    inResponseTo: string,
    authn: { authnContextClassRef: string; authnInstant?: Date },
  ): Promise<string> {
    const xml = c.idp.responseXml({
      spEntityId: c.spEntityId,
      acsUrl: c.acsUrl,
      inResponseTo,
      nameId: 'grace-0001',
      attributes: { email: 'grace@example.com' },
      ...authn,
    }) as string;
    const acs = await b.agent
      .post(`/saml/${c.slug}/acs`)
      .type('form')
      .send({ SAMLResponse: Buffer.from(xml).toString('base64') })
      .expect(303);
    return b.follow(acs.headers.location as string);
  }

  it('advertises the preset acr values and the claims parameter in discovery', async () => {
    const res = await t.http().get('/.well-known/openid-configuration').expect(200);
    expect(res.body.acr_values_supported).toEqual([ACR_MFA, ACR_SFA]);
    expect(res.body.claims_parameter_supported).toBe(true);
  });

  it('acr_values become RequestedAuthnContext; an MFA answer gives acr, amr and auth_time from the IdP', async () => {
    const b = browser();
    const { at, verifier, state } = await authorize(b, entra.slug, { acr_values: ACR_MFA });
    expect(at.startsWith(entra.idp.ssoUrl)).toBe(true);
    const { id, xml } = authnRequestOf(at);
    expect(xml).toContain('<samlp:RequestedAuthnContext');
    expect(xml).toContain('Comparison="exact"');
    expect(xml).toMatch(classRefElement(MS_MFA));
    expect(xml).not.toContain('ForceAuthn="true"');
    const authnInstant = new Date(Math.floor(Date.now() / 1000) * 1000 - 20_000);
    const callback = await idpAnswers(b, entra, id, { authnContextClassRef: MS_MFA, authnInstant });
    expect(callback.startsWith(REDIRECT)).toBe(true);
    const tokens = await oc.authorizationCodeGrant(config, new URL(callback), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.claims()).toMatchObject({
      acr: ACR_MFA,
      amr: ['mfa'],
      auth_time: authnInstant.getTime() / 1000,
    });
  });

  it('a voluntary acr that was not met still signs in, and the ID token says what really happened', async () => {
    const b = browser();
    const { at, verifier, state } = await authorize(b, entra.slug, { acr_values: ACR_MFA });
    const callback = await idpAnswers(b, entra, authnRequestOf(at).id, { authnContextClassRef: PASSWORD });
    const tokens = await oc.authorizationCodeGrant(config, new URL(callback), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.claims()).toMatchObject({ acr: ACR_SFA, amr: ['pwd'] });
  });

  it('an essential MFA answered with a password login ends at the app with unmet_authentication_requirements', async () => {
    const b = browser();
    const claims = JSON.stringify({ id_token: { acr: { essential: true, values: [ACR_MFA] } } });
    const { at, verifier, state } = await authorize(b, entra.slug, { claims });
    const { id, xml } = authnRequestOf(at);
    expect(xml).toMatch(classRefElement(MS_MFA));
    const callback = await idpAnswers(b, entra, id, { authnContextClassRef: PASSWORD });
    expect(callback.startsWith(REDIRECT)).toBe(true);
    await expect(
      oc.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: verifier,
        expectedState: state,
      }),
    ).rejects.toMatchObject({ error: 'unmet_authentication_requirements' });
    // The admin sees why in the connection's SSO traces.
    const traces = await t.admin.get(`/api/v1/connections/${entra.id}/traces`).expect(200);
    expect(JSON.stringify(traces.body)).toContain('saml_authn_context_unmet');
  });

  it('an essential MFA the same way met signs in (oidc-provider accepts the mapped acr)', async () => {
    const b = browser();
    const claims = JSON.stringify({ id_token: { acr: { essential: true, values: [ACR_MFA] } } });
    const { at, verifier, state } = await authorize(b, entra.slug, { claims });
    const callback = await idpAnswers(b, entra, authnRequestOf(at).id, { authnContextClassRef: MS_MFA });
    const tokens = await oc.authorizationCodeGrant(config, new URL(callback), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.claims()).toMatchObject({ acr: ACR_MFA, amr: ['mfa'] });
  });

  it('an essential acr the connection cannot map ends at the app at once, without a trip to the IdP', async () => {
    const b = browser();
    const claims = JSON.stringify({ id_token: { acr: { essential: true, values: [ACR_MFA] } } });
    const { at, verifier, state } = await authorize(b, generic.slug, { claims });
    expect(at.startsWith(REDIRECT)).toBe(true);
    await expect(
      oc.authorizationCodeGrant(config, new URL(at), { pkceCodeVerifier: verifier, expectedState: state }),
    ).rejects.toMatchObject({ error: 'unmet_authentication_requirements' });
  });

  it('prompt=login sends ForceAuthn; a fresh AuthnInstant signs in, a stale one is refused at the app', async () => {
    const fresh = browser();
    const first = await authorize(fresh, entra.slug, { prompt: 'login' });
    const asked = authnRequestOf(first.at);
    expect(asked.xml).toContain('ForceAuthn="true"');
    expect(asked.xml).not.toContain('RequestedAuthnContext');
    const ok = await idpAnswers(fresh, entra, asked.id, { authnContextClassRef: PASSWORD });
    await expect(
      oc.authorizationCodeGrant(config, new URL(ok), {
        pkceCodeVerifier: first.verifier,
        expectedState: first.state,
      }),
    ).resolves.toHaveProperty('id_token');

    const stale = browser();
    const second = await authorize(stale, entra.slug, { prompt: 'login' });
    const callback = await idpAnswers(stale, entra, authnRequestOf(second.at).id, {
      authnContextClassRef: PASSWORD,
      // The IdP reused an hour-old session and ignored ForceAuthn.
      authnInstant: new Date(Date.now() - 3_600_000),
    });
    expect(callback.startsWith(REDIRECT)).toBe(true);
    await expect(
      oc.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: second.verifier,
        expectedState: second.state,
      }),
    ).rejects.toMatchObject({ error: 'unmet_authentication_requirements' });
  });

  it('max_age with no session sends ForceAuthn, since the IdP session may be older', async () => {
    const b = browser();
    const { at } = await authorize(b, entra.slug, { max_age: '600' });
    expect(authnRequestOf(at).xml).toContain('ForceAuthn="true"');
  });

  it('refuses a malformed acrMap with a reason code', async () => {
    const dup = await t.admin
      .patch(`/api/v1/connections/${generic.id}`)
      .send({
        options: {
          acrMap: [
            { acr: 'a', classRefs: ['x'] },
            { acr: 'a', classRefs: ['y'] },
          ],
        },
      })
      .expect(400);
    expect(dup.body.code).toBe('validation_failed');
    await t.admin
      .patch(`/api/v1/connections/${generic.id}`)
      .send({ options: { acrMap: [{ acr: 'has space', classRefs: ['x'] }] } })
      .expect(400);
    const ok = await t.admin
      .patch(`/api/v1/connections/${generic.id}`)
      .send({
        options: { acrMap: [{ acr: 'gold', classRefs: [MS_MFA], comparison: 'minimum', amr: ['mfa'] }] },
      })
      .expect(200);
    expect(ok.body.options.acrMap).toEqual([
      { acr: 'gold', classRefs: [MS_MFA], comparison: 'minimum', amr: ['mfa'] },
    ]);
    const b = browser();
    const { at } = await authorize(b, generic.slug, { acr_values: 'gold' });
    expect(authnRequestOf(at).xml).toContain('Comparison="minimum"');
  });
});
