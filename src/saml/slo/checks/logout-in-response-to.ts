import { reject } from '../../acs/acs-message';
import type { SamlRequestEntity } from '../../saml-request.entity';

export const LOGOUT_IN_RESPONSE_TO_REASONS = ['saml_in_response_to_unknown'] as const;

/**
 * A LogoutResponse answers a logout request of ours that is still pending, for this connection: taken out
 * (single use, shared by all instances), so a captured answer cannot be replayed.
 */
export async function checkLogoutInResponseTo(
  inResponseTo: string | undefined,
  consume: (requestId: string) => Promise<SamlRequestEntity | null>,
): Promise<SamlRequestEntity> {
  const pending = inResponseTo ? await consume(inResponseTo) : null;
  if (!pending) {
    reject('saml_in_response_to_unknown', 'This LogoutResponse answers no logout request of ours.', {
      inResponseTo: inResponseTo ?? null,
    });
  }
  return pending;
}
