import type { Element } from 'xmldom-0.9';
import { childElements, nonEmptyAttribute, textOf } from '../../../common/xml-dom';
import { reject } from '../../acs/acs-message';
import { NS } from '../../saml-namespaces';

export const LOGOUT_SUBJECT_REASONS = ['saml_logout_invalid'] as const;

const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

/** A LogoutRequest names the user (a plain NameID) and the sessions (SessionIndex) to end. */
export function checkLogoutRequestSubject(root: Element): { nameId: string; sessionIndexes: string[] } {
  const nameId = textOf(childElements(root, NS.assertion, 'NameID')[0]);
  if (!nameId) reject('saml_logout_invalid', 'The LogoutRequest names no user (NameID).');
  return {
    nameId,
    sessionIndexes: childElements(root, NS.protocol, 'SessionIndex').map(textOf).filter(Boolean),
  };
}

/** A LogoutResponse's status (Success or not; a refusal by the IdP still ends the bridge session). */
export function logoutResponseStatus(root: Element): { statusCode?: string; success: boolean } {
  const status = childElements(root, NS.protocol, 'Status')[0];
  const statusCode = status
    ? nonEmptyAttribute(childElements(status, NS.protocol, 'StatusCode')[0], 'Value')
    : undefined;
  return { statusCode, success: statusCode === STATUS_SUCCESS };
}
