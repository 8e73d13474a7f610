import type { Element } from 'xmldom-0.9';
import { childElements, nonEmptyAttribute, textOf } from '../../../common/xml-dom';
import { reject } from '../../acs/acs-message';
import { NS } from '../../saml-namespaces';
import type { SloPolicy } from '../slo-message';

export const LOGOUT_ADDRESSING_REASONS = ['saml_issuer_mismatch', 'saml_destination_mismatch'] as const;

/**
 * The message names this connection's IdP as its Issuer (required: unlike a Response, a logout message has
 * no assertion to carry it) and, when it names a Destination, this SP's SLO URL.
 */
export function checkLogoutAddressing(
  root: Element,
  ctx: SloPolicy,
): { issuer: string; destination?: string } {
  const issuer = textOf(childElements(root, NS.assertion, 'Issuer')[0]);
  if (issuer !== ctx.idpEntityId) {
    reject('saml_issuer_mismatch', 'The logout message comes from another identity provider.', {
      issuer,
      expected: ctx.idpEntityId,
    });
  }
  const destination = nonEmptyAttribute(root, 'Destination');
  if (destination !== undefined && destination !== ctx.sloUrl) {
    reject('saml_destination_mismatch', 'The logout message was addressed to another URL.', {
      destination,
      expected: ctx.sloUrl,
    });
  }
  return { issuer, destination };
}
