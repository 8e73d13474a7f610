import type { AcrMapping } from '../connections/connection.entity';
import type { RequestedAuthn } from '../saml/requested-authn';

/** The OIDC error an app gets when the authentication it requires cannot be met (OIDC Core errata). */
export const UNMET_AUTHENTICATION_REQUIREMENTS = 'unmet_authentication_requirements';

/** What the app's authorization request asks of the authentication (acr_values, claims, max_age, prompt). */
export interface AppAuthnRequest {
  /** Requested acr values, in order of preference. */
  acrValues: string[];
  /** claims.id_token.acr was essential: the login must meet one of acrValues. */
  essential: boolean;
  maxAgeSeconds?: number;
  /** oidc-provider's login prompt asks for a fresh authentication (prompt=login, or max_age passed). */
  reauthenticate: boolean;
}

function acrClaimRequest(claims: unknown): { values: string[]; essential: boolean } | undefined {
  if (typeof claims !== 'string') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(claims);
  } catch {
    return undefined; // oidc-provider refuses an unparsable claims parameter before the interaction
  }
  const acr = (parsed as { id_token?: { acr?: unknown } } | null)?.id_token?.acr;
  if (!acr || typeof acr !== 'object') return undefined;
  const { essential, values, value } = acr as { essential?: unknown; values?: unknown; value?: unknown };
  const list = Array.isArray(values)
    ? values.filter((v): v is string => typeof v === 'string')
    : typeof value === 'string'
      ? [value]
      : [];
  return { values: list, essential: essential === true };
}

/**
 * Reads an authorization request's authentication requirements: `claims.id_token.acr` (essential or not)
 * wins over `acr_values` (always voluntary, OIDC Core §3.1.2.1); `prompt=login` and a `max_age` the
 * session does not meet are oidc-provider's `login_prompt` and `max_age` reasons for the login prompt.
 */
export function appAuthnRequest(params: Record<string, unknown>, promptReasons: string[]): AppAuthnRequest {
  const fromClaims = acrClaimRequest(params.claims);
  const acrValues =
    fromClaims && fromClaims.values.length > 0
      ? fromClaims.values
      : typeof params.acr_values === 'string'
        ? params.acr_values.split(' ').filter(Boolean)
        : [];
  const maxAge = Number(params.max_age);
  return {
    acrValues,
    essential: fromClaims?.essential === true && acrValues.length > 0,
    maxAgeSeconds:
      params.max_age !== undefined && Number.isInteger(maxAge) && maxAge >= 0 ? maxAge : undefined,
    reauthenticate: promptReasons.includes('login_prompt') || promptReasons.includes('max_age'),
  };
}

/**
 * What the SAML login must ask of the IdP for this app request on a connection with `acrMap`: ForceAuthn
 * when a fresh authentication is needed, a RequestedAuthnContext with the classes of every requested acr
 * value the map knows (unknown voluntary values are ignored), required when the acr is essential. An
 * essential acr that maps to nothing cannot be met: `unmet`, before anyone goes to the IdP.
 */
export function requestedAuthnFor(
  request: AppAuthnRequest,
  acrMap: AcrMapping[],
): { authn: RequestedAuthn } | { unmet: string } {
  const mapped = request.acrValues
    .map((acr) => acrMap.find((m) => m.acr === acr))
    .filter((m): m is AcrMapping => m !== undefined);
  if (request.essential && mapped.length === 0) {
    return {
      unmet: `This sign-in cannot provide the required authentication (${request.acrValues.join(', ').slice(0, 200)}).`,
    };
  }
  const classRefs = [...new Set(mapped.flatMap((m) => m.classRefs))];
  return {
    authn: {
      forceAuthn: request.reauthenticate,
      ...(mapped[0] && classRefs.length > 0
        ? { context: { classRefs, comparison: mapped[0].comparison ?? 'exact' } }
        : {}),
      required: request.essential,
      ...(request.maxAgeSeconds !== undefined ? { maxAgeSeconds: request.maxAgeSeconds } : {}),
    },
  };
}

/**
 * The ID token's `acr` and `amr` for what the IdP reported: the acr value whose classes include the
 * returned AuthnContextClassRef (the values the app asked for first, then the map's order) with that
 * entry's amr; a class the map does not know is passed on as it is, with amr `ext` (authenticated by the
 * external IdP, method not known). No class reported: no acr.
 */
export function idTokenAuthn(
  classRef: string | null | undefined,
  acrMap: AcrMapping[],
  preferred: string[] = [],
): { acr?: string; amr: string[] } {
  if (!classRef) return { amr: ['ext'] };
  const candidates = acrMap.filter((m) => m.classRefs.includes(classRef));
  const entry =
    preferred.map((acr) => candidates.find((m) => m.acr === acr)).find((m) => m !== undefined) ??
    candidates[0];
  if (!entry) return { acr: classRef, amr: ['ext'] };
  return { acr: entry.acr, amr: entry.amr && entry.amr.length > 0 ? entry.amr : ['ext'] };
}
