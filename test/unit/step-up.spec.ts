/** The OIDC side of step-up: an app's request → what the SAML login asks; what the IdP said → acr / amr. */
import { ACR_MFA, ACR_SFA, acrMapOf, PRESET_OPTIONS } from '../../src/connections/connection-presets';
import { appAuthnRequest, idTokenAuthn, requestedAuthnFor } from '../../src/oidc/step-up';

const ENTRA = PRESET_OPTIONS.entra.acrMap ?? [];
const OKTA = PRESET_OPTIONS.okta.acrMap ?? [];
const MS_MFA = 'http://schemas.microsoft.com/claims/multipleauthn';
const PASSWORD = 'urn:oasis:names:tc:SAML:2.0:ac:classes:Password';
const PPT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';

describe('step-up: reading the app request', () => {
  it('takes acr_values as voluntary and claims.id_token.acr as essential when it says so', () => {
    expect(appAuthnRequest({ acr_values: `${ACR_MFA} ${ACR_SFA}` }, ['no_session'])).toEqual({
      acrValues: [ACR_MFA, ACR_SFA],
      essential: false,
      maxAgeSeconds: undefined,
      reauthenticate: false,
    });
    const claims = JSON.stringify({ id_token: { acr: { essential: true, values: [ACR_MFA] } } });
    expect(appAuthnRequest({ claims, acr_values: ACR_SFA }, [])).toMatchObject({
      acrValues: [ACR_MFA],
      essential: true,
    });
    const single = JSON.stringify({ id_token: { acr: { essential: true, value: ACR_MFA } } });
    expect(appAuthnRequest({ claims: single }, []).acrValues).toEqual([ACR_MFA]);
    expect(appAuthnRequest({ claims: JSON.stringify({ id_token: { acr: null } }) }, []).essential).toBe(
      false,
    );
  });

  it('asks for a fresh authentication on prompt=login and when the session is older than max_age', () => {
    expect(appAuthnRequest({ prompt: 'login' }, ['login_prompt']).reauthenticate).toBe(true);
    expect(appAuthnRequest({ max_age: 300 }, ['no_session', 'max_age'])).toMatchObject({
      reauthenticate: true,
      maxAgeSeconds: 300,
    });
    // A session young enough: max_age is still checked on the answer, but the IdP is not forced.
    expect(appAuthnRequest({ max_age: '300' }, ['essential_acrs'])).toMatchObject({
      reauthenticate: false,
      maxAgeSeconds: 300,
    });
  });
});

describe('step-up: what the AuthnRequest asks', () => {
  const request = (over: Partial<ReturnType<typeof appAuthnRequest>>) => ({
    acrValues: [],
    essential: false,
    reauthenticate: false,
    ...over,
  });

  it('maps acr values to the preset classes (Entra MFA, Okta 2FA)', () => {
    expect(requestedAuthnFor(request({ acrValues: [ACR_MFA] }), ENTRA)).toEqual({
      authn: {
        forceAuthn: false,
        context: { classRefs: [MS_MFA], comparison: 'exact' },
        required: false,
      },
    });
    expect(requestedAuthnFor(request({ acrValues: [ACR_MFA], essential: true }), OKTA)).toMatchObject({
      authn: { context: { classRefs: ['urn:okta:loa:2fa:any'] }, required: true },
    });
    expect(requestedAuthnFor(request({ acrValues: [ACR_MFA, ACR_SFA] }), ENTRA)).toMatchObject({
      authn: { context: { classRefs: [MS_MFA, PASSWORD, PPT] } },
    });
  });

  it('ignores unknown voluntary values, and refuses an essential acr nothing maps to', () => {
    expect(requestedAuthnFor(request({ acrValues: ['urn:x:gold'] }), ENTRA)).toEqual({
      authn: { forceAuthn: false, required: false },
    });
    expect(requestedAuthnFor(request({ acrValues: ['urn:x:gold'], essential: true }), ENTRA)).toEqual({
      unmet: expect.stringContaining('urn:x:gold'),
    });
    // The generic preset maps nothing: an essential acr there is unmet at once.
    expect(
      requestedAuthnFor(
        request({ acrValues: [ACR_MFA], essential: true }),
        PRESET_OPTIONS.generic.acrMap ?? [],
      ),
    ).toHaveProperty('unmet');
  });

  it('passes ForceAuthn and max_age on', () => {
    expect(requestedAuthnFor(request({ reauthenticate: true, maxAgeSeconds: 0 }), [])).toEqual({
      authn: { forceAuthn: true, required: false, maxAgeSeconds: 0 },
    });
  });
});

describe('step-up: the ID token acr and amr', () => {
  it('names the acr value the returned class maps to, with its amr', () => {
    expect(idTokenAuthn(MS_MFA, ENTRA)).toEqual({ acr: ACR_MFA, amr: ['mfa'] });
    expect(idTokenAuthn(PASSWORD, ENTRA)).toEqual({ acr: ACR_SFA, amr: ['pwd'] });
    expect(idTokenAuthn(PPT, OKTA)).toEqual({ acr: ACR_SFA, amr: ['pwd'] });
  });

  it('passes an unmapped class on as it is, with amr ext; no class: no acr', () => {
    const mobile = 'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract';
    expect(idTokenAuthn(mobile, ENTRA)).toEqual({ acr: mobile, amr: ['ext'] });
    expect(idTokenAuthn(null, ENTRA)).toEqual({ amr: ['ext'] });
  });

  it('prefers the acr values the app asked for when a class satisfies several', () => {
    const map = [
      { acr: 'gold', classRefs: [MS_MFA], amr: ['mfa'] },
      { acr: 'silver', classRefs: [MS_MFA, PPT] },
    ];
    expect(idTokenAuthn(MS_MFA, map)).toEqual({ acr: 'gold', amr: ['mfa'] });
    expect(idTokenAuthn(MS_MFA, map, ['silver'])).toEqual({ acr: 'silver', amr: ['ext'] });
  });

  it('a connection stored before acrMap existed uses its preset map', () => {
    const { acrMap: _none, ...older } = PRESET_OPTIONS.entra;
    expect(acrMapOf({ preset: 'entra', options: older })).toEqual(ENTRA);
    expect(acrMapOf({ preset: 'entra', options: { ...older, acrMap: [] } })).toEqual([]);
  });
});
