import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource, ObjectLiteral, Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { sha256 } from '../common/sha256';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { entityFromRow } from '../database/entity-from-row';
import { affectedRows } from '../database/returned-rows';
import { Statements } from '../database/statements';
import type { MappedUser } from '../mapping/attribute-mapping';
import { SamlRequestEntity } from './saml-request.entity';

/** How long an AuthnRequest / LogoutRequest waits for its answer. */
export const REQUEST_LIFETIME_MS = 10 * 60_000;

/** How long a validated login waits for its browser to come back (the same-site GET after the ACS). */
export const COMPLETION_LIFETIME_MS = 2 * 60_000;

/** A validated SAML login waiting for the browser that started it. */
export interface LoginCompletion {
  connectionId: string;
  /** What the validated assertion said: the user to provision and the session to open (dates as ISO strings). */
  login: {
    mapped: MappedUser;
    attributes: Record<string, string[]>;
    assertionId: string;
    inResponseTo?: string;
    session: {
      nameId: string;
      nameIdFormat?: string;
      sessionIndex?: string;
      authnContextClassRef?: string;
      authnInstant?: string;
      sessionNotOnOrAfter?: string;
    };
  };
  /** SHA-256 of the browser-binding cookie expected at completion; null for IdP-initiated logins. */
  browserBinding: string | null;
  /** A same-site path to go to afterwards, if the login has one. */
  returnTo?: string;
  /** The id of the login consumer that takes it (login-consumers.ts), and that consumer's state. */
  consumer: string;
  state: Record<string, unknown>;
  expiresAt: Date;
}

/** A SAML message ID: xs:ID (must not start with a digit), 160 random bits. */
export function newMessageId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

/**
 * The SAML state shared by every instance through the database: pending requests (single use,
 * expiring) and the assertion replay cache.
 */
@Injectable()
export class SamlStateService {
  private readonly requests: Repository<SamlRequestEntity>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly statements: Statements,
    private readonly clock: Clock,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {
    this.requests = dataSource.getRepository(SamlRequestEntity);
  }

  async createRequest(input: {
    id: string;
    connectionId: string;
    kind: 'authn' | 'logout';
    returnTo: string | null;
    context?: Record<string, unknown>;
    browserBinding?: string | null;
  }): Promise<SamlRequestEntity> {
    const now = this.clock.now();
    const request = this.requests.create({
      ...input,
      context: input.context ?? {},
      browserBinding: input.browserBinding ?? null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + REQUEST_LIFETIME_MS),
    });
    await this.statements.insert(this.requests, request);
    return request;
  }

  /** Takes a pending request out, atomically: a second caller (any instance) gets null. */
  async consumeRequest(
    id: string,
    connectionId: string,
    kind: 'authn' | 'logout',
  ): Promise<SamlRequestEntity | null> {
    if (id.length > 64) return null;
    const [row] = await this.statements.rows<ObjectLiteral>(
      'saml_request_consume',
      `DELETE FROM saml_requests WHERE id = $1 AND connection_id = $2 AND kind = $3 AND expires_at > $4
       RETURNING *`,
      [id, connectionId, kind, this.clock.now()],
    );
    return row ? entityFromRow(this.requests, row) : null;
  }

  /** Records an assertion ID until it expires; false when it was already seen (a replay). */
  async rememberAssertion(connectionId: string, assertionId: string, until: Date): Promise<boolean> {
    const rows = await this.statements.rows(
      'saml_replay_remember',
      `INSERT INTO saml_replay_cache (connection_id, assertion_id, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING assertion_id`,
      [connectionId, assertionId.slice(0, 256), until],
    );
    return rows.length === 1;
  }

  /** Stores a validated login until the browser that started it comes back for it (see `takeCompletion`). */
  async storeCompletion(completion: Omit<LoginCompletion, 'expiresAt'>): Promise<string> {
    const code = randomBytes(32).toString('base64url');
    await this.statements.rows(
      'login_completion_store',
      `INSERT INTO login_completions (code_hash, connection_id, login, browser_binding, return_to, context, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        sha256(code),
        completion.connectionId,
        JSON.stringify(completion.login),
        completion.browserBinding,
        completion.returnTo ?? '',
        JSON.stringify({ consumer: completion.consumer, state: completion.state }),
        new Date(this.clock.now().getTime() + COMPLETION_LIFETIME_MS),
      ],
    );
    return code;
  }

  /**
   * Takes a completion out for its consumer, atomically (single use); null when unknown, used, expired or
   * another consumer's (which stays where it is for its own consumer).
   */
  async takeCompletion(code: string, consumer: string): Promise<LoginCompletion | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(code)) return null;
    const [row] = await this.statements.rows<Record<string, unknown>>(
      'login_completion_take',
      `DELETE FROM login_completions WHERE code_hash = $1 AND expires_at > $2 AND context->>'consumer' = $3
       RETURNING connection_id, login, browser_binding, return_to, context, expires_at`,
      [sha256(code), this.clock.now(), consumer],
    );
    if (!row) return null;
    const context = (row.context as { consumer?: unknown; state?: unknown } | null) ?? {};
    return {
      connectionId: row.connection_id as string,
      login: row.login as LoginCompletion['login'],
      browserBinding: (row.browser_binding as string | null) ?? null,
      returnTo: (row.return_to as string) || undefined,
      consumer,
      state:
        typeof context.state === 'object' && context.state !== null
          ? (context.state as Record<string, unknown>)
          : {},
      expiresAt: new Date(row.expires_at as string),
    };
  }

  /**
   * Deletes what has expired: AuthnRequest IDs, replay entries and login completions as soon as they
   * expire; login sessions an hour after they expired or ended (late SLO messages still find them);
   * console sessions a day after they ended or expired, and sign-in counters a day old; SSO traces after
   * SSO_TRACE_RETENTION_DAYS. Each runs as one indexed DELETE.
   */
  async purgeExpired(): Promise<Record<string, number>> {
    const now = this.clock.now();
    const hourAgo = new Date(now.getTime() - 3600_000);
    const dayAgo = new Date(now.getTime() - 86_400_000);
    const traceCutoff = new Date(now.getTime() - this.config.ssoTraceRetentionDays * 86_400_000);
    const purges: Array<[string, string, unknown[]]> = [
      ['requests', 'DELETE FROM saml_requests WHERE expires_at <= $1', [now]],
      ['replay', 'DELETE FROM saml_replay_cache WHERE expires_at <= $1', [now]],
      ['completions', 'DELETE FROM login_completions WHERE expires_at <= $1', [now]],
      ['sessions', 'DELETE FROM login_sessions WHERE expires_at <= $1 OR ended_at <= $1', [hourAgo]],
      [
        'consoleSessions',
        'DELETE FROM admin_console_sessions WHERE expires_at <= $1 OR ended_at <= $1',
        [dayAgo],
      ],
      ['signInCounters', 'DELETE FROM admin_console_signin_failures WHERE window_started_at <= $1', [dayAgo]],
      ['traces', 'DELETE FROM sso_traces WHERE created_at <= $1', [traceCutoff]],
    ];
    const purged: Record<string, number> = {};
    for (const [name, sql, params] of purges) {
      const result: unknown = await this.dataSource.query(sql, params);
      purged[name] = affectedRows(result);
    }
    return purged;
  }
}
