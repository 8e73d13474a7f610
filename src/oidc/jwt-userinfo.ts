import { Injectable } from '@nestjs/common';
import type Provider from 'oidc-provider';
import { JwtAccessTokens } from './jwt-access-tokens';
import { OidcSessionsRepository } from './oidc-sessions.repository';

/** How long the stand-in token lives at most (it is used by the same request, then expires). */
const STAND_IN_SECONDS = 60;

/**
 * userinfo for apps whose access tokens are RFC 9068 JWTs for the API (the default). oidc-provider's
 * userinfo refuses every token that carries an audience, and JWT access tokens are not stored, so the
 * bearer token such an app presents would always get 401. The bridge therefore checks the JWT the way a
 * resource server does (signature with the provider's keys, issuer, `typ: at+jwt`, audience, expiry) and
 * that it is not revoked (see JwtAccessTokens), finds
 * the grant it was issued under (gone after a logout, a revoked grant, a disabled user: the
 * request then goes on unchanged and oidc-provider answers 401 `invalid_token`), and hands oidc-provider's
 * own userinfo an equivalent short-lived opaque token bound to that grant. Claims, scopes, signed userinfo
 * responses and errors therefore stay oidc-provider's.
 */
@Injectable()
export class JwtUserinfo {
  constructor(
    private readonly grants: OidcSessionsRepository,
    private readonly tokens: JwtAccessTokens,
  ) {}

  /** The opaque token to use instead of `bearer`, or undefined to leave the request as it is. */
  async standIn(provider: Provider, bearer: string): Promise<string | undefined> {
    const payload = await this.tokens.verify(bearer);
    // Revoked (RFC 7009, its grant ended, its user disabled): oidc-provider answers 401 invalid_token.
    if (!payload) return undefined;
    const grantId = await this.tokens.activeGrant(payload);
    if (!grantId) return undefined;
    const sub = payload.sub;
    const clientId = payload.client_id;
    if (typeof sub !== 'string' || typeof clientId !== 'string') return undefined;
    // The grant the token was issued under (a logout or revocation deletes it).
    const grant = await this.grants.liveGrant(grantId, sub, clientId);
    if (!grant?.scope?.split(' ').includes('openid')) return undefined;
    const client = await provider.Client.find(clientId);
    if (!client) return undefined;
    const exp = typeof payload.exp === 'number' ? payload.exp : 0;
    const lifetime = Math.min(STAND_IN_SECONDS, exp - Math.floor(Date.now() / 1000));
    if (lifetime <= 0) return undefined;
    const token = new provider.AccessToken({
      accountId: sub,
      client,
      grantId: grant.id,
      scope: grant.scope,
      gty: 'userinfo_stand_in',
      expiresIn: lifetime,
    } as never);
    return token.save();
  }
}
