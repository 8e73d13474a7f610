import type { Element } from 'xmldom-0.9';
import { childElement, childElements, nonEmptyAttribute as attr, textOf } from '../../../common/xml-dom';
import { NS } from '../../saml-namespaces';
import { type PolicyContext, reject } from '../acs-message';
import { parseTime } from './timestamps';

export const SUBJECT_CONFIRMATION_REASONS = [
  'saml_subject_missing',
  'saml_recipient_mismatch',
  'saml_confirmation_invalid',
  'saml_expired',
  'saml_not_yet_valid',
] as const;

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

/**
 * The assertion names its subject (a plain NameID) and has a bearer SubjectConfirmation whose data is
 * addressed to this ACS (Recipient) and inside its window (NotBefore / NotOnOrAfter, with the skew).
 */
export function checkSubjectConfirmation(
  assertion: Element,
  ctx: PolicyContext,
): { nameIdElement: Element; nameId: string; confirmation: Element; notOnOrAfter: Date } {
  const subject = childElement(assertion, NS.assertion, 'Subject');
  const nameIdEl = subject && childElement(subject, NS.assertion, 'NameID');
  const nameId = textOf(nameIdEl);
  if (!subject || !nameIdEl || !nameId) {
    if (subject && childElement(subject, NS.assertion, 'EncryptedID')) {
      reject(
        'saml_subject_missing',
        'Encrypted NameIDs are not supported; configure the IdP to send a plain NameID.',
      );
    }
    reject('saml_subject_missing', 'The assertion does not name its subject (no NameID).');
  }
  const now = ctx.now.getTime();
  const skew = ctx.clockSkewMs;
  const problems: string[] = [];
  for (const sc of childElements(subject, NS.assertion, 'SubjectConfirmation')) {
    if (attr(sc, 'Method') !== BEARER) {
      problems.push(`method ${attr(sc, 'Method')}`);
      continue;
    }
    const data = childElement(sc, NS.assertion, 'SubjectConfirmationData');
    const recipient = attr(data, 'Recipient');
    const notOnOrAfter = parseTime(attr(data, 'NotOnOrAfter'), 'SubjectConfirmationData NotOnOrAfter');
    const notBefore = parseTime(attr(data, 'NotBefore'), 'SubjectConfirmationData NotBefore');
    if (recipient !== ctx.acsUrl) {
      problems.push(`recipient ${recipient ?? '(none)'}`);
      continue;
    }
    if (!notOnOrAfter) {
      problems.push('no NotOnOrAfter');
      continue;
    }
    if (notOnOrAfter.getTime() + skew <= now) {
      reject('saml_expired', 'The assertion has expired (SubjectConfirmationData NotOnOrAfter).', {
        notOnOrAfter: notOnOrAfter.toISOString(),
      });
    }
    if (notBefore && notBefore.getTime() - skew > now) {
      reject('saml_not_yet_valid', 'The assertion is not valid yet (SubjectConfirmationData NotBefore).', {
        notBefore: notBefore.toISOString(),
      });
    }
    return { nameIdElement: nameIdEl, nameId, confirmation: data as Element, notOnOrAfter };
  }
  if (problems.some((p) => p.startsWith('recipient'))) {
    reject(
      'saml_recipient_mismatch',
      'The assertion was addressed to another service provider URL (Recipient).',
      {
        problems,
        expected: ctx.acsUrl,
      },
    );
  }
  reject('saml_confirmation_invalid', 'The assertion has no valid bearer SubjectConfirmation.', { problems });
}
