import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** An OpenID Provider session as oidc-provider stores it (the parts the bridge reads). */
export interface ProviderSession {
  id: string;
  payload: {
    accountId?: string;
    authorizations?: Record<string, { sid?: string; grantId?: string }>;
  };
}

/** A live grant: its id and the scope granted for openid ('openid …'), or null. */
export interface LiveGrant {
  id: string;
  scope: string | null;
}

/**
 * Sessions and grants in the OpenID Provider's store (oidc_models), as the bridge reads and ends them
 * outside oidc-provider: logout fan-out (IdP logout, disabled or deprovisioned users, revoked grants) and
 * the userinfo stand-in for JWT access tokens. oidc-provider's own reads and writes go through its adapter.
 */
@Injectable()
export class OidcSessionsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The sessions of these accounts. */
  ofAccounts(accountIds: string[]): Promise<ProviderSession[]> {
    return this.dataSource.query(
      `SELECT id, payload FROM oidc_models WHERE model = 'Session' AND payload->>'accountId' = ANY($1::text[])`,
      [accountIds],
    );
  }

  /** The sessions with an authorization under this grant. */
  withGrant(grantId: string): Promise<ProviderSession[]> {
    return this.dataSource.query(
      `SELECT id, payload FROM oidc_models WHERE model = 'Session'
          AND jsonb_path_exists(payload->'authorizations', '$.* ? (@.grantId == $g)', jsonb_build_object('g', $1::text))`,
      [grantId],
    );
  }

  /** Deletes the grant's tokens (their grant_id) and the Grant itself (whose row has no grant_id). */
  async deleteGrant(grantId: string): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM oidc_models WHERE grant_id = $1 OR (model = 'Grant' AND id = $1)`,
      [grantId],
    );
  }

  async deleteSession(id: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM oidc_models WHERE model = 'Session' AND id = $1`, [id]);
  }

  /** Takes the app's authorization out of the session. */
  async removeAuthorization(sessionId: string, clientId: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE oidc_models SET payload = jsonb_set(payload, '{authorizations}', (payload->'authorizations') - $2::text)
        WHERE id = $1 AND model = 'Session'`,
      [sessionId, clientId],
    );
  }

  /**
   * Deletes everything issued to these accounts: their grants and every artefact under them, and their
   * sessions, codes, refresh and opaque access tokens, offline grants included.
   */
  async deleteAllOfAccounts(accountIds: string[]): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM oidc_models WHERE grant_id IN (
         SELECT id FROM oidc_models WHERE model = 'Grant' AND payload->>'accountId' = ANY($1::text[]))
         OR (model IN ('Grant', 'Session', 'AuthorizationCode', 'RefreshToken', 'AccessToken')
             AND payload->>'accountId' = ANY($1::text[]))`,
      [accountIds],
    );
  }

  /** The grant if it exists unexpired for this account and app, or null. */
  async liveGrant(grantId: string, accountId: string, clientId: string): Promise<LiveGrant | null> {
    const rows: LiveGrant[] = await this.dataSource.query(
      `SELECT id, payload->'openid'->>'scope' AS scope FROM oidc_models
        WHERE model = 'Grant' AND id = $1 AND payload->>'accountId' = $2 AND payload->>'clientId' = $3
          AND (expires_at IS NULL OR expires_at > now())`,
      [grantId, accountId, clientId],
    );
    return rows[0] ?? null;
  }
}
