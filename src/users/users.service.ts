import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../common/domain-error';
import { Clock } from '../common/clock';
import { Transactions } from '../database/transactions';
import type { MappedUser } from '../mapping/attribute-mapping';
import { isDeprovisioned, UserEntity } from './user.entity';
import { type ProvisionedUser, UsersRepository } from './users.repository';

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
  private readonly disabledListeners: Array<(userIds: string[]) => Promise<void> | void> = [];

  constructor(
    private readonly users: UsersRepository,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  /**
   * Creates the user on first login, or updates their profile (groups are replaced: removed groups go
   * away). One statement, so concurrent first logins of the same person create exactly one user.
   */
  async provision(
    connectionId: string,
    mapped: MappedUser,
    attributes: Record<string, string[]>,
  ): Promise<UserEntity> {
    return this.provisioned(await this.users.provision(connectionId, mapped, attributes, this.clock.now()));
  }

  /**
   * What follows a provisioning (this service's, or a statement that provisions the user with more, like
   * the sign-in's): a user it created is recorded (`user.provisioned`). The user, for the caller.
   */
  async provisioned({ user, inserted }: ProvisionedUser): Promise<UserEntity> {
    if (inserted) {
      // On the login path: the user exists now whatever happens to the audit log (see AuditService).
      await this.audit.recordSafely({
        type: 'user.provisioned',
        actor: { type: 'system', id: null, name: 'just-in-time provisioning' },
        connectionId: user.connectionId,
        userId: user.id,
        data: { after: userAuditView(user) },
      });
    }
    return user;
  }

  async get(id: string): Promise<UserEntity> {
    const user = await this.users.findById(id);
    if (!user) throw DomainError.notFound('user_not_found', `No user with id ${id}.`);
    return user;
  }

  /** An enabled user by id, or null (unknown id, malformed id, disabled, or deprovisioned by the directory). */
  async findActive(id: string): Promise<UserEntity | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    return activeOrNull(await this.users.findByIdOnLoginPath(id));
  }

  /**
   * The user of a row read as JSON (`to_jsonb`) by another statement, if enabled, as findActive would answer
   * for it (null: no row, disabled, or deprovisioned by the directory).
   */
  activeFromJson(json: Record<string, unknown> | null): UserEntity | null {
    return activeOrNull(json ? this.users.fromJson(json) : null);
  }

  findBySubject(connectionId: string, subject: string): Promise<UserEntity | null> {
    return this.users.findBySubject(connectionId, subject);
  }

  list(query: UserQuery): Promise<{ items: UserEntity[]; total: number }> {
    return this.users.page({
      connectionId: query.connectionId,
      email: query.email,
      limit: query.limit ?? 50,
      offset: query.offset ?? 0,
    });
  }

  /** The latest login of any user of each connection (connection id → time). */
  lastLoginByConnection(): Promise<Map<string, Date>> {
    return this.users.lastLoginByConnection();
  }

  /** The ids of a connection's users. */
  idsByConnection(connectionId: string): Promise<string[]> {
    return this.users.idsByConnection(connectionId);
  }

  /** Registers a listener told after users were disabled (their sessions and grants end: OIDC logout fan-out). */
  onDisabled(listener: (userIds: string[]) => Promise<void> | void): void {
    this.disabledListeners.push(listener);
  }

  async setDisabled(id: string, disabled: boolean): Promise<UserEntity> {
    let wasDisabled = false;
    await this.transactions.run(async (tx) => {
      const user = await this.users.lockById(tx, id);
      if (!user) throw DomainError.notFound('user_not_found', `No user with id ${id}.`);
      wasDisabled = user.disabled;
      await this.users.setDisabled(tx, id, disabled);
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
        tx,
      );
    });
    if (disabled && !wasDisabled) for (const listener of this.disabledListeners) await listener([id]);
    return this.get(id);
  }
}

/** The user if they may sign in and get tokens: not disabled, not deprovisioned by the directory. */
function activeOrNull(user: UserEntity | null): UserEntity | null {
  return user && !user.disabled && !isDeprovisioned(user) ? user : null;
}
