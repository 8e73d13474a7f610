import type { Grant, KoaContextWithOIDC } from 'oidc-provider';

/**
 * Adds to `grant` what the authorization request asks for and the grant does not hold yet: the OIDC scopes,
 * the claims, and each resource server's scopes. These are the three things oidc-provider's consent
 * prompt checks (`op_scopes_missing`, `op_claims_missing`, `rs_scopes_missing`), so a grant topped up here
 * leaves nothing for that prompt to ask. True when something was added (the grant needs saving).
 */
export function grantRequested(grant: Grant, oidc: KoaContextWithOIDC['oidc']): boolean {
  const missing = (requested: Iterable<string>, held: Iterable<string>, available?: Set<string>) => {
    const have = new Set(held);
    return [...requested].filter((item) => !have.has(item) && (!available || available.has(item)));
  };
  const scopes = missing(oidc.requestParamOIDCScopes, grant.getOIDCScopeEncountered().split(' '));
  const claims = missing(oidc.requestParamClaims, grant.getOIDCClaimsEncountered());
  if (scopes.length) grant.addOIDCScope(scopes);
  if (claims.length) grant.addOIDCClaims(claims);
  let added = scopes.length + claims.length > 0;
  for (const [resource, server] of Object.entries(oidc.resourceServers ?? {})) {
    const resourceScopes = missing(
      oidc.requestParamScopes,
      grant.getResourceScopeEncountered(resource).split(' '),
      server.scopes,
    );
    if (resourceScopes.length) {
      grant.addResourceScope(resource, resourceScopes);
      added = true;
    }
  }
  return added;
}

/**
 * oidc-provider's `loadExistingGrant`: consent is implicit (apps are registered by the bridge's admin), so
 * the signed-in user's grant for the app is loaded, or created, and given whatever the request asks for,
 * before the interaction policy runs. An authorization request therefore needs no consent round trip:
 * the login's own result carries `consent` (see the interaction controller), and a later request with a
 * live session gets its code at once. A grant of another account or app is returned untouched, so
 * oidc-provider still refuses it (its `accountId mismatch` / `clientId mismatch` checks).
 */
export async function loadImplicitGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { oidc } = ctx;
  const client = oidc.client;
  const accountId = oidc.account?.accountId;
  if (!client || !accountId || !oidc.session) return undefined;
  const grantId =
    (oidc.result?.consent as { grantId?: string } | undefined)?.grantId ??
    oidc.session.grantIdFor(client.clientId);
  const found = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (found && (found.accountId !== accountId || found.clientId !== client.clientId)) return found;
  const grant = found ?? new oidc.provider.Grant({ accountId, clientId: client.clientId });
  if (grantRequested(grant, oidc)) await grant.save();
  return grant;
}
