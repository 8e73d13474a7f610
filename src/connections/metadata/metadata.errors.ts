/** Stable, machine-readable reasons why IdP metadata could not be imported. */
export type MetadataErrorCode =
  | 'metadata_empty'
  | 'metadata_too_large'
  | 'metadata_doctype_forbidden'
  | 'metadata_malformed_xml'
  | 'metadata_not_saml'
  | 'metadata_entity_not_found'
  | 'metadata_entity_ambiguous'
  | 'metadata_no_idp_descriptor'
  | 'metadata_no_sso_endpoint'
  | 'metadata_no_signing_certificate'
  | 'metadata_certificate_invalid'
  | 'metadata_signature_missing'
  | 'metadata_signature_invalid'
  | 'metadata_too_complex';

/**
 * IdP metadata was rejected. `message` is written for the customer's IT admin: it says what is wrong and
 * what to do about it. `details` carries structured data (e.g. the entity IDs found in the document).
 */
export class MetadataError extends Error {
  constructor(
    public readonly code: MetadataErrorCode,
    message: string,
    public readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'MetadataError';
  }
}
