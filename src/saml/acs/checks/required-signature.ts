import type { ConnectionEntity } from '../../../connections/connection.entity';
import { reject, type ResponseFacts } from '../acs-message';

export const REQUIRED_SIGNATURE_REASONS = ['saml_signature_missing'] as const;

/**
 * The Response or the assertion carries a signature, and the one the connection requires
 * (options.requiredSignature) is there. Whether it verifies is the engine's part; an encrypted assertion
 * is judged after decryption, on what the IdP signed.
 */
export function checkRequiredSignature(connection: ConnectionEntity, facts: ResponseFacts): void {
  const required = connection.options.requiredSignature;
  if (!facts.responseSigned && !facts.assertionSigned) {
    reject('saml_signature_missing', 'Neither the response nor the assertion is signed.');
  }
  if ((required === 'response' || required === 'both') && !facts.responseSigned) {
    reject('saml_signature_missing', 'This connection requires the IdP to sign the SAML Response.');
  }
  if ((required === 'assertion' || required === 'both') && !facts.assertionSigned) {
    reject('saml_signature_missing', 'This connection requires the IdP to sign the assertion.');
  }
}
