import type { Element } from 'xmldom-0.9';
import { childElement, childElements, nonEmptyAttribute, textOf } from '../../../common/xml-dom';
import { NS } from '../../saml-namespaces';
import { type PolicyContext, reject, type ResponseFacts } from '../acs-message';

export const RESPONSE_ADDRESSING_REASONS = ['saml_destination_mismatch', 'saml_issuer_mismatch'] as const;

/**
 * The Response is addressed to this ACS (Destination; required when the Response is signed) and issued by
 * this connection's IdP (its Issuer, when it names one). Returns what the later checks need of it.
 */
export function checkResponseAddressing(
  root: Element,
  assertion: Element,
  ctx: PolicyContext,
  encrypted: boolean,
): ResponseFacts {
  const responseSigned = childElements(root, NS.ds, 'Signature').length > 0;
  const destination = nonEmptyAttribute(root, 'Destination');
  if (destination !== undefined && destination !== ctx.acsUrl) {
    reject('saml_destination_mismatch', 'The Response was addressed to another service provider URL.', {
      destination,
      expected: ctx.acsUrl,
    });
  }
  if (responseSigned && destination === undefined) {
    reject('saml_destination_mismatch', 'A signed Response must name its Destination.');
  }
  const issuerEl = childElement(root, NS.assertion, 'Issuer');
  const issuer = issuerEl ? textOf(issuerEl) : undefined;
  if (issuer !== undefined && issuer !== ctx.idpEntityId) {
    reject('saml_issuer_mismatch', 'The Response was issued by another identity provider.', {
      issuer,
      expected: ctx.idpEntityId,
    });
  }
  return {
    responseId: nonEmptyAttribute(root, 'ID') as string,
    issuer,
    destination,
    inResponseTo: nonEmptyAttribute(root, 'InResponseTo'),
    issueInstant: nonEmptyAttribute(root, 'IssueInstant'),
    encrypted,
    responseSigned,
    assertionSigned: childElements(assertion, NS.ds, 'Signature').length > 0,
  };
}
