import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { returnedRows } from '../database/returned-rows';
import { Statements } from '../database/statements';

/** A JWT access token to record at issuance (`exp` in seconds since the epoch). */
export interface JtiRecord {
  jti: string;
  grantId: string;
  accountId: string;
  clientId: string;
  exp: number;
}

/** What the record of a token says: revoked, the grant it was issued under and whether that grant lives. */
export interface JtiState {
  revoked: boolean;
  grantId: string | null;
  grantLive: boolean;
}

/** One revoked, unexpired token: its jti, expiry (seconds since the epoch) and revoking transaction id. */
export interface RevokedJti {
  jti: string;
  exp: number;
  xid: string;
}

/**
 * The oidc_access_token_jtis table: the bridge's JWT access tokens recorded at issuance, and the revoked
 * ones (revoked_xid orders revocations by transaction, for the revocation list's cursor). The token
 * endpoint's and introspection's statements are prepared (see `Statements`).
 */
@Injectable()
export class AccessTokenJtisRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly statements: Statements,
  ) {}

  async record(issued: JtiRecord): Promise<void> {
    await this.statements.rows(
      'oidc_jwt_record',
      `INSERT INTO oidc_access_token_jtis (jti, grant_id, account_id, client_id, expires_at)
       VALUES ($1, $2, $3, $4, to_timestamp($5))`,
      [issued.jti, issued.grantId, issued.accountId, issued.clientId, issued.exp],
    );
  }

  /** The token's record, or undefined when there is none. */
  async state(jti: string): Promise<JtiState | undefined> {
    const rows = await this.statements.rows<{ revoked: boolean; grant_id: string | null; live: boolean }>(
      'oidc_jwt_state',
      `SELECT j.revoked_at IS NOT NULL AS revoked, j.grant_id,
              EXISTS (SELECT 1 FROM oidc_models g WHERE g.model = 'Grant' AND g.id = j.grant_id
                        AND (g.expires_at IS NULL OR g.expires_at > now())) AS live
         FROM oidc_access_token_jtis j WHERE j.jti = $1`,
      [jti],
    );
    const row = rows[0];
    return row ? { revoked: row.revoked, grantId: row.grant_id, grantLive: row.live } : undefined;
  }

  /** Marks the token revoked now (recording it when it was not), unless it was revoked already. */
  async revoke(jti: string, accountId: string | null, clientId: string, exp: number): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO oidc_access_token_jtis (jti, account_id, client_id, expires_at, revoked_at, revoked_xid)
       VALUES ($1, $2, $3, to_timestamp($4), now(), pg_current_xact_id())
       ON CONFLICT (jti) DO UPDATE SET revoked_at = now(), revoked_xid = pg_current_xact_id()
        WHERE oidc_access_token_jtis.revoked_at IS NULL`,
      [jti, accountId, clientId, exp],
    );
  }

  /** Revokes every unexpired, unrevoked token of these accounts; how many. */
  async revokeAccounts(accountIds: string[]): Promise<number> {
    const result: unknown = await this.dataSource.query(
      `UPDATE oidc_access_token_jtis SET revoked_at = now(), revoked_xid = pg_current_xact_id()
        WHERE account_id = ANY($1::text[]) AND revoked_at IS NULL AND expires_at > now() RETURNING 1`,
      [accountIds],
    );
    return returnedRows(result).length;
  }

  /**
   * Up to `limit` unexpired revoked tokens, by revoking transaction then jti, revoked in transaction
   * `since` or later (all when null).
   */
  async revokedFrom(since: string | null, limit: number): Promise<RevokedJti[]> {
    const rows: Array<{ jti: string; exp: string | number; xid: string }> = await this.dataSource.query(
      `SELECT jti, floor(extract(epoch FROM expires_at))::bigint AS exp, revoked_xid::text AS xid
         FROM oidc_access_token_jtis
        WHERE revoked_xid IS NOT NULL AND expires_at > now() AND ($1::xid8 IS NULL OR revoked_xid >= $1::xid8)
        ORDER BY revoked_xid, jti LIMIT $2`,
      [since, limit],
    );
    return rows.map((r) => ({ jti: r.jti, exp: Number(r.exp), xid: r.xid }));
  }

  /** The oldest transaction id still running (every older one has committed or aborted). */
  async snapshotXmin(): Promise<string> {
    const [snapshot] = (await this.dataSource.query(
      `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`,
    )) as Array<{ xmin: string }>;
    if (!snapshot) throw new Error('SELECT pg_snapshot_xmin(…) returned no row');
    return snapshot.xmin;
  }

  /** Revokes the unexpired tokens whose grant no longer exists; how many. */
  async revokeOrphaned(): Promise<number> {
    const revoked: unknown = await this.dataSource.query(
      `UPDATE oidc_access_token_jtis j SET revoked_at = now(), revoked_xid = pg_current_xact_id()
        WHERE j.revoked_at IS NULL AND j.grant_id IS NOT NULL AND j.expires_at > now()
          AND NOT EXISTS (SELECT 1 FROM oidc_models g WHERE g.model = 'Grant' AND g.id = j.grant_id)
        RETURNING 1`,
    );
    return returnedRows(revoked).length;
  }

  /** Deletes the records of expired tokens; how many. */
  async deleteExpired(): Promise<number> {
    const purged: unknown = await this.dataSource.query(
      `DELETE FROM oidc_access_token_jtis WHERE expires_at <= now() RETURNING 1`,
    );
    return returnedRows(purged).length;
  }
}
