import type { DataSource } from 'typeorm';
import { returnedRows } from '../database/returned-rows';
import type { Statements } from '../database/statements';
import type { OidcClientEntity } from './oidc-client.entity';

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
  statements: Statements,
  findClient: (id: string) => Promise<OidcClientEntity | null>,
  hooks: OidcAdapterHooks,
) {
  const run = <R>(name: string, text: string, values: unknown[]) =>
    statements.rows<R>(`oidc_${name}`, text, values);
  const findSql = (where: 'id' | 'uid' | 'user_code') =>
    `SELECT payload, consumed_at FROM oidc_models
      WHERE model = $1 AND ${where} = $2 AND (expires_at IS NULL OR expires_at > now())`;
  const FIND = { id: findSql('id'), uid: findSql('uid'), user_code: findSql('user_code') };
  return class PostgresOidcAdapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
      await run(
        'upsert',
        `INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
           user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`,
        [
          this.model,
          id,
          JSON.stringify(payload),
          payload.grantId ?? null,
          payload.userCode ?? null,
          payload.uid ?? null,
          expiresAt,
        ],
      );
    }

    private async findWhere(where: keyof typeof FIND, value: string): Promise<Payload | undefined> {
      const rows = await run<{ payload: Payload; consumed_at: Date | string | null }>(
        `find_by_${where}`,
        FIND[where],
        [this.model, value],
      );
      const row = rows[0];
      if (!row) return undefined;
      return row.consumed_at
        ? { ...row.payload, consumed: Math.floor(new Date(row.consumed_at).getTime() / 1000) }
        : row.payload;
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
      const won = await run(
        'consume',
        `UPDATE oidc_models SET consumed_at = now() WHERE model = $1 AND id = $2 AND consumed_at IS NULL
         RETURNING 1`,
        [this.model, id],
      );
      if (won.length === 1) return;
      const revoked = await run<{ grant_id: string | null }>(
        'revoke_lost_redemption',
        `WITH source AS (
           SELECT grant_id FROM oidc_models WHERE model = $1 AND id = $2 AND grant_id IS NOT NULL
         )
         DELETE FROM oidc_models
          WHERE grant_id IN (SELECT grant_id FROM source)
             OR (model = 'Grant' AND id IN (SELECT grant_id FROM source))
         RETURNING COALESCE(grant_id, id) AS grant_id`,
        [this.model, id],
      );
      await hooks.lostRedemption({
        model: this.model,
        grantId: revoked[0]?.grant_id ?? null,
        revoked: revoked.length,
      });
      throw hooks.lostRedemptionError(this.model);
    }

    async destroy(id: string): Promise<void> {
      await run('destroy', `DELETE FROM oidc_models WHERE model = $1 AND id = $2`, [this.model, id]);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await run('revoke_grant', `DELETE FROM oidc_models WHERE grant_id = $1`, [grantId]);
    }
  };
}

/** Deletes expired OIDC artefacts; returns how many. */
export async function purgeExpiredOidcModels(dataSource: DataSource): Promise<number> {
  const result: unknown = await dataSource.query(
    `DELETE FROM oidc_models WHERE expires_at IS NOT NULL AND expires_at <= now() RETURNING 1`,
  );
  return returnedRows(result).length;
}
