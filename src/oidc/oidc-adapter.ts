import type { OidcClientEntity } from './oidc-client.entity';
import type { OidcStorageRepository } from './oidc-storage.repository';

type Payload = Record<string, unknown> & {
  grantId?: string;
  userCode?: string;
  uid?: string;
  consumed?: number;
};

/** Client metadata for oidc-provider, from a registered app. `client_secret` holds the secret's hash. */
export function clientMetadata(c: OidcClientEntity): Record<string, unknown> {
  const confidential = c.secretHash !== null;
  return {
    client_id: c.clientId,
    client_name: c.name,
    ...(confidential ? { client_secret: c.secretHash } : {}),
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    grant_types: c.grantTypes,
    response_types: c.grantTypes.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    id_token_signed_response_alg: c.idTokenSignedResponseAlg,
    ...(c.jwksUri ? { jwks_uri: c.jwksUri } : {}),
    ...(c.backchannelLogoutUri
      ? { backchannel_logout_uri: c.backchannelLogoutUri, backchannel_logout_session_required: true }
      : {}),
    'urn:saml-bridge:access_token_format': c.accessTokenFormat,
    'urn:saml-bridge:allowed_connections': c.allowedConnections,
    'urn:saml-bridge:lifetimes': c.lifetimes,
  };
}

/** What the adapter reports when a redemption of a single-use artefact lost the race to another one. */
export interface LostRedemption {
  /** The oidc-provider model: `AuthorizationCode`, `RefreshToken`, `DeviceCode`… */
  model: string;
  /** The grant the artefact belonged to, now revoked (null when the artefact was gone already). */
  grantId: string | null;
  /** How many stored artefacts the revocation removed (the grant, its tokens and codes). */
  revoked: number;
}

export interface OidcAdapterHooks {
  /** The error the losing redemption fails with (oidc-provider's InvalidGrant, rendered as invalid_grant). */
  lostRedemptionError: (model: string) => Error;
  /** Told of every lost redemption, after the grant was revoked (audit, metrics). Must not throw. */
  lostRedemption: (lost: LostRedemption) => Promise<void>;
}

/**
 * oidc-provider's storage on PostgreSQL: every model (sessions, grants, codes, tokens, interactions…) in
 * one table keyed by (model, id), with atomic consume, revokeByGrantId and expiry. Clients come from the
 * apps table. Every instance shares it.
 */
export function createOidcAdapter(
  storage: OidcStorageRepository,
  findClient: (id: string) => Promise<OidcClientEntity | null>,
  hooks: OidcAdapterHooks,
) {
  return class PostgresOidcAdapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      await storage.upsert(this.model, id, payload, {
        grantId: payload.grantId ?? null,
        userCode: payload.userCode ?? null,
        uid: payload.uid ?? null,
        expiresAt: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      });
    }

    private async findWhere(where: 'id' | 'uid' | 'user_code', value: string): Promise<Payload | undefined> {
      const stored = await storage.find(this.model, where, value);
      if (!stored) return undefined;
      const payload = stored.payload as Payload;
      return stored.consumedAt
        ? { ...payload, consumed: Math.floor(stored.consumedAt.getTime() / 1000) }
        : payload;
    }

    async find(id: string): Promise<Payload | undefined> {
      if (this.model === 'Client') {
        const client = await findClient(id);
        return client ? (clientMetadata(client) as Payload) : undefined;
      }
      return this.findWhere('id', id);
    }

    findByUid(uid: string): Promise<Payload | undefined> {
      return this.findWhere('uid', uid);
    }

    findByUserCode(userCode: string): Promise<Payload | undefined> {
      return this.findWhere('user_code', userCode);
    }

    /**
     * Marks a one-time artefact (authorization code, rotated refresh token…) used. oidc-provider checks
     * `consumed` on the copy it read before calling this, so two concurrent redemptions would both pass
     * that check: the conditional UPDATE decides, in the database, which one wins (any instance). The loser
     * is the replay RFC 6749 §4.1.2 and §10.4 describe: it revokes the grant with everything issued under
     * it — including what the winner is issuing now, whose grant is then gone — and fails with invalid_grant
     * before anything is issued for it.
     */
    async consume(id: string): Promise<void> {
      if (await storage.consume(this.model, id)) return;
      const revoked = await storage.revokeGrantOf(this.model, id);
      await hooks.lostRedemption({ model: this.model, grantId: revoked[0] ?? null, revoked: revoked.length });
      throw hooks.lostRedemptionError(this.model);
    }

    async destroy(id: string): Promise<void> {
      await storage.destroy(this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await storage.revokeGrant(grantId);
    }
  };
}
