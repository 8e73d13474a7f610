/** RequestedAuthnContext Comparison (SAML core §3.3.2.2.1). */
export const AUTHN_COMPARISONS = ['exact', 'minimum', 'maximum', 'better'] as const;
export type AuthnComparison = (typeof AUTHN_COMPARISONS)[number];

/**
 * What whoever starts a login asks of the IdP's authentication, in SAML terms only (the SAML core knows
 * nothing of OIDC): ForceAuthn, a RequestedAuthnContext, and what the response must then show.
 */
export interface RequestedAuthn {
  /** ForceAuthn="true": the IdP re-authenticates even with a session; AuthnInstant must then be fresh. */
  forceAuthn: boolean;
  /** RequestedAuthnContext for this login (instead of the connection's own setting), if any. */
  context?: { classRefs: string[]; comparison: AuthnComparison };
  /** The returned AuthnContextClassRef must be one of context.classRefs (else saml_authn_context_unmet). */
  required: boolean;
  /** The returned AuthnInstant must be at most this many seconds old (else saml_authn_stale). */
  maxAgeSeconds?: number;
}

/** What the pending request remembers of it (saml_requests.context, under PENDING_AUTHN_KEY). */
export interface PendingAuthn {
  /** The AuthnRequest carried ForceAuthn="true" (asked for this login or by the connection). */
  forceAuthn: boolean;
  /** Class refs the returned AuthnContextClassRef must be one of (absent: any). */
  requiredClassRefs?: string[];
  maxAgeSeconds?: number;
}

export const PENDING_AUTHN_KEY = 'requestedAuthn';

/** The pending request's authentication requirements, as startLogin stored them (undefined: none). */
export function pendingAuthnOf(context: Record<string, unknown> | undefined): PendingAuthn | undefined {
  const value = context?.[PENDING_AUTHN_KEY];
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const strings = (x: unknown) =>
    Array.isArray(x) && x.every((s) => typeof s === 'string') ? (x as string[]) : undefined;
  return {
    forceAuthn: v.forceAuthn === true,
    requiredClassRefs: strings(v.requiredClassRefs),
    maxAgeSeconds: typeof v.maxAgeSeconds === 'number' ? v.maxAgeSeconds : undefined,
  };
}

/** What startLogin stores for a login (undefined when nothing is asked: the context stays as it was). */
export function pendingAuthnFor(
  requested: RequestedAuthn | undefined,
  connectionForcesAuthn: boolean,
): PendingAuthn | undefined {
  const forceAuthn = connectionForcesAuthn || requested?.forceAuthn === true;
  const requiredClassRefs = requested?.required ? (requested.context?.classRefs ?? []) : undefined;
  if (!forceAuthn && !requiredClassRefs && requested?.maxAgeSeconds === undefined) return undefined;
  return {
    forceAuthn,
    ...(requiredClassRefs ? { requiredClassRefs } : {}),
    ...(requested?.maxAgeSeconds !== undefined ? { maxAgeSeconds: requested.maxAgeSeconds } : {}),
  };
}
