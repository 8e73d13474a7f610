import type { Element } from 'xmldom-0.9';
import { reject } from '../../acs/acs-message';
import { MAX_ASSERTION_AGE_MS } from '../../acs/checks/assertion-issuer';
import { timeAttribute } from '../../acs/checks/timestamps';
import type { SloPolicy } from '../slo-message';

export const LOGOUT_WINDOWS_REASONS = ['saml_expired'] as const;

/**
 * NotOnOrAfter (when present) has not passed, and IssueInstant (required) is within the age an assertion
 * may have at the ACS (MAX_ASSERTION_AGE_MS), past or future, with the connection's clock skew.
 */
export function checkLogoutWindows(
  root: Element,
  ctx: SloPolicy,
): { notOnOrAfter?: Date; issueInstant: Date } {
  const now = ctx.now.getTime();
  const skew = ctx.clockSkewMs;
  const notOnOrAfter = timeAttribute(root, 'NotOnOrAfter');
  if (notOnOrAfter && notOnOrAfter.getTime() + skew <= now) {
    reject('saml_expired', 'The logout message has expired (NotOnOrAfter).', {
      notOnOrAfter: notOnOrAfter.toISOString(),
    });
  }
  const issueInstant = timeAttribute(root, 'IssueInstant');
  if (!issueInstant || Math.abs(issueInstant.getTime() - now) > skew + MAX_ASSERTION_AGE_MS) {
    reject('saml_expired', 'The logout message is too old or from the future (IssueInstant).', {
      issueInstant: issueInstant?.toISOString() ?? null,
    });
  }
  return { notOnOrAfter, issueInstant };
}
