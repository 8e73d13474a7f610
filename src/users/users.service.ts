import { Injectable } from '@nestjs/common';
import { DataSource, ObjectLiteral, Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { ApiError } from '../common/api-error';
import { Clock } from '../common/clock';
import type { MappedUser } from '../mapping/attribute-mapping';
import { isDeprovisioned, UserEntity } from './user.entity';
import { entityFromRow } from '../database/entity-from-row';
import { Statements } from '../database/statements';

/** What the audit log keeps of a provisioned user (the profile, not every raw attribute). */
function userAuditView(u: UserEntity): Record<string, unknown> {
  return {
    subject: u.subject,
    email: u.email,
    emailVerified: u.emailVerified,
    givenName: u.givenName,
    familyName: u.familyName,
    displayName: u.displayName,
    groups: u.groups,
  };
}

export interface UserQuery {
  connectionId?: string;
  email?: string;
  limit?: number;
  offset?: number;
}

/** Users: just-in-time provisioning keyed by (connection, subject), profile updates, enable/disable. */
@Injectable()
export class UsersService {
  private readonly users: Repository<UserEntity>;
  private readonly disabledListeners: Array<(userIds: string[]) => Promise<void> | void> = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly statements: Statements,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {
    this.users = dataSource.getRepository(UserEntity);
  }

  /**
   * Creates the user on first login, or updates their profile (groups are replaced: removed groups go
   * away). One statement, so concurrent first logins of the same person create exactly one user.
   */
  async provision(
    connectionId: string,
    mapped: MappedUser,
    attributes: Record<string, string[]>,
  ): Promise<UserEntity> {
    const now = this.clock.now();
    const rows = await this.statements.rows<ObjectLiteral & { inserted: boolean }>(
      'user_provision',
      `INSERT INTO users (connection_id, subject, email, email_verified, given_name, family_name, display_name, groups, attributes, last_login_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10)
       ON CONFLICT (connection_id, subject) DO UPDATE SET
         email = EXCLUDED.email, email_verified = EXCLUDED.email_verified, given_name = EXCLUDED.given_name,
         family_name = EXCLUDED.family_name, display_name = EXCLUDED.display_name, groups = EXCLUDED.groups,
         attributes = EXCLUDED.attributes, last_login_at = EXCLUDED.last_login_at, updated_at = EXCLUDED.updated_at
       RETURNING *, (xmax = 0) AS inserted`,
      [
        connectionId,
        mapped.subject,
        mapped.email,
        mapped.emailVerified,
        mapped.givenName,
        mapped.familyName,
        mapped.displayName,
        mapped.groups,
        JSON.stringify(attributes),
        now,
      ],
    );
    const user = entityFromRow(this.users, rows[0]);
    if (rows[0].inserted) {
      // On the login path: the user exists now whatever happens to the audit log (see AuditService).
      await this.audit.recordSafely({
        type: 'user.provisioned',
        actor: { type: 'system', id: null, name: 'just-in-time provisioning' },
        connectionId,
        userId: user.id,
        data: { after: userAuditView(user) },
      });
    }
    return user;
  }

  async get(id: string): Promise<UserEntity> {
    const user = await this.users.findOne({ where: { id } });
    if (!user) throw ApiError.notFound('user_not_found', `No user with id ${id}.`);
    return user;
  }

  /** An enabled user by id, or null (unknown id, malformed id, disabled, or deprovisioned by the directory). */
  async findActive(id: string): Promise<UserEntity | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const user = await this.statements.findOne(this.users, { id });
    return user && !user.disabled && !isDeprovisioned(user) ? user : null;
  }

  findBySubject(connectionId: string, subject: string): Promise<UserEntity | null> {
    return this.statements.findOne(this.users, { connectionId, subject });
  }

  async list(query: UserQuery): Promise<{ items: UserEntity[]; total: number }> {
    const qb = this.users.createQueryBuilder('u').orderBy('u.created_at', 'ASC').addOrderBy('u.id', 'ASC');
    if (query.connectionId)
      qb.andWhere('u.connection_id = :connectionId', { connectionId: query.connectionId });
    if (query.email) qb.andWhere('lower(u.email) = :email', { email: query.email.toLowerCase() });
    const [items, total] = await qb
      .take(query.limit ?? 50)
      .skip(query.offset ?? 0)
      .getManyAndCount();
    return { items, total };
  }

  /** The latest login of any user of each connection (connection id → time). */
  async lastLoginByConnection(): Promise<Map<string, Date>> {
    const rows: Array<{ connection_id: string; last: Date | string | null }> = await this.dataSource.query(
      `SELECT connection_id, max(last_login_at) AS last FROM users GROUP BY connection_id`,
    );
    const out = new Map<string, Date>();
    for (const r of rows) if (r.last) out.set(r.connection_id, new Date(r.last));
    return out;
  }

  /** The ids of a connection's users. */
  async idsByConnection(connectionId: string): Promise<string[]> {
    const rows = await this.users.find({ select: { id: true }, where: { connectionId } });
    return rows.map((u) => u.id);
  }

  /** Registers a listener told after users were disabled (their sessions and grants end: OIDC logout fan-out). */
  onDisabled(listener: (userIds: string[]) => Promise<void> | void): void {
    this.disabledListeners.push(listener);
  }

  async setDisabled(id: string, disabled: boolean): Promise<UserEntity> {
    let wasDisabled = false;
    await this.dataSource.transaction(async (manager) => {
      const repo = manager.getRepository(UserEntity);
      const user = await repo.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw ApiError.notFound('user_not_found', `No user with id ${id}.`);
      wasDisabled = user.disabled;
      await repo.update({ id }, { disabled });
      await this.audit.record(
        {
          type: disabled ? 'user.disabled' : 'user.enabled',
          connectionId: user.connectionId,
          userId: id,
          data: {
            subject: user.subject,
            email: user.email,
            before: { disabled: user.disabled },
            after: { disabled },
          },
        },
        manager,
      );
    });
    if (disabled && !wasDisabled) for (const listener of this.disabledListeners) await listener([id]);
    return this.get(id);
  }
}
