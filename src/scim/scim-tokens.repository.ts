import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { returnedRows } from '../database/returned-rows';
import { Statements } from '../database/statements';

export interface ScimTokenRecord {
  id: string;
  connectionId: string;
  prefix: string;
  description: string | null;
  createdByName: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** A token presented with a request: whose it is and how many requests it made in the current minute. */
export interface ScimTokenUse {
  id: string;
  connectionId: string;
  prefix: string;
  windowCount: number;
  windowStartedAt: Date;
}

interface TokenRow {
  id: string;
  connection_id: string;
  prefix: string;
  description: string | null;
  created_by_name: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const record = (r: TokenRow): ScimTokenRecord => ({
  id: r.id,
  connectionId: r.connection_id,
  prefix: r.prefix,
  description: r.description,
  createdByName: r.created_by_name,
  createdAt: new Date(r.created_at),
  lastUsedAt: r.last_used_at ? new Date(r.last_used_at) : null,
  revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
});

/** SCIM bearer tokens (table scim_tokens): only SHA-256 hashes are stored. */
@Injectable()
export class ScimTokensRepository {
  constructor(private readonly statements: Statements) {}

  async insert(
    m: EntityManager,
    t: {
      connectionId: string;
      tokenHash: string;
      prefix: string;
      description: string | null;
      createdByName: string;
      now: Date;
    },
  ): Promise<ScimTokenRecord> {
    const rows = returnedRows<TokenRow>(
      await m.query(
        `INSERT INTO scim_tokens (connection_id, token_hash, prefix, description, created_by_name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [t.connectionId, t.tokenHash, t.prefix, t.description, t.createdByName, t.now],
      ),
    );
    return record(rows[0] as TokenRow);
  }

  async list(m: EntityManager, connectionId: string): Promise<ScimTokenRecord[]> {
    const rows: TokenRow[] = await m.query(
      `SELECT * FROM scim_tokens WHERE connection_id = $1 ORDER BY created_at DESC, id`,
      [connectionId],
    );
    return rows.map(record);
  }

  /** Revokes a token of the connection; the token as it was before, or null when there is none. */
  async revoke(
    m: EntityManager,
    connectionId: string,
    id: string,
    now: Date,
  ): Promise<ScimTokenRecord | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const rows: TokenRow[] = await m.query(
      `SELECT * FROM scim_tokens WHERE connection_id = $1 AND id = $2 FOR UPDATE`,
      [connectionId, id],
    );
    if (!rows[0]) return null;
    await m.query(`UPDATE scim_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1`, [id, now]);
    return record(rows[0]);
  }

  /**
   * Counts a request against a live token (one statement: the minute's window restarts when it is over) and
   * answers who the token belongs to; null for an unknown or revoked token. Every SCIM request makes it, so
   * it is prepared, and ephemeral (its commit does not wait for the WAL flush): a crash may lose the last
   * moments' counts and last_used_at, never a revocation, which this statement only reads.
   */
  async use(tokenHash: string, now: Date): Promise<ScimTokenUse | null> {
    const rows = await this.statements.rows<{
      id: string;
      connection_id: string;
      prefix: string;
      window_count: number;
      window_started_at: Date;
    }>(
      'scim_token_use',
      `UPDATE scim_tokens SET last_used_at = $2,
         window_count = CASE WHEN window_started_at IS NULL OR window_started_at <= $2::timestamptz - interval '1 minute'
                             THEN 1 ELSE window_count + 1 END,
         window_started_at = CASE WHEN window_started_at IS NULL OR window_started_at <= $2::timestamptz - interval '1 minute'
                                  THEN $2 ELSE window_started_at END
       WHERE token_hash = $1 AND revoked_at IS NULL
       RETURNING id, connection_id, prefix, window_count, window_started_at`,
      [tokenHash, now],
      { ephemeral: true },
    );
    const r = rows[0];
    return r
      ? {
          id: r.id,
          connectionId: r.connection_id,
          prefix: r.prefix,
          windowCount: r.window_count,
          windowStartedAt: new Date(r.window_started_at),
        }
      : null;
  }
}
