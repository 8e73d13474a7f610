import { Injectable } from '@nestjs/common';
import { DataSource, type DeepPartial, type ObjectLiteral, type Repository } from 'typeorm';
import { entityFromRow } from '../database/entity-from-row';
import { affectedRows } from '../database/returned-rows';
import { Statements } from '../database/statements';
import { SamlRequestEntity } from './saml-request.entity';

type RequestKind = 'authn' | 'logout';

/** The pending request (id, connection, kind) unexpired at `now` ($1–$4). */
const PENDING = 'id = $1 AND connection_id = $2 AND kind = $3 AND expires_at > $4';

/** A stored login completion as its row holds it (the login as stored JSON). */
export interface StoredCompletion {
  connectionId: string;
  login: unknown;
  browserBinding: string | null;
  returnTo: string;
  context: Record<string, unknown>;
  expiresAt: Date;
}

/** A completion to store: its code's hash and when it expires. */
export interface NewCompletion {
  codeHash: string;
  connectionId: string;
  login: unknown;
  browserBinding: string | null;
  returnTo: string;
  context: Record<string, unknown>;
  expiresAt: Date;
}

/**
 * The SAML state tables: pending requests (saml_requests), the assertion replay cache and login
 * completions. Every statement but the purge is on the login path: prepared statements.
 */
@Injectable()
export class SamlStateRepository {
  private readonly requests: Repository<SamlRequestEntity>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly statements: Statements,
  ) {
    this.requests = dataSource.getRepository(SamlRequestEntity);
  }

  /** A new, unsaved pending request with these fields. */
  buildRequest(fields: DeepPartial<SamlRequestEntity>): SamlRequestEntity {
    return this.requests.create(fields);
  }

  /** A pending request lives for one hop (its answer takes it): an ephemeral write (see `Statements.rows`). */
  async insertRequest(request: SamlRequestEntity): Promise<void> {
    await this.statements.insert(this.requests, request, { ephemeral: true });
  }

  /** Deletes and returns the pending request if it is unexpired at `now` (one caller wins), else null. */
  takeRequest(
    id: string,
    connectionId: string,
    kind: RequestKind,
    now: Date,
  ): Promise<SamlRequestEntity | null> {
    return this.request('saml_request_consume', `DELETE FROM saml_requests WHERE ${PENDING} RETURNING *`, [
      id,
      connectionId,
      kind,
      now,
    ]);
  }

  /** The pending request if it is unexpired at `now`, without taking it (see `acceptLogin`). */
  findRequest(
    id: string,
    connectionId: string,
    kind: RequestKind,
    now: Date,
  ): Promise<SamlRequestEntity | null> {
    return this.request('saml_request_find', `SELECT * FROM saml_requests WHERE ${PENDING}`, [
      id,
      connectionId,
      kind,
      now,
    ]);
  }

  private async request(name: string, sql: string, params: unknown[]): Promise<SamlRequestEntity | null> {
    const [row] = await this.statements.rows<ObjectLiteral>(name, sql, params);
    return row ? entityFromRow(this.requests, row) : null;
  }

  /**
   * A validated login's single-use writes, in one statement and one commit, all or nothing: takes the
   * pending AuthnRequest it answers (`requestId`; null for an IdP-initiated login), records the assertion
   * ID in the replay cache when that request was taken (or there is none), and stores the completion
   * when the ID was new. What it returns tells which of them happened: a request another response took
   * first (any instance) leaves no replay entry and no completion; a replay still takes the request.
   */
  async acceptLogin(
    requestId: string | null,
    now: Date,
    assertion: { id: string; until: Date },
    c: NewCompletion,
  ): Promise<{ requestTaken: boolean; remembered: boolean; stored: boolean }> {
    const [row] = await this.statements.rows<{ taken: boolean; remembered: boolean; stored: boolean }>(
      'saml_login_accept',
      `WITH taken AS (
         DELETE FROM saml_requests
          WHERE id = $1::text AND connection_id = $2 AND kind = 'authn' AND expires_at > $3
         RETURNING id
       ), remembered AS (
         INSERT INTO saml_replay_cache (connection_id, assertion_id, expires_at)
         SELECT $2, $4, $5 WHERE $1::text IS NULL OR EXISTS (SELECT 1 FROM taken)
         ON CONFLICT DO NOTHING
         RETURNING assertion_id
       ), stored AS (
         INSERT INTO login_completions (code_hash, connection_id, login, browser_binding, return_to, context, expires_at)
         SELECT $6, $2, $7, $8, $9, $10, $11 WHERE EXISTS (SELECT 1 FROM remembered)
         RETURNING code_hash
       )
       SELECT EXISTS (SELECT 1 FROM taken) AS taken, EXISTS (SELECT 1 FROM remembered) AS remembered,
              EXISTS (SELECT 1 FROM stored) AS stored`,
      [
        requestId,
        c.connectionId,
        now,
        assertion.id,
        assertion.until,
        c.codeHash,
        JSON.stringify(c.login),
        c.browserBinding,
        c.returnTo,
        JSON.stringify(c.context),
        c.expiresAt,
      ],
    );
    return {
      requestTaken: requestId === null || row?.taken === true,
      remembered: row?.remembered === true,
      stored: row?.stored === true,
    };
  }

  /** Inserts a replay-cache entry; false when the (connection, assertion ID) was there already. */
  async insertAssertion(connectionId: string, assertionId: string, until: Date): Promise<boolean> {
    const rows = await this.statements.rows(
      'saml_replay_remember',
      `INSERT INTO saml_replay_cache (connection_id, assertion_id, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING assertion_id`,
      [connectionId, assertionId, until],
    );
    return rows.length === 1;
  }

  /**
   * Deletes and returns the completion if it is unexpired at `now` and belongs to `consumer` (its
   * context's consumer id; single use), else null. Another consumer's completion stays where it is.
   */
  async takeCompletion(codeHash: string, now: Date, consumer: string): Promise<StoredCompletion | null> {
    const [row] = await this.statements.rows<Record<string, unknown>>(
      'login_completion_take',
      `DELETE FROM login_completions WHERE code_hash = $1 AND expires_at > $2 AND context->>'consumer' = $3
       RETURNING connection_id, login, browser_binding, return_to, context, expires_at`,
      [codeHash, now, consumer],
    );
    if (!row) return null;
    return {
      connectionId: row.connection_id as string,
      login: row.login,
      browserBinding: (row.browser_binding as string | null) ?? null,
      returnTo: row.return_to as string,
      context: (row.context as Record<string, unknown>) ?? {},
      expiresAt: new Date(row.expires_at as string),
    };
  }

  /** Deletes the requests, replay entries and completions expired at `now`; how many of each. */
  async deleteExpired(now: Date): Promise<{ requests: number; replay: number; completions: number }> {
    const purge = async (sql: string) => affectedRows(await this.dataSource.query(sql, [now]));
    return {
      requests: await purge('DELETE FROM saml_requests WHERE expires_at <= $1'),
      replay: await purge('DELETE FROM saml_replay_cache WHERE expires_at <= $1'),
      completions: await purge('DELETE FROM login_completions WHERE expires_at <= $1'),
    };
  }
}
