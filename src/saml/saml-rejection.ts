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

/** A refused SAML message: a reason code for the browser, the detail for the admin's trace. */
export class SamlRejection extends Error {
  constructor(
    public readonly reason: SamlReason,
    message: string,
    public readonly detail: Record<string, unknown> = {},
    public readonly status = 400,
    /** A same-origin path the browser goes to instead of the error page (e.g. to end an OIDC interaction). */
    public readonly continueTo?: string,
  ) {
    super(message);
    this.name = 'SamlRejection';
  }
}

/** A rejection with the trace id the browser should show. */
export class TracedSamlRejection extends SamlRejection {
  constructor(
    rejection: SamlRejection,
    public readonly traceId: string | undefined,
  ) {
    super(rejection.reason, rejection.message, rejection.detail, rejection.status, rejection.continueTo);
  }
}
