import type { Element } from 'xmldom-0.9';
import { childElement, nonEmptyAttribute, textOf } from '../../../common/xml-dom';
import { NS } from '../../saml-namespaces';
import { type PolicyContext, reject } from '../acs-message';
import { parseTime } from './timestamps';

export const ASSERTION_ISSUER_REASONS = [
  'saml_issuer_mismatch',
  'saml_expired',
  'saml_not_yet_valid',
] as const;

/** An assertion older than this (IssueInstant, beyond the clock skew) is refused even inside its window. */
export const MAX_ASSERTION_AGE_MS = 10 * 60_000;

/** The signed assertion comes from this connection's IdP and was issued recently (not in the future). */
export function checkAssertionIssuer(assertion: Element, ctx: PolicyContext): { issuer: string } {
  const issuer = textOf(childElement(assertion, NS.assertion, 'Issuer'));
  if (issuer !== ctx.idpEntityId) {
    reject('saml_issuer_mismatch', 'The assertion was issued by another identity provider.', {
      issuer,
      expected: ctx.idpEntityId,
    });
  }
  const now = ctx.now.getTime();
  const issueInstant = parseTime(nonEmptyAttribute(assertion, 'IssueInstant'), 'IssueInstant');
  if (issueInstant && issueInstant.getTime() < now - MAX_ASSERTION_AGE_MS - ctx.clockSkewMs) {
    reject('saml_expired', 'The assertion was issued too long ago; sign in again.', {
      issueInstant: issueInstant.toISOString(),
    });
  }
  if (issueInstant && issueInstant.getTime() > now + ctx.clockSkewMs) {
    reject('saml_not_yet_valid', 'The assertion was issued in the future (check the clocks).', {
      issueInstant: issueInstant.toISOString(),
    });
  }
  return { issuer };
}
