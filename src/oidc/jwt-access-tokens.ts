import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { UsersService } from '../users/users.service';
import { AccessTokenJtisRepository } from './access-token-jtis.repository';

type JoseModule = typeof import('jose');
type KeySet = ReturnType<JoseModule['createLocalJWKSet']>;

/** The audience of the bridge's JWT access tokens (RFC 8707 resource of internal apps' APIs). */
export const JWT_ACCESS_TOKEN_AUDIENCE = 'urn:saml-bridge:api';

/** At most this many entries in one answer of the revocation list (the cursor continues). */
export const REVOKED_PAGE_LIMIT = 10_000;

/** The claims of a verified JWT access token of the bridge (RFC 9068). */
export interface AccessTokenClaims {
  jti: string;
  sub: string;
  client_id: string;
  exp: number;
  iat?: number;
  scope?: string;
  aud: string | string[];
  iss: string;
}

/** A JWT access token issued under a grant, as recorded at issuance. */
export interface IssuedJwt {
  jti: string;
  grantId: string;
  accountId: string;
  clientId: string;
  /** Seconds since the epoch. */
  exp: number;
}

/** One page of the revocation list. */
export interface RevokedPage {
  revoked: Array<{ jti: string; exp: number }>;
  /** Pass as `since` on the next poll. */
  next: string;
  /** Changes whenever the answer for the same `since` would change. */
  etag: string;
}

/** The public parts of the provider's signing keys, for verifying the bridge's own JWT access tokens. */
export function publicJwks(privateJwks: Array<Record<string, unknown>>): {
  keys: Array<Record<string, unknown>>;
} {
  const PUBLIC = ['kty', 'kid', 'alg', 'use', 'n', 'e', 'crv', 'x', 'y'];
  return {
    keys: privateJwks.map((jwk) =>
      Object.fromEntries(PUBLIC.filter((k) => jwk[k] !== undefined).map((k) => [k, jwk[k]])),
    ),
  };
}

/**
 * Revocation of the bridge's JWT access tokens, which oidc-provider neither stores nor can revoke or
 * introspect. The tokens issued under a grant are recorded at issuance (one INSERT on the token endpoint;
 * client_credentials tokens have no grant and are not recorded); a token is revoked by its own revocation
 * (RFC 7009), or when its grant ends (a trigger on the Grant row, see the migration), or when its user is
 * disabled or deprovisioned. Introspection answers from the verified token and that record; resource
 * servers poll the revoked jtis (GET /oidc/revoked-jtis). Rows are purged once their token has expired.
 */
@Injectable()
export class JwtAccessTokens {
  private keySet?: { version: Array<Record<string, unknown>>; set: KeySet };
  private jwks: Array<Record<string, unknown>> = [];

  constructor(
    private readonly jtis: AccessTokenJtisRepository,
    private readonly users: UsersService,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  /** The provider's signing keys (set by the provider host whenever it builds a provider). */
  useKeys(jwks: Array<Record<string, unknown>>): void {
    this.jwks = jwks;
  }

  /**
   * The claims of `token` when it is a JWT access token of the bridge: signature with the provider's keys,
   * issuer, `typ: at+jwt`, audience, expiry. Undefined for anything else.
   */
  async verify(token: string): Promise<AccessTokenClaims | undefined> {
    if (token.split('.').length !== 3) return undefined;
    const jose = await import('jose');
    if (this.keySet?.version !== this.jwks)
      this.keySet = { version: this.jwks, set: jose.createLocalJWKSet(publicJwks(this.jwks) as never) };
    try {
      const { payload } = await jose.jwtVerify(token, this.keySet.set, {
        issuer: this.config.issuer,
        audience: JWT_ACCESS_TOKEN_AUDIENCE,
        typ: 'at+jwt',
        algorithms: ['RS256', 'ES256'],
      });
      const { jti, sub, client_id: clientId, exp } = payload as Record<string, unknown>;
      if (typeof jti !== 'string' || typeof sub !== 'string' || typeof clientId !== 'string')
        return undefined;
      if (typeof exp !== 'number') return undefined;
      return payload as unknown as AccessTokenClaims;
    } catch {
      return undefined;
    }
  }

  /** A user's token (authorization code, refresh): its subject is not the app itself. */
  static isUserToken(claims: AccessTokenClaims): boolean {
    return claims.sub !== claims.client_id;
  }

  /**
   * Records a JWT access token issued under a grant (the token endpoint's hot path: one prepared INSERT).
   * Revoked at once when its grant has already ended.
   */
  async record(issued: IssuedJwt): Promise<void> {
    await this.jtis.record(issued);
  }

  /**
   * Whether a verified token is still active: not revoked and, for a user's token, issued under a grant
   * that still exists, to a user who is still active. A user's token the bridge has no record of is not
   * vouched for.
   */
  async isActive(claims: AccessTokenClaims): Promise<boolean> {
    return (await this.activeGrant(claims)) !== false;
  }

  /** As isActive; for an active user's token, the grant it was issued under (null for a service token). */
  async activeGrant(claims: AccessTokenClaims): Promise<string | null | false> {
    const state = await this.jtis.state(claims.jti);
    if (state?.revoked) return false;
    if (!JwtAccessTokens.isUserToken(claims)) return null;
    if (!state?.grantId || !state.grantLive) return false;
    return (await this.users.findActive(claims.sub)) !== null ? state.grantId : false;
  }

  /** The RFC 7662 answer for a verified token. */
  async introspection(claims: AccessTokenClaims): Promise<Record<string, unknown>> {
    if (!(await this.isActive(claims))) return { active: false };
    return {
      active: true,
      client_id: claims.client_id,
      sub: claims.sub,
      exp: claims.exp,
      iat: claims.iat,
      iss: claims.iss,
      jti: claims.jti,
      aud: claims.aud,
      scope: claims.scope,
      token_type: 'Bearer',
    };
  }

  /** Puts a verified token on the revocation list (RFC 7009). Its grant stays, as for opaque tokens. */
  async revoke(claims: AccessTokenClaims): Promise<void> {
    const user = JwtAccessTokens.isUserToken(claims);
    await this.jtis.revoke(claims.jti, user ? claims.sub : null, claims.client_id, claims.exp);
  }

  /** Revokes every unexpired JWT access token of these users (disabled, deprovisioned). Returns how many. */
  async revokeAccounts(accountIds: string[]): Promise<number> {
    if (accountIds.length === 0) return 0;
    return this.jtis.revokeAccounts(accountIds);
  }

  /**
   * The unexpired revoked jtis, those revoked at or after `since` (a cursor of a previous answer) or all
   * of them. An entry may come again in a later answer (a poll overlaps the revocations still being
   * committed): the list is a set.
   */
  async revokedSince(since?: string): Promise<RevokedPage> {
    const rows = await this.jtis.revokedFrom(since ?? null, REVOKED_PAGE_LIMIT + 1);
    let next: string;
    const lastListed = rows.length > REVOKED_PAGE_LIMIT ? rows[REVOKED_PAGE_LIMIT - 1] : undefined;
    if (lastListed) {
      // A full page: the next one starts at the last transaction listed (it may repeat part of it).
      rows.length = REVOKED_PAGE_LIMIT;
      next = lastListed.xid;
    } else {
      // Every transaction older than the oldest still running has committed or aborted: none of them can
      // add a revocation any more, so the next poll starts there.
      const xmin = await this.jtis.snapshotXmin();
      next = since && BigInt(since) > BigInt(xmin) ? since : xmin;
    }
    const revoked = rows.map((r) => ({ jti: r.jti, exp: r.exp }));
    const etag = `"${createHash('sha256')
      .update(since ?? '')
      .update('\n')
      .update(revoked.map((r) => r.jti).join(','))
      .digest('base64url')
      .slice(0, 22)}"`;
    return { revoked, next, etag };
  }

  /**
   * A safety net for a grant ended while one of its tokens was being recorded (the trigger ran before the
   * row was committed): such tokens are revoked here. Then rows of expired tokens are dropped.
   */
  async sweep(): Promise<{ revoked: number; purged: number }> {
    const revoked = await this.jtis.revokeOrphaned();
    const purged = await this.jtis.deleteExpired();
    return { revoked, purged };
  }
}
