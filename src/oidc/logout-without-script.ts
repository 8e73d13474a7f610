import type { KoaContextWithOIDC } from 'oidc-provider';

/** oidc-provider's session as the end_session route sees it (the parts the bridge reads). */
interface EndSessionState {
  accountId?: string;
  state?: { secret?: string };
  sidFor(clientId: string): string | undefined;
}

/**
 * Whether RP-initiated logout may go ahead without asking the user: the app sent an `id_token_hint`
 * (oidc-provider has already verified its signature and audience, and the `post_logout_redirect_uri`
 * against the app's registered ones) that names the user signed in here and this session (`sub` and `sid`).
 * A hint for another user or another session, or no hint at all, must be confirmed by the user
 * (RP-Initiated Logout 1.0 §2 and §6).
 */
export function hintMatchesSession(ctx: KoaContextWithOIDC): boolean {
  const hint = (ctx.oidc.entities as { IdTokenHint?: { payload?: Record<string, unknown> } }).IdTokenHint;
  const session = ctx.oidc.session as unknown as EndSessionState | undefined;
  const clientId = ctx.oidc.client?.clientId;
  if (!hint?.payload || !session?.accountId || !clientId) return false;
  const { sub, sid } = hint.payload;
  return sub === session.accountId && typeof sid === 'string' && sid === session.sidFor(clientId);
}

/**
 * The confirmation as a same-site GET the browser follows without a script: the logout form's fields
 * (the session's xsrf secret, `logout=yes`) in the query of oidc-provider's confirm route. The secret is
 * the one the form would carry, issued for this browser's session by this request.
 */
export function confirmLocation(ctx: KoaContextWithOIDC): string | undefined {
  const secret = (ctx.oidc.session as unknown as EndSessionState | undefined)?.state?.secret;
  if (!secret) return undefined;
  const url = new URL(ctx.oidc.urlFor('end_session_confirm'));
  url.searchParams.set('xsrf', secret);
  url.searchParams.set('logout', 'yes');
  return url.pathname + url.search;
}

/**
 * Koa middleware (before oidc-provider's router): a GET of the confirm route with exactly the form's
 * fields becomes the POST the form would have sent, so that oidc-provider ends the session itself
 * (back-channel logout, grants, cookies, events) and redirects to the app's post-logout URI.
 */
export async function confirmByGet(
  ctx: KoaContextWithOIDC,
  next: () => Promise<void>,
  confirmPath: string,
): Promise<void> {
  // Only a GET without a body that nothing has read yet (always so before oidc-provider's router).
  if (
    ctx.method === 'GET' &&
    ctx.path === confirmPath &&
    !ctx.get('content-length') &&
    !ctx.req.readableEnded
  ) {
    const keys = Object.keys(ctx.query).sort();
    const { xsrf, logout } = ctx.query;
    if (keys.join(',') === 'logout,xsrf' && typeof xsrf === 'string' && logout === 'yes') {
      const body = new URLSearchParams({ xsrf, logout }).toString();
      ctx.method = 'POST';
      ctx.req.headers['content-type'] = 'application/x-www-form-urlencoded';
      ctx.req.headers['content-length'] = String(Buffer.byteLength(body));
      ctx.url = confirmPath;
      // The GET came without a body and nothing has read it: the form's fields become its body, which
      // oidc-provider's own parser then reads (unshift before the stream's 'end' event, as Node allows).
      ctx.req.unshift(Buffer.from(body));
    }
  }
  await next();
}
