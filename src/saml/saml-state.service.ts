import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource, Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { returnedRows } from '../database/returned-rows';
import { SamlRequestEntity } from './saml-request.entity';

/** How long an AuthnRequest / LogoutRequest waits for its answer. */
export const REQUEST_LIFETIME_MS = 10 * 60_000;

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
    private readonly clock: Clock,
  ) {
    this.requests = dataSource.getRepository(SamlRequestEntity);
  }

  async createRequest(input: {
    id: string;
    connectionId: string;
    kind: 'authn' | 'logout';
    returnTo: string | null;
    context?: Record<string, unknown>;
  }): Promise<SamlRequestEntity> {
    const now = this.clock.now();
    return this.requests.save(
      this.requests.create({
        ...input,
        context: input.context ?? {},
        createdAt: now,
        expiresAt: new Date(now.getTime() + REQUEST_LIFETIME_MS),
      }),
    );
  }

  /** Takes a pending request out, atomically: a second caller (any instance) gets null. */
  async consumeRequest(
    id: string,
    connectionId: string,
    kind: 'authn' | 'logout',
  ): Promise<SamlRequestEntity | null> {
    if (id.length > 64) return null;
    const result: unknown = await this.dataSource.query(
      `DELETE FROM saml_requests WHERE id = $1 AND connection_id = $2 AND kind = $3 AND expires_at > $4
       RETURNING id, connection_id, kind, return_to, context, created_at, expires_at`,
      [id, connectionId, kind, this.clock.now()],
    );
    const row = returnedRows<Record<string, unknown>>(result)[0];
    if (!row) return null;
    return this.requests.create({
      id: row.id as string,
      connectionId: row.connection_id as string,
      kind: row.kind as 'authn' | 'logout',
      returnTo: (row.return_to as string | null) ?? null,
      context: (row.context as Record<string, unknown>) ?? {},
      createdAt: new Date(row.created_at as string),
      expiresAt: new Date(row.expires_at as string),
    });
  }

  /** Records an assertion ID until it expires; false when it was already seen (a replay). */
  async rememberAssertion(connectionId: string, assertionId: string, until: Date): Promise<boolean> {
    const result: unknown = await this.dataSource.query(
      `INSERT INTO saml_replay_cache (connection_id, assertion_id, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING assertion_id`,
      [connectionId, assertionId.slice(0, 256), until],
    );
    return returnedRows(result).length === 1;
  }

  /** Deletes expired requests and replay entries. */
  async purgeExpired(): Promise<{ requests: number; replay: number }> {
    const now = this.clock.now();
    const a = await this.requests
      .createQueryBuilder()
      .delete()
      .where('expires_at <= :now', { now })
      .execute();
    const b = await this.dataSource
      .createQueryBuilder()
      .delete()
      .from('saml_replay_cache')
      .where('expires_at <= :now', { now })
      .execute();
    return { requests: a.affected ?? 0, replay: b.affected ?? 0 };
  }
}
