/**
 * The authn context check on XML made by the test IdP (no HTTP, no database): the AuthnContextClassRef and
 * AuthnInstant a signed assertion carries, against what the pending request asked (requested-authn.ts).
 */
import { checkAuthnContext } from '../../../src/saml/acs/checks/authn-context';
import { parseSamlXml } from '../../../src/saml/acs/checks/message-intake';
import { checkMessageShape } from '../../../src/saml/acs/checks/message-shape';
import { assertionFacts } from '../../../src/saml/acs/checks/signed-assertion';
import { checkSubjectConfirmation } from '../../../src/saml/acs/checks/subject-confirmation';
import { type PendingAuthn, pendingAuthnFor, pendingAuthnOf } from '../../../src/saml/requested-authn';
import { statusOfKind } from '../../../src/common/error-status';
import { LoginConsumers } from '../../../src/saml/login-consumers';
import { SamlRejection } from '../../../src/saml/saml-rejection';
import { type AssertionInput, generateTestKeyPair, TestIdp } from '../../support/saml-test-idp';

const SP = 'https://bridge.test/saml/unit/metadata';
const ACS = 'https://bridge.test/saml/unit/acs';
const MFA = 'http://schemas.microsoft.com/claims/multipleauthn';
const PPT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
const SKEW = 60_000;

let idp: TestIdp;
beforeAll(async () => {
  idp = new TestIdp({ keys: await generateTestKeyPair('Unit IdP') });
});

/** The facts of the assertion in a signed response, as the pipeline hands them to the check. */
function factsOf(over: Partial<AssertionInput>, now: Date) {
  const xml = idp.responseXml(
    { spEntityId: SP, acsUrl: ACS, nameId: 'alice', inResponseTo: '_req1', now, ...over },
    { sign: 'assertion' },
  ) as string;
  const { assertion } = checkMessageShape(parseSamlXml(xml));
  const policy = {
    acsUrl: ACS,
    spEntityId: SP,
    idpEntityId: idp.entityId,
    allowSha1: false,
    clockSkewMs: SKEW,
    now,
  };
  return assertionFacts(assertion, {
    id: 'a1',
    issuer: idp.entityId,
    ...checkSubjectConfirmation(assertion, policy),
  });
}

/** The continue step a consumer names for a refusal (as the OIDC interaction's abort does). */
const ABORT = (reason: string) => `/oidc/interaction/abc/abort?reason=${reason}`;

function outcome(
  over: Partial<AssertionInput>,
  pending: PendingAuthn | undefined,
  requestedAt: Date,
  continueTo?: (reason: string) => string,
) {
  const now = new Date(requestedAt.getTime() + 30_000);
  try {
    checkAuthnContext(factsOf({ now, ...over }, now), pending, { requestedAt, now, clockSkewMs: SKEW });
    return { ok: true };
  } catch (err) {
    if (!(err instanceof SamlRejection)) throw err;
    // Where the browser continues is the login consumer's answer, asked outside the check.
    const consumers = new LoginConsumers();
    consumers.register({ id: 'oidc', continueUrl: () => '/unused', refusedUrl: continueTo });
    return {
      reason: err.reason,
      status: statusOfKind(err.kind),
      continueTo: consumers.refusedUrl({ consumer: 'oidc', state: {} }, err.reason),
    };
  }
}

describe('authn context check', () => {
  const requestedAt = new Date('2026-12-02T10:00:00Z');

  it('passes anything when nothing was asked', () => {
    expect(outcome({ authnContextClassRef: PPT }, undefined, requestedAt)).toEqual({ ok: true });
  });

  it('honours a required class: the returned AuthnContextClassRef must be one of those requested', () => {
    const pending: PendingAuthn = { forceAuthn: false, requiredClassRefs: [MFA] };
    expect(outcome({ authnContextClassRef: MFA }, pending, requestedAt, ABORT)).toEqual({ ok: true });
    expect(outcome({ authnContextClassRef: PPT }, pending, requestedAt, ABORT)).toEqual({
      reason: 'saml_authn_context_unmet',
      status: 403,
      continueTo: '/oidc/interaction/abc/abort?reason=saml_authn_context_unmet',
    });
  });

  it('without a continue step the refusal is the error page (no continueTo)', () => {
    expect(
      outcome({ authnContextClassRef: PPT }, { forceAuthn: false, requiredClassRefs: [MFA] }, requestedAt),
    ).toEqual({ reason: 'saml_authn_context_unmet', status: 403, continueTo: undefined });
  });

  it('after ForceAuthn the AuthnInstant must not be before the request (within the clock skew)', () => {
    const pending: PendingAuthn = { forceAuthn: true };
    expect(outcome({ authnInstant: new Date(requestedAt.getTime() + 5_000) }, pending, requestedAt)).toEqual({
      ok: true,
    });
    // Inside the skew: the IdP's clock may be behind.
    expect(
      outcome({ authnInstant: new Date(requestedAt.getTime() - SKEW + 1_000) }, pending, requestedAt),
    ).toEqual({ ok: true });
    // An hour-old authentication: the IdP reused its session and ignored ForceAuthn.
    expect(
      outcome({ authnInstant: new Date(requestedAt.getTime() - 3_600_000) }, pending, requestedAt, ABORT),
    ).toEqual({
      reason: 'saml_authn_stale',
      status: 403,
      continueTo: '/oidc/interaction/abc/abort?reason=saml_authn_stale',
    });
  });

  it('with a maximum age the AuthnInstant is at most that old', () => {
    const pending: PendingAuthn = { forceAuthn: false, maxAgeSeconds: 600 };
    const at = (msBeforeRequest: number) => new Date(requestedAt.getTime() - msBeforeRequest);
    expect(outcome({ authnInstant: at(300_000) }, pending, requestedAt).ok).toBe(true);
    expect(outcome({ authnInstant: at(3_600_000) }, pending, requestedAt).reason).toBe('saml_authn_stale');
  });

  it('stores what was asked in the pending request only when something was asked, and reads it back', () => {
    expect(pendingAuthnFor(undefined, false)).toBeUndefined();
    expect(pendingAuthnFor({ forceAuthn: false, required: false }, false)).toBeUndefined();
    // The connection's own ForceAuthn is checked too: it was asked of the IdP.
    expect(pendingAuthnFor(undefined, true)).toEqual({ forceAuthn: true });
    const stored = pendingAuthnFor(
      {
        forceAuthn: true,
        context: { classRefs: [MFA], comparison: 'exact' },
        required: true,
        maxAgeSeconds: 0,
      },
      false,
    );
    expect(stored).toEqual({
      forceAuthn: true,
      requiredClassRefs: [MFA],
      maxAgeSeconds: 0,
    });
    expect(pendingAuthnOf({ interaction: 'u', requestedAuthn: JSON.parse(JSON.stringify(stored)) })).toEqual(
      stored,
    );
    expect(pendingAuthnOf({ interaction: 'u' })).toBeUndefined();
  });
});
