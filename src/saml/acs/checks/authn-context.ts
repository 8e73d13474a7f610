import type { AssertionFacts } from '../acs-message';
import type { PendingAuthn } from '../../requested-authn';
import { SamlRejection } from '../../saml-rejection';

export const AUTHN_CONTEXT_REASONS = ['saml_authn_context_unmet', 'saml_authn_stale'] as const;
export type AuthnContextReason = (typeof AUTHN_CONTEXT_REASONS)[number];

/**
 * The authentication the IdP reports is the one that was asked for: a required AuthnContextClassRef is
 * one of the requested classes; after ForceAuthn the AuthnInstant is not before the request was made
 * (within the clock skew), so the IdP really authenticated again; with a maximum age the AuthnInstant is
 * at most that old. Where the browser goes after a refusal is the
 * login consumer's choice (its refusedUrl, asked by the SAML page filter).
 */
export function checkAuthnContext(
  assertion: Pick<AssertionFacts, 'authnContextClassRef' | 'authnInstant'>,
  pending: PendingAuthn | undefined,
  times: { requestedAt: Date; now: Date; clockSkewMs: number },
): void {
  if (!pending) return;
  const returned = assertion.authnContextClassRef;
  if (pending.requiredClassRefs && (!returned || !pending.requiredClassRefs.includes(returned))) {
    throw new SamlRejection(
      'saml_authn_context_unmet',
      'The identity provider did not sign you in the way this app requires (for example with multi-factor authentication).',
      { returned: returned ?? null, required: pending.requiredClassRefs },
    );
  }
  const instant = assertion.authnInstant;
  const notBefore = (floor: number, what: string) => {
    if (instant && instant.getTime() >= floor - times.clockSkewMs) return;
    throw new SamlRejection(
      'saml_authn_stale',
      'The identity provider did not sign you in again as this app requires. Start the sign-in again.',
      { authnInstant: instant?.toISOString() ?? null, requirement: what },
    );
  };
  if (pending.forceAuthn) notBefore(times.requestedAt.getTime(), 'forceAuthn');
  if (pending.maxAgeSeconds !== undefined) {
    notBefore(times.now.getTime() - pending.maxAgeSeconds * 1000, `maxAge ${pending.maxAgeSeconds}s`);
  }
}
