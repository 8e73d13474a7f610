import type { Document, Element } from 'xmldom-0.9';
import { childElements } from '../../../common/xml-dom';
import { reject } from '../../acs/acs-message';
import { acceptedSignatureHash, checkSignatureShapes } from '../../acs/checks/signature-shape';
import { NS } from '../../saml-namespaces';
import type { RedirectSignature, SloField } from '../slo-message';
import { safeDecode } from './binding-intake';

/** Reason codes this check owns; the signature shapes and algorithms are the ACS's rules (signature-shape). */
export const LOGOUT_SIGNATURE_SHAPE_REASONS = [
  'saml_signature_missing',
  'saml_signature_algorithm_forbidden',
  'saml_signature_malformed',
  'saml_logout_invalid',
] as const;

/**
 * HTTP-Redirect: SigAlg and Signature present, SigAlg accepted by the signature algorithm policy (SHA-1 only
 * where the connection allows it), the signed parameters in the order the binding signs them. Returns what
 * the signature verification checks.
 */
export function checkRedirectSignatureShape(
  rawQuery: string,
  params: Map<string, string>,
  field: SloField,
  ctx: { allowSha1: boolean },
): RedirectSignature {
  const sigAlg = params.get('SigAlg');
  const signature = params.get('Signature');
  if (!sigAlg || !signature) reject('saml_signature_missing', 'Logout messages must be signed.');
  const hash = acceptedSignatureHash(safeDecode(sigAlg), ctx);
  const signedOctets = [field, ...(params.has('RelayState') ? ['RelayState'] : []), 'SigAlg']
    .map((k) => `${k}=${params.get(k)}`)
    .join('&');
  if (!rawQuery.includes(signedOctets))
    reject('saml_logout_invalid', 'The query parameters are not in the signed order.');
  return { signedOctets, hash, signature: Buffer.from(safeDecode(signature), 'base64') };
}

/**
 * HTTP-POST: an enveloped signature on the message itself, shaped as on the ACS (one SignedInfo, one
 * Reference to its parent, nothing hidden, accepted algorithms) and nowhere else.
 */
export function checkPostSignatureShape(doc: Document, root: Element, ctx: { allowSha1: boolean }): void {
  if (childElements(root, NS.ds, 'Signature').length === 0) {
    reject('saml_signature_missing', 'Logout messages must be signed.');
  }
  checkSignatureShapes(doc, [root], ctx);
}
