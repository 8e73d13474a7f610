import { reject, type AssertionFacts } from '../acs-message';

export const REPLAY_REASONS = ['saml_replay'] as const;

/** The assertion ID was not used before (a database cache shared by every instance, until NotOnOrAfter + skew). */
export async function checkReplay(
  assertion: AssertionFacts,
  clockSkewMs: number,
  remember: (assertionId: string, until: Date) => Promise<boolean>,
): Promise<void> {
  const fresh = await remember(assertion.id, new Date(assertion.notOnOrAfter.getTime() + clockSkewMs));
  if (!fresh) reject('saml_replay', 'This assertion was already used.', { assertionId: assertion.id });
}
