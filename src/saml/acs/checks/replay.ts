import { reject } from '../acs-message';

export const REPLAY_REASONS = ['saml_replay'] as const;

/**
 * The message ID was not used before (a database cache shared by every instance, until NotOnOrAfter + skew):
 * an assertion at the ACS, a LogoutRequest at single logout (whose IDs the caller keeps apart).
 */
export async function checkReplay(
  message: { id: string; notOnOrAfter: Date },
  clockSkewMs: number,
  remember: (id: string, until: Date) => Promise<boolean>,
  refusal: { message: string; detail: Record<string, unknown> } = {
    message: 'This assertion was already used.',
    detail: { assertionId: message.id },
  },
): Promise<void> {
  const fresh = await remember(message.id, new Date(message.notOnOrAfter.getTime() + clockSkewMs));
  if (!fresh) reject('saml_replay', refusal.message, refusal.detail);
}
