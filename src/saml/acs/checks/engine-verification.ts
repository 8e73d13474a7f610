import { SamlEnginePoolError } from '../../saml-engine-pool';
import { type SamlReason, SamlRejection } from '../../saml-rejection';

export const ENGINE_VERIFICATION_REASONS = [
  'saml_signature_invalid',
  'saml_encrypted_assertion_invalid',
  'saml_response_invalid',
] as const;

/** The one refusal of an encrypted assertion that failed to decrypt, parse or verify (no oracle). */
export function encryptedAssertionInvalid(detail: Record<string, unknown>): SamlRejection {
  return new SamlRejection(
    'saml_encrypted_assertion_invalid',
    'The encrypted assertion could not be accepted.',
    detail,
  );
}

/**
 * The only place an engine refusal is read by its message text. node-saml 5.1 throws plain `Error`s: its one
 * error class, `SamlStatusError` (a non-Success status), cannot reach here because the idp-status check
 * refuses such a response first, and on the worker pool only an error's name and message cross the thread.
 * Everything else node-saml judges is judged before it by our checks (shape, multiple assertions, status,
 * signature shapes and algorithms, times' syntax) or not by it at all: the ACS engine (AcsVerifier) stops
 * where the signatures verified and the signed assertion was found, before node-saml's profile step, and
 * our checks after it judge audience, windows, Conditions and confirmation on that signed assertion. What is
 * left is "does the signature verify", plus what node-saml cannot take of a message (e.g. no assertion in
 * what was signed), which is told apart from it only by its text.
 */
const ENGINE_MESSAGES: ReadonlyArray<{ pattern: RegExp; reason: SamlReason; message: string }> = [
  {
    pattern: /signature/i,
    reason: 'saml_signature_invalid',
    message: 'The signature is not valid for any of the IdP certificates in the metadata.',
  },
];

/**
 * What node-saml's refusal (in this thread or on the worker pool) means, by type first: ours passes through,
 * a pool failure (timeout, crashed worker) was no judgement of the response, an encrypted assertion's
 * failures all look the same from outside (no padding / format oracle); then by ENGINE_MESSAGES.
 */
export function classifyEngineError(err: unknown, encrypted: boolean): SamlRejection {
  if (err instanceof SamlRejection) return err;
  const text =
    typeof err === 'object' && err !== null && 'message' in err ? String(err.message) : String(err);
  const detail = { engine: text };
  if (err instanceof SamlEnginePoolError) {
    // Not node-saml's judgement (a validation that timed out or exhausted its worker): refused as a whole.
    if (encrypted) return encryptedAssertionInvalid({ ...detail, pool: true });
    return new SamlRejection('saml_response_invalid', 'The SAML response could not be accepted.', {
      ...detail,
      pool: true,
    });
  }
  // The trace keeps node-saml's detail for admins.
  if (encrypted) return encryptedAssertionInvalid(detail);
  const known = ENGINE_MESSAGES.find((m) => m.pattern.test(text));
  if (known) return new SamlRejection(known.reason, known.message, detail);
  return new SamlRejection('saml_response_invalid', 'The SAML response could not be accepted.', detail);
}
