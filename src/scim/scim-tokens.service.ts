import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Transactions } from '../database/transactions';
import { currentAuditActor } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../common/domain-error';
import { Clock } from '../common/clock';
import { sha256 } from '../common/sha256';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ConnectionLookup } from '../connections/connection-lookup';
import { scimBaseUrl } from '../connections/connection.view';
import type { ScimContext } from './scim-context';
import { ScimError } from './scim-error';
import { ScimTokensRepository, type ScimTokenRecord } from './scim-tokens.repository';

/** SCIM tokens start with this, so a leaked one is recognisable (and redacted from logs). */
export const SCIM_TOKEN_PREFIX = 'sct_';
const TOKEN_PATTERN = /^sct_[A-Za-z0-9_-]{43}$/;

/**
 * Per-connection SCIM bearer tokens: created by an admin (shown once, stored as SHA-256), listed, revoked,
 * and checked on every SCIM request with a per-token, per-minute request limit shared by every instance.
 */
@Injectable()
export class ScimTokensService {
  constructor(
    private readonly transactions: Transactions,
    private readonly tokens: ScimTokensRepository,
    private readonly connections: ConnectionLookup,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  private async connection(connectionId: string) {
    const c = /^[0-9a-f-]{36}$/i.test(connectionId) ? await this.connections.byId(connectionId) : null;
    if (!c) throw DomainError.notFound('connection_not_found', `No connection with id ${connectionId}.`);
    return c;
  }

  async create(
    connectionId: string,
    input: { description?: string },
  ): Promise<{ record: ScimTokenRecord; token: string; scimBaseUrl: string }> {
    const connection = await this.connection(connectionId);
    const token = SCIM_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const actor = currentAuditActor();
    const record = await this.transactions.run(async (m) => {
      const saved = await this.tokens.insert(m, {
        connectionId,
        tokenHash: sha256(token),
        prefix: token.slice(0, 10),
        description: input.description?.trim() ? input.description.trim().slice(0, 200) : null,
        createdByName: actor.name.slice(0, 400),
        now: this.clock.now(),
      });
      await this.audit.record(
        {
          type: 'scim_token.created',
          connectionId,
          data: {
            tokenId: saved.id,
            prefix: saved.prefix,
            description: saved.description,
            slug: connection.slug,
          },
        },
        m,
      );
      return saved;
    });
    return { record, token, scimBaseUrl: scimBaseUrl(this.config.baseUrl, connection.slug) };
  }

  async list(connectionId: string): Promise<ScimTokenRecord[]> {
    await this.connection(connectionId);
    return this.tokens.list(this.transactions.autocommit, connectionId);
  }

  async revoke(connectionId: string, tokenId: string): Promise<void> {
    const connection = await this.connection(connectionId);
    await this.transactions.run(async (m) => {
      const before = await this.tokens.revoke(m, connectionId, tokenId, this.clock.now());
      if (!before) {
        throw new DomainError(
          'not_found',
          'scim_token_not_found',
          `This connection has no SCIM token ${tokenId}.`,
        );
      }
      if (before.revokedAt) return;
      await this.audit.record(
        {
          type: 'scim_token.revoked',
          connectionId,
          data: { tokenId, prefix: before.prefix, slug: connection.slug },
        },
        m,
      );
    });
  }

  /**
   * The caller of a SCIM request: 401 for a missing, unknown or revoked token or one of another connection,
   * 404 for an unknown connection, 429 with Retry-After past the per-minute limit.
   */
  async authenticate(slug: string, authorization: string | undefined): Promise<ScimContext> {
    const match = typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization.trim()) : null;
    if (!match)
      throw ScimError.unauthorized('A SCIM token is required: send "Authorization: Bearer <token>".');
    const presented = match[1] as string;
    const connection = /^[a-z0-9][a-z0-9-]{0,63}$/.test(slug) ? await this.connections.bySlug(slug) : null;
    if (!connection) throw ScimError.notFound(`There is no connection ${JSON.stringify(slug)}.`);
    const now = this.clock.now();
    const use = TOKEN_PATTERN.test(presented) ? await this.tokens.use(sha256(presented), now) : null;
    if (!use || use.connectionId !== connection.id) {
      throw ScimError.unauthorized('The SCIM token is not valid for this connection, or it was revoked.');
    }
    if (use.windowCount > this.config.scimRateLimitPerMinute) {
      const retry = Math.max(1, Math.ceil((use.windowStartedAt.getTime() + 60_000 - now.getTime()) / 1000));
      throw new ScimError(
        429,
        `Too many requests with this token (limit ${this.config.scimRateLimitPerMinute} per minute). Retry in ${retry} s.`,
        undefined,
        { 'Retry-After': String(retry) },
      );
    }
    return { connection, token: use, baseUrl: scimBaseUrl(this.config.baseUrl, connection.slug) };
  }
}
