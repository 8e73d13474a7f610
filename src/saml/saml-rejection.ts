import { DomainError, type DomainErrorKind } from '../common/domain-error';

/** Stable reason codes for every way a SAML message is refused. */
export type SamlReason =
  | 'saml_connection_not_found'
  | 'saml_connection_disabled'
  | 'saml_message_missing'
  | 'saml_message_too_large'
  | 'saml_message_not_base64'
  | 'saml_doctype_forbidden'
  | 'saml_malformed_xml'
  | 'saml_not_a_response'
  | 'saml_idp_error_status'
  | 'saml_no_assertion'
  | 'saml_multiple_assertions'
  | 'saml_assertion_misplaced'
  | 'saml_duplicate_id'
  | 'saml_signature_missing'
  | 'saml_signature_invalid'
  | 'saml_signature_malformed'
  | 'saml_signature_algorithm_forbidden'
  | 'saml_encryption_algorithm_forbidden'
  | 'saml_encrypted_assertion_invalid'
  | 'saml_comment_in_value'
  | 'saml_destination_mismatch'
  | 'saml_issuer_mismatch'
  | 'saml_audience_mismatch'
  | 'saml_recipient_mismatch'
  | 'saml_confirmation_invalid'
  | 'saml_not_yet_valid'
  | 'saml_expired'
  | 'saml_session_expired'
  | 'saml_in_response_to_unknown'
  | 'saml_in_response_to_mismatch'
  | 'saml_unsolicited_response'
  | 'saml_replay'
  | 'saml_subject_missing'
  | 'saml_subject_unstable'
  | 'saml_attribute_conflict'
  | 'saml_authn_context_unmet'
  | 'saml_authn_stale'
  | 'saml_user_disabled'
  | 'user_deprovisioned'
  | 'saml_relay_state_invalid'
  | 'saml_logout_invalid'
  | 'saml_binding_unsupported'
  | 'saml_response_invalid'
  | 'saml_login_unavailable'
  | 'saml_login_not_found'
  | 'saml_browser_mismatch';

/** What each refusal is in domain terms (its HTTP status is common/error-status.ts's business). */
const KIND_OF_REASON: Partial<Record<SamlReason, DomainErrorKind>> = {
  saml_connection_not_found: 'not_found',
  saml_connection_disabled: 'forbidden',
  saml_message_too_large: 'too_large',
  saml_authn_context_unmet: 'forbidden',
  saml_authn_stale: 'forbidden',
  saml_user_disabled: 'forbidden',
  user_deprovisioned: 'forbidden',
  saml_browser_mismatch: 'forbidden',
  saml_login_unavailable: 'conflict',
};

/** The kind of a refusal for `reason`: `invalid` unless the table above says otherwise. */
export function kindOfSamlReason(reason: SamlReason): DomainErrorKind {
  return KIND_OF_REASON[reason] ?? 'invalid';
}

/**
 * A refused SAML message: a reason code and a safe message for the browser; `detail` is for the admin's
 * trace and audit only (never shown to the browser, never the JSON API's `details`).
 */
export class SamlRejection extends DomainError {
  declare readonly reason: SamlReason;

  constructor(
    reason: SamlReason,
    message: string,
    public readonly detail: Record<string, unknown> = {},
  ) {
    super(kindOfSamlReason(reason), reason, message);
    this.name = 'SamlRejection';
  }
}

/**
 * A rejection once recorded: the SSO trace id the browser should show (the only way a trace id travels
 * with a refusal) and, for a refused ACS login, the pending login's context (`{ consumer, state }`), so
 * the controller layer can ask that login's consumer where the browser goes instead of the error page.
 */
export class TracedSamlRejection extends SamlRejection {
  constructor(
    rejection: SamlRejection,
    public readonly traceId: string | undefined,
    public readonly login?: { context: Record<string, unknown> | undefined },
  ) {
    super(rejection.reason, rejection.message, rejection.detail);
  }
}
