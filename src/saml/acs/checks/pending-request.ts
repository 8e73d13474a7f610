import type { SamlRequestEntity } from '../../saml-request.entity';
import { reject, type ResponseFacts } from '../acs-message';

export const PENDING_REQUEST_REASONS = [
  'saml_in_response_to_unknown',
  'saml_unsolicited_response',
  'saml_relay_state_invalid',
] as const;

/**
 * The pending AuthnRequest the Response answers, taken out of the database (single use, any instance), or
 * an unsolicited response on a connection that allows IdP-initiated logins. A RelayState, when the
 * request is ours, must be that request's.
 */
export async function checkPendingRequest(
  response: ResponseFacts,
  options: { allowIdpInitiated: boolean; relayState: unknown },
  consume: (requestId: string) => Promise<SamlRequestEntity | null>,
): Promise<SamlRequestEntity | null> {
  const pending = response.inResponseTo ? await consume(response.inResponseTo) : null;
  if (response.inResponseTo && !pending) {
    reject(
      'saml_in_response_to_unknown',
      'This response answers a login request the bridge does not know, already used, or that expired. Start the login again.',
      { inResponseTo: response.inResponseTo },
    );
  }
  if (!pending && !options.allowIdpInitiated) {
    reject(
      'saml_unsolicited_response',
      'This connection does not accept IdP-initiated logins; start the login from the application.',
    );
  }
  const { relayState } = options;
  if (pending && typeof relayState === 'string' && relayState !== '' && relayState !== pending.id) {
    reject('saml_relay_state_invalid', 'The RelayState does not belong to this login.');
  }
  return pending;
}
