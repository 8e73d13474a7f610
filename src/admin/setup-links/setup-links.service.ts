import { Inject, Injectable } from '@nestjs/common';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuditActor, currentAuditActor } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import { DomainError } from '../../common/domain-error';
import { Clock } from '../../common/clock';
import { sha256 } from '../../common/sha256';
import type { BridgeConfig } from '../../config/bridge-config';
import { BRIDGE_CONFIG } from '../../config/config.module';
import { ConnectionEntity } from '../../connections/connection.entity';
import { ConnectionsService } from '../../connections/connections.service';
import { Transactions } from '../../database/transactions';
import { SetupLinkEntity } from './setup-link.entity';
import { SetupLinksRepository } from './setup-links.repository';

/** Setup link tokens: `sbl_` + 32 random bytes (256 bits) in base64url. */
export const SETUP_TOKEN_PREFIX = 'sbl_';
export const SETUP_TOKEN_PATTERN = /^sbl_[A-Za-z0-9_-]{43}$/;
export const DEFAULT_EXPIRY_HOURS = 72;
export const MAX_EXPIRY_HOURS = 720;
/** How many of a connection's links (newest first) are listed. */
export const LISTED_LINKS = 100;

export type SetupLinkStatus = 'active' | 'expired' | 'revoked';

/** A setup link as the API and the console show it (never the token, never its hash). */
export interface SetupLinkSummary {
  id: string;
  connectionId: string;
  status: SetupLinkStatus;
  note: string | null;
  createdAt: string;
  createdBy: string;
  expiresAt: string;
  revokedAt: string | null;
  lastOpenedAt: string | null;
}

/** A link resolved from a token: usable for exactly this connection. */
export interface ResolvedSetupLink {
  link: SetupLinkEntity;
  connection: ConnectionEntity;
  actor: AuditActor;
}

/** What a refused link was being used for (recorded in the audit event). */
export type SetupAction = 'open' | 'view' | 'metadata' | 'test_login' | 'certificate' | 'scim_token';

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Customer setup links: created by an admin for one connection, time-limited, revocable. The token
 * (256 random bits) is returned once and only its SHA-256 is stored, so a lookup by hash is the whole
 * check: guessing is pointless and there is nothing to compare in non-constant time.
 */
@Injectable()
export class SetupLinksService {
  constructor(
    private readonly links: SetupLinksRepository,
    private readonly connections: ConnectionsService,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  /** The URL the customer opens (it carries the token). */
  url(token: string): string {
    return `${this.config.baseUrl}/setup/${token}`;
  }

  status(link: SetupLinkEntity, now = this.clock.now()): SetupLinkStatus {
    if (link.revokedAt) return 'revoked';
    return link.expiresAt.getTime() <= now.getTime() ? 'expired' : 'active';
  }

  view(link: SetupLinkEntity, now = this.clock.now()): SetupLinkSummary {
    return {
      id: link.id,
      connectionId: link.connectionId,
      status: this.status(link, now),
      note: link.note,
      createdAt: link.createdAt.toISOString(),
      createdBy: link.createdByName,
      expiresAt: link.expiresAt.toISOString(),
      revokedAt: link.revokedAt?.toISOString() ?? null,
      lastOpenedAt: link.lastOpenedAt?.toISOString() ?? null,
    };
  }

  /** The audit actor of everything done through a link. */
  actor(link: SetupLinkEntity, connection: { slug: string }): AuditActor {
    return { type: 'setup-link', id: link.id, name: `setup link for ${connection.slug}` };
  }

  private async connection(connectionId: string): Promise<ConnectionEntity> {
    const c = await this.connections.findById(connectionId);
    if (!c) throw DomainError.notFound('connection_not_found', `No connection with id ${connectionId}.`);
    return c;
  }

  /** Creates a link (audited with the current admin as actor). The token is in the result, once. */
  async create(
    connectionId: string,
    input: { expiresInHours?: number; note?: string },
  ): Promise<{ link: SetupLinkEntity; token: string; url: string }> {
    const hours = input.expiresInHours ?? DEFAULT_EXPIRY_HOURS;
    if (!Number.isInteger(hours) || hours < 1 || hours > MAX_EXPIRY_HOURS) {
      throw DomainError.invalid(
        'invalid_expiry',
        `expiresInHours must be a whole number from 1 to ${MAX_EXPIRY_HOURS}.`,
      );
    }
    const connection = await this.connection(connectionId);
    const token = SETUP_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const actor = currentAuditActor();
    const link = await this.transactions.run(async (manager) => {
      const saved = await this.links.insert(manager, {
        connectionId,
        tokenHash: sha256(token),
        note: input.note?.trim() ? input.note.trim().slice(0, 500) : null,
        createdByType: actor.type,
        createdById: actor.id,
        createdByName: actor.name.slice(0, 400),
        createdAt: now,
        expiresAt: new Date(now.getTime() + hours * 3_600_000),
        revokedAt: null,
        lastOpenedAt: null,
      });
      await this.audit.record(
        {
          type: 'setup_link.created',
          connectionId,
          data: {
            linkId: saved.id,
            slug: connection.slug,
            expiresAt: saved.expiresAt.toISOString(),
            note: saved.note,
          },
        },
        manager,
      );
      return saved;
    });
    return { link, token, url: this.url(token) };
  }

  /** A connection's links, newest first. */
  async list(connectionId: string): Promise<SetupLinkEntity[]> {
    await this.connection(connectionId);
    return this.links.listByConnection(connectionId, LISTED_LINKS);
  }

  /** Revokes a link of this connection (audited). Revoking a revoked link changes nothing. */
  async revoke(connectionId: string, linkId: string): Promise<SetupLinkEntity> {
    const connection = await this.connection(connectionId);
    return this.transactions.run(async (manager) => {
      const link = await this.links.lockForConnection(manager, connectionId, linkId);
      if (!link) {
        throw DomainError.notFound('setup_link_not_found', `This connection has no setup link ${linkId}.`);
      }
      if (link.revokedAt) return link;
      link.revokedAt = this.clock.now();
      await this.links.markRevoked(manager, link.id, link.revokedAt);
      await this.audit.record(
        {
          type: 'setup_link.revoked',
          connectionId,
          data: { linkId, slug: connection.slug, expiresAt: link.expiresAt.toISOString() },
        },
        manager,
      );
      return link;
    });
  }

  /**
   * The link and connection a token grants, or a refusal: 404 `setup_link_not_found` (no such token: not
   * audited, there is no link to attribute it to), 410 `setup_link_expired` / `setup_link_revoked` (audited
   * as `setup_link.refused` with the link as actor).
   */
  async resolve(token: string | undefined, action: SetupAction): Promise<ResolvedSetupLink> {
    if (!token) {
      throw DomainError.notFound(
        'setup_link_missing',
        'This page is opened through a setup link. Open the link you were given again.',
      );
    }
    const link = SETUP_TOKEN_PATTERN.test(token) ? await this.links.findByTokenHash(sha256(token)) : null;
    if (!link) {
      throw DomainError.notFound(
        'setup_link_not_found',
        'This setup link is not valid. Check that you copied all of it, or ask your contact for a new one.',
      );
    }
    const connection = await this.connections.findById(link.connectionId);
    if (!connection) {
      throw DomainError.notFound('setup_link_not_found', 'This setup link is not valid any more.');
    }
    const actor = this.actor(link, connection);
    const status = this.status(link);
    if (status !== 'active') {
      await this.audit.recordSafely({
        type: 'setup_link.refused',
        actor,
        connectionId: connection.id,
        data: { linkId: link.id, reason: status, action },
      });
      throw new DomainError(
        'gone',
        status === 'expired' ? 'setup_link_expired' : 'setup_link_revoked',
        status === 'expired'
          ? `This setup link expired on ${link.expiresAt.toISOString().replace('T', ' ').slice(0, 16)} UTC. Ask your contact for a new one.`
          : 'This setup link was revoked. Ask your contact for a new one.',
      );
    }
    return { link, connection, actor };
  }

  /** Records that the link was opened (exchanged for the setup cookie). */
  async markOpened(resolved: ResolvedSetupLink): Promise<void> {
    const now = this.clock.now();
    await this.transactions.run(async (manager) => {
      await this.links.markOpened(manager, resolved.link.id, now);
      await this.audit.record(
        {
          type: 'setup_link.opened',
          actor: resolved.actor,
          connectionId: resolved.connection.id,
          data: { linkId: resolved.link.id },
        },
        manager,
      );
    });
  }

  /** Records a test login started through the link (before the browser leaves for the IdP). */
  async recordTestLogin(resolved: ResolvedSetupLink): Promise<void> {
    await this.audit.record({
      type: 'setup_link.test_login_started',
      actor: resolved.actor,
      connectionId: resolved.connection.id,
      data: { linkId: resolved.link.id },
    });
  }

  /** The CSRF token of the setup pages opened with this link token (derived: nothing to store). */
  csrfToken(token: string): string {
    return createHmac('sha256', token).update('setup-link-csrf').digest('base64url');
  }

  checkCsrf(token: string, presented: unknown): boolean {
    return typeof presented === 'string' && sameString(presented, this.csrfToken(token));
  }
}
