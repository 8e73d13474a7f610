import type { SamlRequestEntity } from '../../saml-request.entity';
import { refuseUnknownRequest } from './pending-request';
import { checkReplay } from './replay';

/** What the login's single-use writes did (see SamlStateService.acceptLogin). */
export interface AcceptOutcome {
  /** The pending request was taken by this response (always true for an IdP-initiated login). */
  requestTaken: boolean;
  /** The assertion ID was new, and is now in the replay cache. */
  remembered: boolean;
  /** The code of the stored completion, when both were true. */
  code?: string;
}

/**
 * Last, once every other check passed: the login is used once, in one statement (any instance). The
 * pending request is taken — a response that lost the race for it, from any instance, is refused as the
 * pending-request check refuses a used one — and the assertion ID recorded until NotOnOrAfter + skew, a
 * replay refused as such (the replay check's answer); only then is the login stored for its browser. The
 * reason codes are those two checks'.
 */
export async function checkSingleUse(
  pending: SamlRequestEntity | null,
  assertion: { id: string; notOnOrAfter: Date },
  clockSkewMs: number,
  accept: (until: Date) => Promise<AcceptOutcome>,
): Promise<string> {
  let code: string | undefined;
  await checkReplay(assertion, clockSkewMs, async (_id, until) => {
    const outcome = await accept(until);
    if (pending && !outcome.requestTaken) refuseUnknownRequest(pending.id);
    code = outcome.code;
    return outcome.remembered;
  });
  if (code === undefined) throw new Error('ACS single use: the login was accepted but no code returned');
  return code;
}
