import { randomUUID } from 'node:crypto';
import type { Transaction } from '../../../src/database/transactions';
import type { MappedUser } from '../../../src/mapping/attribute-mapping';
import { UserEntity } from '../../../src/users/user.entity';
import type {
  ProvisionedUser,
  UserPage,
  UserPageQuery,
  UsersRepository,
} from '../../../src/users/users.repository';
import { stage } from '../support/fake-database';

/** A user row with the defaults the migration gives the columns a login does not set. */
export function userRow(
  fields: Partial<UserEntity> & Pick<UserEntity, 'connectionId' | 'subject'>,
): UserEntity {
  const now = new Date('2026-01-01T00:00:00Z');
  return Object.assign(new UserEntity(), {
    id: randomUUID(),
    email: null,
    emailVerified: false,
    givenName: null,
    familyName: null,
    displayName: null,
    groups: [],
    attributes: {},
    disabled: false,
    createdAt: now,
    updatedAt: now,
    lastLoginAt: null,
    userName: null,
    externalId: null,
    scimResource: null,
    scimActive: null,
    scimDeletedAt: null,
    scimTokenId: null,
    lastSyncedAt: null,
    directoryGroups: [],
    ...fields,
  });
}

/** The users table in memory, with the repository's semantics (upsert by connection and subject). */
export class FakeUsersRepository implements Pick<UsersRepository, keyof UsersRepository> {
  readonly rows = new Map<string, UserEntity>();
  readonly locked: string[] = [];

  add(user: UserEntity): UserEntity {
    this.rows.set(user.id, user);
    return user;
  }

  /** As the repository's: the table's JSON (snake_case columns, timestamps as text) as an entity. */
  fromJson(json: Record<string, unknown>): UserEntity {
    const fields = Object.entries(json).map(([column, value]) => [
      column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()),
      typeof value === 'string' && column.endsWith('_at') ? new Date(value) : value,
    ]);
    return Object.assign(new UserEntity(), Object.fromEntries(fields));
  }

  private copy(user: UserEntity | undefined): UserEntity | null {
    return user ? Object.assign(new UserEntity(), structuredClone(user)) : null;
  }

  async provision(
    connectionId: string,
    mapped: MappedUser,
    attributes: Record<string, string[]>,
    now: Date,
  ): Promise<ProvisionedUser> {
    const profile = {
      email: mapped.email,
      emailVerified: mapped.emailVerified,
      givenName: mapped.givenName,
      familyName: mapped.familyName,
      displayName: mapped.displayName,
      groups: mapped.groups,
      attributes,
      lastLoginAt: now,
      updatedAt: now,
    };
    const existing = [...this.rows.values()].find(
      (u) => u.connectionId === connectionId && u.subject === mapped.subject,
    );
    if (existing) {
      Object.assign(existing, profile);
      return { user: this.copy(existing) as UserEntity, inserted: false };
    }
    const user = this.add(userRow({ connectionId, subject: mapped.subject, createdAt: now, ...profile }));
    return { user: this.copy(user) as UserEntity, inserted: true };
  }

  async findById(id: string): Promise<UserEntity | null> {
    return this.copy(this.rows.get(id));
  }

  async findByIdOnLoginPath(id: string): Promise<UserEntity | null> {
    return this.copy(this.rows.get(id));
  }

  async findBySubject(connectionId: string, subject: string): Promise<UserEntity | null> {
    return this.copy(
      [...this.rows.values()].find((u) => u.connectionId === connectionId && u.subject === subject),
    );
  }

  async page(query: UserPageQuery): Promise<UserPage> {
    const all = [...this.rows.values()]
      .filter((u) => !query.connectionId || u.connectionId === query.connectionId)
      .filter((u) => !query.email || u.email?.toLowerCase() === query.email.toLowerCase())
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
    return {
      items: all.slice(query.offset, query.offset + query.limit).map((u) => this.copy(u) as UserEntity),
      total: all.length,
    };
  }

  async lastLoginByConnection(): Promise<Map<string, Date>> {
    const out = new Map<string, Date>();
    for (const u of this.rows.values()) {
      const last = out.get(u.connectionId);
      if (u.lastLoginAt && (!last || u.lastLoginAt > last)) out.set(u.connectionId, u.lastLoginAt);
    }
    return out;
  }

  async idsByConnection(connectionId: string): Promise<string[]> {
    return [...this.rows.values()].filter((u) => u.connectionId === connectionId).map((u) => u.id);
  }

  async lockById(_tx: Transaction, id: string): Promise<UserEntity | null> {
    this.locked.push(id);
    return this.copy(this.rows.get(id));
  }

  async setDisabled(tx: Transaction, id: string, disabled: boolean): Promise<void> {
    stage(tx, () => {
      const row = this.rows.get(id);
      if (row) row.disabled = disabled;
    });
  }

  asRepository(): UsersRepository {
    return this as unknown as UsersRepository;
  }
}
