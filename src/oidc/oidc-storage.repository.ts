import { Injectable } from '@nestjs/common';
import { Statements } from '../database/statements';
import { UUID } from '../common/uuid';

/** A stored OIDC artefact's JSON and when it was consumed (null: not yet). */
export interface StoredOidcModel {
  payload: Record<string, unknown>;
  consumedAt: Date | null;
}

/** What is stored of an artefact besides its payload: the columns it is found and revoked by. */
export interface OidcModelKeys {
  grantId: string | null;
  userCode: string | null;
  uid: string | null;
  expiresAt: Date | null;
}

/** One held write of an artefact: an upsert (its payload as JSON text, and its keys) or, without one, a delete. */
export interface OidcWrite {
  model: string;
  id: string;
  upsert?: { json: string; keys: OidcModelKeys };
}

const findSql = (where: 'id' | 'uid' | 'user_code') =>
  `SELECT payload, consumed_at FROM oidc_models
    WHERE model = $1 AND ${where} = $2 AND (expires_at IS NULL OR expires_at > now())`;
const FIND = { id: findSql('id'), uid: findSql('uid'), user_code: findSql('user_code') };

/**
 * An artefact issued under a grant and a session (a code, a token), with that grant, that session and the
 * user its `accountId` names, in one statement: oidc-provider reads them one after the other at the token
 * endpoint (the code, its session binding, its grant, its account). Each artefact part as `find` reads it
 * (unexpired, with when it was consumed); the user only when the id is a UUID (the bridge's accounts are its
 * users' ids): anything else names no user, and is not cast.
 */
const FIND_WITH_GRANT_AND_SESSION_SQL = `WITH source AS (
    SELECT payload, consumed_at FROM oidc_models
     WHERE model = $1 AND id = $2 AND (expires_at IS NULL OR expires_at > now())
  )
  SELECT 'source' AS part, payload, consumed_at FROM source
  UNION ALL
  SELECT 'grant', g.payload, g.consumed_at FROM source
    JOIN oidc_models g ON g.model = 'Grant' AND g.id = source.payload->>'grantId'
   WHERE g.expires_at IS NULL OR g.expires_at > now()
  UNION ALL
  SELECT 'session', s.payload, s.consumed_at FROM source
    JOIN oidc_models s ON s.model = 'Session' AND s.uid = source.payload->>'sessionUid'
   WHERE s.expires_at IS NULL OR s.expires_at > now()
  UNION ALL
  SELECT 'account', to_jsonb(u), NULL FROM source
    JOIN users u ON u.id = CASE WHEN source.payload->>'accountId' ~* '${UUID.source}'
                                THEN (source.payload->>'accountId')::uuid END`;

/**
 * An artefact as `findWithGrantAndSession` reads it: itself, its grant and session (null: none found), and
 * the user its `accountId` names, as that row's JSON (`to_jsonb`; null: no such user).
 */
export interface StoredWithGrantAndSession {
  source: StoredOidcModel;
  grant: StoredOidcModel | null;
  session: StoredOidcModel | null;
  account: Record<string, unknown> | null;
}

type StoredRow = { payload: Record<string, unknown>; consumed_at: Date | string | null };

const storedOf = (row: StoredRow): StoredOidcModel => ({
  payload: row.payload,
  consumedAt: row.consumed_at ? new Date(row.consumed_at) : null,
});

/**
 * A request's held writes in one statement (so all or none of them are written): the destroyed keys are
 * deleted and the upserted ones inserted or replaced. unnest() over typed arrays, so one text (one prepared
 * statement) serves every size. A key is never in both lists (the adapter keeps one write per key).
 */
const FLUSH_SQL = `WITH deleted AS (
    DELETE FROM oidc_models m USING unnest($1::text[], $2::text[]) AS d(model, id)
     WHERE m.model = d.model AND m.id = d.id
  )
  INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, expires_at)
  SELECT * FROM unnest($3::text[], $4::text[], $5::jsonb[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])
  ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
    user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`;

const DELETE_EXPIRED_SQL = `DELETE FROM oidc_models WHERE expires_at IS NOT NULL AND expires_at <= now() RETURNING 1`;

/**
 * oidc-provider's storage: every model (sessions, grants, codes, tokens, interactions…) in the one
 * `oidc_models` table keyed by (model, id). Every statement but the purge is on the login and token paths:
 * prepared statements (see `Statements`).
 */
@Injectable()
export class OidcStorageRepository {
  constructor(private readonly statements: Statements) {}

  private run<R>(
    name: string,
    text: string,
    values: unknown[],
    options?: { ephemeral?: boolean },
  ): Promise<R[]> {
    return this.statements.rows<R>(`oidc_${name}`, text, values, options);
  }

  /** Inserts the artefact, or replaces it when (model, id) exists. */
  async upsert(model: string, id: string, payload: unknown, keys: OidcModelKeys): Promise<void> {
    await this.run(
      'upsert',
      `INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
         user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`,
      [model, id, JSON.stringify(payload), keys.grantId, keys.userCode, keys.uid, keys.expiresAt],
    );
  }

  /** Writes them all in one statement: the upserts as `upsert` does, the others deleted as `destroy` does. */
  async flush(writes: OidcWrite[]): Promise<void> {
    const deletes = writes.filter((w) => !w.upsert);
    const upserts = writes.flatMap((w) => (w.upsert ? [{ ...w.upsert, model: w.model, id: w.id }] : []));
    // Only interactions saved (the authorization request's): state of one hop, an ephemeral write (see
    // Statements.rows). Anything else (a session, a grant, a code, a token, a destroy) is durable as ever.
    const ephemeral = deletes.length === 0 && upserts.every((w) => w.model === 'Interaction');
    await this.run(
      'flush',
      FLUSH_SQL,
      [
        deletes.map((w) => w.model),
        deletes.map((w) => w.id),
        upserts.map((w) => w.model),
        upserts.map((w) => w.id),
        upserts.map((w) => w.json),
        upserts.map((w) => w.keys.grantId),
        upserts.map((w) => w.keys.userCode),
        upserts.map((w) => w.keys.uid),
        upserts.map((w) => w.keys.expiresAt),
      ],
      { ephemeral },
    );
  }

  /** The unexpired artefact of `model` whose `by` column equals `value`, or null. */
  async find(model: string, by: keyof typeof FIND, value: string): Promise<StoredOidcModel | null> {
    const [row] = await this.run<StoredRow>(`find_by_${by}`, FIND[by], [model, value]);
    return row ? storedOf(row) : null;
  }

  /**
   * The unexpired artefact (model, id) with the grant its payload's `grantId` names and the session its
   * `sessionUid` names (each null when there is none, or it expired), and the user its `accountId` names
   * (null when there is none), or null when the artefact is not there.
   */
  async findWithGrantAndSession(model: string, id: string): Promise<StoredWithGrantAndSession | null> {
    const rows = await this.run<StoredRow & { part: 'source' | 'grant' | 'session' | 'account' }>(
      'find_with_grant_session_and_account',
      FIND_WITH_GRANT_AND_SESSION_SQL,
      [model, id],
    );
    const row = (name: 'source' | 'grant' | 'session' | 'account') => rows.find((r) => r.part === name);
    const part = (name: 'source' | 'grant' | 'session') => {
      const found = row(name);
      return found ? storedOf(found) : null;
    };
    const source = part('source');
    if (!source) return null;
    return {
      source,
      grant: part('grant'),
      session: part('session'),
      account: row('account')?.payload ?? null,
    };
  }

  /** Marks the artefact consumed if it was not yet (the conditional UPDATE): true when this call did. */
  async consume(model: string, id: string): Promise<boolean> {
    const won = await this.run(
      'consume',
      `UPDATE oidc_models SET consumed_at = now() WHERE model = $1 AND id = $2 AND consumed_at IS NULL
       RETURNING 1`,
      [model, id],
    );
    return won.length === 1;
  }

  /**
   * Deletes the grant of the artefact (model, id) with everything stored under it; the grant id of each
   * row deleted (so how many, and whose; none when the artefact was gone already).
   */
  async revokeGrantOf(model: string, id: string): Promise<Array<string | null>> {
    const rows = await this.run<{ grant_id: string | null }>(
      'revoke_lost_redemption',
      `WITH source AS (
         SELECT grant_id FROM oidc_models WHERE model = $1 AND id = $2 AND grant_id IS NOT NULL
       )
       DELETE FROM oidc_models
        WHERE grant_id IN (SELECT grant_id FROM source)
           OR (model = 'Grant' AND id IN (SELECT grant_id FROM source))
       RETURNING COALESCE(grant_id, id) AS grant_id`,
      [model, id],
    );
    return rows.map((r) => r.grant_id);
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.run('destroy', `DELETE FROM oidc_models WHERE model = $1 AND id = $2`, [model, id]);
  }

  /** Deletes everything stored under the grant. */
  async revokeGrant(grantId: string): Promise<void> {
    await this.run('revoke_grant', `DELETE FROM oidc_models WHERE grant_id = $1`, [grantId]);
  }

  /** Deletes expired artefacts; how many. */
  async deleteExpired(): Promise<number> {
    return (await this.run('delete_expired', DELETE_EXPIRED_SQL, [])).length;
  }
}
