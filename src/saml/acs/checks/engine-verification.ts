import { SamlRejection } from '../../saml-rejection';

export const ENGINE_VERIFICATION_REASONS = [
  'saml_signature_invalid',
  'saml_encrypted_assertion_invalid',
  'saml_multiple_assertions',
  'saml_audience_mismatch',
  'saml_expired',
  'saml_not_yet_valid',
  'saml_response_invalid',
] as const;

/** The engine's refusals that come after it verified the signature (the content is the IdP's). */
export const VERIFIED_ENGINE_REASONS: ReadonlySet<string> = new Set([
  'saml_audience_mismatch',
  'saml_expired',
  'saml_not_yet_valid',
]);

/** The one refusal of an encrypted assertion that failed to decrypt, parse or verify (no oracle). */
export function encryptedAssertionInvalid(detail: Record<string, unknown>): SamlRejection {
  return new SamlRejection(
    'saml_encrypted_assertion_invalid',
    'The encrypted assertion could not be accepted.',
    detail,
  );
}

/**
 * What node-saml's refusal means. node-saml throws plain Errors (and on the worker pool only their message
 * crosses the thread), so this reads the message; every check of ours that can run before the engine does
 * (multiple assertions, signature shapes and algorithms, status), and audience and windows are checked
 * again by our own checks after it, so what is left to tell here is mostly "the signature does not verify".
 */
export function classifyEngineError(err: unknown, encrypted: boolean): SamlRejection {
  if (err instanceof SamlRejection) return err;
  const message = err instanceof Error ? err.message : String(err);
  const detail = { engine: message };
  if (/multiple assertions/i.test(message))
    return new SamlRejection('saml_multiple_assertions', 'More than one assertion.', detail);
  if (/audience/i.test(message))
    return new SamlRejection(
      'saml_audience_mismatch',
      'The assertion is meant for another service provider.',
      detail,
    );
  if (/expired/i.test(message))
    return new SamlRejection('saml_expired', 'The assertion has expired.', detail);
  if (/NotBefore|not yet valid/i.test(message))
    return new SamlRejection('saml_not_yet_valid', 'The assertion is not valid yet.', detail);
  if (encrypted) {
    // Decryption, parsing and signature failures of an encrypted assertion look the same from outside
    // (no padding / format oracle); the trace keeps the detail for admins.
    return encryptedAssertionInvalid(detail);
  }
  if (/signature/i.test(message)) {
    return new SamlRejection(
      'saml_signature_invalid',
      'The signature is not valid for any of the IdP certificates in the metadata.',
      detail,
    );
  }
  return new SamlRejection('saml_response_invalid', 'The SAML response could not be accepted.', detail);
}
