import { createVerify } from 'node:crypto';
import { reject } from '../../acs/acs-message';
import type { RedirectSignature } from '../slo-message';

export const LOGOUT_SIGNATURE_REASONS = ['saml_signature_invalid'] as const;

const INVALID = 'The logout message signature is not valid.';

/**
 * HTTP-Redirect: the signature over the exact octets received verifies with one of the IdP's metadata
 * certificates (pinned, never a key the message names). A raw RSA signature over a query string, not an
 * XML signature: node:crypto verifies it.
 */
export function checkRedirectSignature(signed: RedirectSignature, certificatePems: string[]): void {
  const ok = certificatePems.some((pem) => {
    try {
      return createVerify(signed.hash).update(signed.signedOctets).verify(pem, signed.signature);
    } catch {
      return false;
    }
  });
  if (!ok) reject('saml_signature_invalid', INVALID);
}

/**
 * HTTP-POST: node-saml verifies the enveloped XML signature (pinned certificates). Every check node-saml
 * would also make (shape, issuer, ID, NameID, times) ran before it, so any refusal of the engine here is the
 * signature's: it is mapped by where it happened, not by its message text.
 */
export async function checkPostSignature(verify: () => Promise<void>): Promise<void> {
  try {
    await verify();
  } catch (err) {
    reject('saml_signature_invalid', INVALID, {
      engine: typeof err === 'object' && err !== null && 'message' in err ? String(err.message) : String(err),
    });
  }
}
