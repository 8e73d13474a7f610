import type { Document, Element } from 'xmldom-0.9';
import { nonEmptyAttribute } from '../../../common/xml-dom';
import { reject } from '../../acs/acs-message';
import { checkPlainValues } from '../../acs/checks/plain-values';
import { checkTimestamps } from '../../acs/checks/timestamps';
import { checkUniqueIds } from '../../acs/checks/unique-ids';
import { NS } from '../../saml-namespaces';
import type { LogoutFacts, SloField } from '../slo-message';

/** Reason codes this check owns; it also applies the ACS's unique-ids, plain-values and timestamps rules. */
export const LOGOUT_SHAPE_REASONS = ['saml_logout_invalid'] as const;

const KIND_OF_FIELD: Record<SloField, LogoutFacts['kind']> = {
  SAMLRequest: 'LogoutRequest',
  SAMLResponse: 'LogoutResponse',
};

/**
 * The message is a samlp:LogoutRequest (in SAMLRequest) or samlp:LogoutResponse (in SAMLResponse) with an
 * ID; as on the ACS: unique IDs, no comment or CDATA inside NameID / Issuer (comment injection), and every
 * time a strict xs:dateTime.
 */
export function checkLogoutShape(
  doc: Document,
  field: SloField,
): { root: Element; kind: LogoutFacts['kind'] } {
  const root = doc.documentElement;
  if (
    !root ||
    root.namespaceURI !== NS.protocol ||
    (root.localName !== 'LogoutRequest' && root.localName !== 'LogoutResponse')
  ) {
    reject('saml_logout_invalid', 'The message is neither a LogoutRequest nor a LogoutResponse.');
  }
  if (root.localName !== KIND_OF_FIELD[field]) {
    reject('saml_logout_invalid', `A ${root.localName} must not arrive as ${field}.`);
  }
  if (!nonEmptyAttribute(root, 'ID')) reject('saml_logout_invalid', 'The logout message has no ID.');
  checkUniqueIds(doc);
  checkPlainValues(doc);
  checkTimestamps(doc);
  return { root, kind: root.localName as LogoutFacts['kind'] };
}
