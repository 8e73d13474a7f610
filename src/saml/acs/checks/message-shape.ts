import type { Document, Element } from 'xmldom-0.9';
import { elementsNamed, nonEmptyAttribute } from '../../../common/xml-dom';
import { NS } from '../../saml-namespaces';
import { reject } from '../acs-message';
import { checkIdpStatus } from './idp-status';
import { checkPlainValues } from './plain-values';
import { checkTimestamps } from './timestamps';
import { checkUniqueIds } from './unique-ids';

export const MESSAGE_SHAPE_REASONS = [
  'saml_not_a_response',
  'saml_no_assertion',
  'saml_multiple_assertions',
  'saml_assertion_misplaced',
  'saml_encrypted_assertion_invalid',
] as const;

/**
 * The message is a samlp:Response with an ID, unique IDs, plain values, valid times and a Success status,
 * carrying exactly one Assertion, directly under the Response (SAML-ATTACKS.md §1, §3). Runs on the message
 * as if sent in plaintext: encrypted assertions are decrypted in place first.
 */
export function checkMessageShape(doc: Document): { root: Element; assertion: Element } {
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== NS.protocol || root.localName !== 'Response') {
    reject('saml_not_a_response', 'The message is not a SAML Response.');
  }
  if (!nonEmptyAttribute(root, 'ID')) reject('saml_not_a_response', 'The Response has no ID.');
  checkUniqueIds(doc);
  checkPlainValues(doc);
  checkTimestamps(doc);
  checkIdpStatus(root);

  const all = [
    ...elementsNamed(doc, NS.assertion, 'Assertion'),
    ...elementsNamed(doc, NS.assertion, 'EncryptedAssertion'),
  ];
  const [assertion] = all;
  if (!assertion) reject('saml_no_assertion', 'The Response carries no assertion.');
  if (all.length > 1) {
    reject('saml_multiple_assertions', 'The Response carries more than one assertion.', {
      count: all.length,
    });
  }
  // node-saml counts the Response's children by local name alone (any namespace): so does this check, so
  // that a look-alike assertion is refused here, by name, rather than by the engine's message text.
  const byLocalName = childrenNamedInAnyNamespace(root, ['Assertion', 'EncryptedAssertion']);
  if (byLocalName > 1) {
    reject('saml_multiple_assertions', 'The Response carries more than one assertion.', {
      count: byLocalName,
    });
  }
  if (assertion.parentNode !== root) {
    reject('saml_assertion_misplaced', 'The assertion is not a direct child of the Response.');
  }
  if (assertion.localName === 'EncryptedAssertion') {
    // Only reached by an EncryptedAssertion that was not decrypted in place (in another namespace).
    reject('saml_encrypted_assertion_invalid', 'The encrypted assertion could not be accepted.');
  }
  return { root, assertion };
}

function childrenNamedInAnyNamespace(parent: Element, localNames: string[]): number {
  let count = 0;
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && localNames.includes((n as Element).localName ?? '')) count++;
  }
  return count;
}
