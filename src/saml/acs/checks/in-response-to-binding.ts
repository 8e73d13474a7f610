import type { SamlRequestEntity } from '../../saml-request.entity';
import { type AssertionFacts, reject, type ResponseFacts } from '../acs-message';

export const IN_RESPONSE_TO_BINDING_REASONS = ['saml_in_response_to_mismatch'] as const;

/**
 * The pending request the Response names is the one signed content answers: the assertion's
 * SubjectConfirmationData InResponseTo, or the Response's when the Response is signed. An assertion that
 * answers a request is not accepted as an unsolicited one.
 */
export function checkInResponseToBinding(
  pending: SamlRequestEntity | null,
  response: ResponseFacts,
  assertion: AssertionFacts,
): void {
  const signedAnswer =
    assertion.subjectConfirmationInResponseTo ??
    (response.responseSigned ? response.inResponseTo : undefined);
  if (pending && signedAnswer !== pending.id) {
    reject('saml_in_response_to_mismatch', 'The signed assertion answers another login request.', {
      expected: pending.id,
      signed: signedAnswer ?? null,
    });
  }
  if (!pending && assertion.subjectConfirmationInResponseTo) {
    reject(
      'saml_in_response_to_mismatch',
      'The assertion answers a login request the response does not name.',
    );
  }
}
