import type { Document, Element } from 'xmldom-0.9';
import { childElement, nonEmptyAttribute as attr, textOf } from '../../../common/xml-dom';
import { NS } from '../../saml-namespaces';
import { readAttributes } from '../../assertion-readers';
import { type AssertionFacts, type PolicyContext, reject } from '../acs-message';
import { checkPlainValues } from './plain-values';
import { checkSignatureShapes } from './signature-shape';
import { parseTime } from './timestamps';

export const SIGNED_ASSERTION_REASONS = ['saml_no_assertion'] as const;

/**
 * What node-saml verified is one assertion (the signed bytes, never the unsigned document) with an ID,
 * and passes the shape checks again: its signature, plain values. The checks after it read only this.
 */
export function checkSignedAssertion(signed: Document, ctx: PolicyContext): { element: Element; id: string } {
  checkSignatureShapes(signed, [signed.documentElement as Element], ctx);
  const a = signed.documentElement;
  if (!a || a.namespaceURI !== NS.assertion || a.localName !== 'Assertion') {
    reject('saml_no_assertion', 'The signed content is not an assertion.');
  }
  checkPlainValues(signed);
  const id = attr(a, 'ID');
  if (!id) reject('saml_no_assertion', 'The assertion has no ID.');
  return { element: a, id };
}

/** The facts of a checked signed assertion, for the checks after it and the login. */
export function assertionFacts(
  a: Element,
  checked: {
    id: string;
    issuer: string;
    nameIdElement: Element;
    nameId: string;
    confirmation: Element;
    notOnOrAfter: Date;
    conditionsEnd?: Date;
    sessionNotOnOrAfter?: Date;
  },
): AssertionFacts {
  const authn = childElement(a, NS.assertion, 'AuthnStatement');
  const context = authn && childElement(authn, NS.assertion, 'AuthnContext');
  const { conditionsEnd, notOnOrAfter } = checked;
  return {
    id: checked.id,
    issuer: checked.issuer,
    nameId: checked.nameId,
    nameIdFormat: attr(checked.nameIdElement, 'Format'),
    sessionIndex: attr(authn, 'SessionIndex'),
    sessionNotOnOrAfter: checked.sessionNotOnOrAfter,
    authnContextClassRef:
      textOf(context && childElement(context, NS.assertion, 'AuthnContextClassRef')) || undefined,
    authnInstant: parseTime(attr(authn, 'AuthnInstant'), 'AuthnInstant'),
    notOnOrAfter: conditionsEnd && conditionsEnd < notOnOrAfter ? conditionsEnd : notOnOrAfter,
    subjectConfirmationInResponseTo: attr(checked.confirmation, 'InResponseTo'),
    attributes: readAttributes(a),
  };
}
