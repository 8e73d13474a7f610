import type { Element } from 'xmldom-0.9';
import { soleItem } from '../../../common/defined';
import { childElement, childElements, nonEmptyAttribute as attr, textOf } from '../../../common/xml-dom';
import { NS } from '../../saml-namespaces';
import { type PolicyContext, reject } from '../acs-message';
import { parseTime } from './timestamps';

export const CONDITIONS_REASONS = [
  'saml_audience_mismatch',
  'saml_expired',
  'saml_not_yet_valid',
  'saml_session_expired',
] as const;

/**
 * Exactly one Conditions, inside its window (with the skew), restricted to this SP's entity ID (every
 * AudienceRestriction names it); the IdP session (SessionNotOnOrAfter) has not ended.
 */
export function checkConditionsAndWindows(
  assertion: Element,
  ctx: PolicyContext,
): { conditionsEnd?: Date; sessionNotOnOrAfter?: Date } {
  const now = ctx.now.getTime();
  const skew = ctx.clockSkewMs;
  const conditions = soleItem(childElements(assertion, NS.assertion, 'Conditions'));
  if (!conditions) {
    reject('saml_audience_mismatch', 'The assertion must have exactly one Conditions element.');
  }
  const notBefore = parseTime(attr(conditions, 'NotBefore'), 'Conditions NotBefore');
  const conditionsEnd = parseTime(attr(conditions, 'NotOnOrAfter'), 'Conditions NotOnOrAfter');
  if (notBefore && notBefore.getTime() - skew > now) {
    reject('saml_not_yet_valid', 'The assertion is not valid yet (Conditions NotBefore).', {
      notBefore: notBefore.toISOString(),
    });
  }
  if (conditionsEnd && conditionsEnd.getTime() + skew <= now) {
    reject('saml_expired', 'The assertion has expired (Conditions NotOnOrAfter).', {
      notOnOrAfter: conditionsEnd.toISOString(),
    });
  }
  const restrictions = childElements(conditions, NS.assertion, 'AudienceRestriction');
  if (
    restrictions.length === 0 ||
    !restrictions.every((r) =>
      childElements(r, NS.assertion, 'Audience').some((aud) => textOf(aud) === ctx.spEntityId),
    )
  ) {
    reject('saml_audience_mismatch', 'The assertion is meant for another service provider (Audience).', {
      audiences: restrictions.flatMap((r) => childElements(r, NS.assertion, 'Audience').map(textOf)),
      expected: ctx.spEntityId,
    });
  }
  const authn = childElement(assertion, NS.assertion, 'AuthnStatement');
  const sessionNotOnOrAfter = parseTime(attr(authn, 'SessionNotOnOrAfter'), 'SessionNotOnOrAfter');
  if (sessionNotOnOrAfter && sessionNotOnOrAfter.getTime() + skew <= now) {
    reject(
      'saml_session_expired',
      'The IdP session this assertion belongs to has ended (SessionNotOnOrAfter).',
    );
  }
  return { conditionsEnd, sessionNotOnOrAfter };
}
