import type { SamlRequestEntity } from '../../saml-request.entity';
import { reject, type ResponseFacts } from '../acs-message';

export const PENDING_REQUEST_REASONS = [
  'saml_in_response_to_unknown',
  'saml_unsolicited_response',
  'saml_relay_state_invalid',
] as const;

/** The refusal of a response to a request that is unknown, expired or already answered (any instance). */
export function refuseUnknownRequest(inResponseTo: string): never {
  reject(
    'saml_in_response_to_unknown',
    'This response answers a login request the bridge does not know, already used, or that expired. Start the login again.',
    { inResponseTo },
  );
}

/**
 * The pending AuthnRequest the Response answers, read from the database (any instance; it is taken, single
 * use, by the single-use check once every other check passed), or an unsolicited response on a connection
 * that allows IdP-initiated logins. A RelayState, when the request is ours, must be that request's.
 */
export async function checkPendingRequest(
  response: ResponseFacts,
  options: { allowIdpInitiated: boolean; relayState: unknown },
  find: (requestId: string) => Promise<SamlRequestEntity | null>,
): Promise<SamlRequestEntity | null> {
  const pending = response.inResponseTo ? await find(response.inResponseTo) : null;
  if (response.inResponseTo && !pending) refuseUnknownRequest(response.inResponseTo);
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
