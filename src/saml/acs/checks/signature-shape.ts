import type { Element, Node } from 'xmldom-0.9';
import { soleItem } from '../../../common/defined';
import {
  childElement,
  childElements,
  elementsNamed,
  NODE,
  nonEmptyAttribute,
  walk,
} from '../../../common/xml-dom';
import { NS } from '../../saml-namespaces';
import { reject } from '../acs-message';

export const SIGNATURE_SHAPE_REASONS = [
  'saml_signature_malformed',
  'saml_signature_algorithm_forbidden',
] as const;

/** The signature algorithms accepted, with their hash: XML signatures and Redirect-binding SigAlg alike. */
const SIGNATURE_ALGORITHMS = new Map([
  ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'sha256'],
  ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha384', 'sha384'],
  ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', 'sha512'],
]);
const SHA1_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';

/**
 * The signature algorithm policy (SHA-1 only where the connection allows it): the hash of an accepted
 * algorithm, else refused with saml_signature_algorithm_forbidden. SAML responses (ds:SignatureMethod) and
 * single logout messages (ds:SignatureMethod on POST, SigAlg on Redirect) are held to the same rule.
 */
export function acceptedSignatureHash(method: string, ctx: { allowSha1: boolean }): string {
  const hash =
    SIGNATURE_ALGORITHMS.get(method) ?? (ctx.allowSha1 && method === SHA1_SIGNATURE ? 'sha1' : undefined);
  if (hash) return hash;
  reject(
    'saml_signature_algorithm_forbidden',
    method === SHA1_SIGNATURE
      ? 'The IdP signed with RSA-SHA1, which this connection does not accept. Configure the IdP for RSA-SHA256 (or allow SHA-1 on the connection).'
      : `The signature algorithm ${method || '(none)'} is not accepted.`,
    { algorithm: method },
  );
}

const DIGEST_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmlenc#sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512',
]);
const SHA1_DIGEST = 'http://www.w3.org/2000/09/xmldsig#sha1';
const CANONICALIZATIONS = new Set([
  'http://www.w3.org/2001/10/xml-exc-c14n#',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
]);
const TRANSFORMS = new Set(['http://www.w3.org/2000/09/xmldsig#enveloped-signature', ...CANONICALIZATIONS]);

/** Every ds:Signature: one SignedInfo, one Reference to its parent, allowed algorithms, nothing hidden. */
export function checkSignatureShapes(
  root: Node,
  allowedParents: Element[],
  ctx: { allowSha1: boolean },
): void {
  for (const sig of elementsNamed(root, NS.ds, 'Signature')) {
    const parent = sig.parentNode as Element | null;
    if (!parent || !allowedParents.includes(parent)) {
      reject(
        'saml_signature_malformed',
        'A signature sits where none may be (only on the Response or the Assertion).',
      );
    }
    walk(sig, (n) => {
      if (n.nodeType === NODE.comment || n.nodeType === NODE.processingInstruction) {
        reject(
          'saml_signature_malformed',
          'A comment or processing instruction inside a signature is not accepted.',
        );
      }
    });
    if (elementsNamed(sig, NS.ds, 'Object').length > 0) {
      reject('saml_signature_malformed', 'A ds:Object inside a signature is not accepted.');
    }
    const signedInfo = soleItem(elementsNamed(sig, NS.ds, 'SignedInfo'));
    if (!signedInfo || childElements(sig, NS.ds, 'SignedInfo').length !== 1) {
      reject('saml_signature_malformed', 'A signature must have exactly one SignedInfo.');
    }
    const reference = soleItem(elementsNamed(sig, NS.ds, 'Reference'));
    if (!reference) reject('saml_signature_malformed', 'A signature must have exactly one Reference.');
    const uri = nonEmptyAttribute(reference, 'URI');
    const parentId = nonEmptyAttribute(parent as Element, 'ID');
    if (!uri || !parentId || uri !== `#${parentId}`) {
      reject('saml_signature_malformed', 'The signature does not reference the element that carries it.', {
        uri,
        parentId,
      });
    }
    const c14n = nonEmptyAttribute(childElement(signedInfo, NS.ds, 'CanonicalizationMethod'), 'Algorithm');
    if (!c14n || !CANONICALIZATIONS.has(c14n)) {
      reject('saml_signature_algorithm_forbidden', `Canonicalization ${c14n ?? '(none)'} is not accepted.`);
    }
    acceptedSignatureHash(
      nonEmptyAttribute(childElement(signedInfo, NS.ds, 'SignatureMethod'), 'Algorithm') ?? '',
      ctx,
    );
    for (const digest of elementsNamed(sig, NS.ds, 'DigestMethod')) {
      const alg = nonEmptyAttribute(digest, 'Algorithm') ?? '';
      if (!DIGEST_ALGORITHMS.has(alg) && !(ctx.allowSha1 && alg === SHA1_DIGEST)) {
        reject(
          'saml_signature_algorithm_forbidden',
          `The digest algorithm ${alg || '(none)'} is not accepted.`,
          {
            algorithm: alg,
          },
        );
      }
    }
    const transforms = elementsNamed(sig, NS.ds, 'Transform');
    if (
      transforms.length > 2 ||
      transforms.some((t) => !TRANSFORMS.has(nonEmptyAttribute(t, 'Algorithm') ?? ''))
    ) {
      reject('saml_signature_malformed', 'The signature uses transforms that are not accepted.');
    }
  }
}
