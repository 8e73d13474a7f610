import { Injectable } from '@nestjs/common';
import { DataSource, type ObjectLiteral, type Repository } from 'typeorm';
import { entityFromJson, entityFromRow } from '../database/entity-from-row';
import { Statements } from '../database/statements';
import type { Transaction } from '../database/transactions';
import type { MappedUser } from '../mapping/attribute-mapping';
import { UserEntity } from './user.entity';

/** A page of users and how many match in all. */
export interface UserPage {
  items: UserEntity[];
  total: number;
}

/** Which users a page lists: of one connection, with one email (case-insensitive), from an offset. */
export interface UserPageQuery {
  connectionId?: string;
  email?: string;
  limit: number;
  offset: number;
}

/** A provisioned user and whether this login created it (rather than updated an existing row). */
export interface ProvisionedUser {
  user: UserEntity;
  inserted: boolean;
}

/** A row of the user upsert: the user's columns and whether this statement inserted it. */
export type UpsertedUserRow = ObjectLiteral & { inserted: boolean };

/**
 * The user upsert of a login (parameters $1–$10, see `userUpsertValues`): creates the user, or updates their
 * profile when the (connection, subject) exists, returning the row and `inserted`. Groups are replaced.
 * Other statements build on it as a CTE (the sign-in also opens the user's session in the same statement).
 */
export const USER_UPSERT_SQL = `INSERT INTO users (connection_id, subject, email, email_verified, given_name, family_name, display_name, groups, attributes, last_login_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10)
       ON CONFLICT (connection_id, subject) DO UPDATE SET
         email = EXCLUDED.email, email_verified = EXCLUDED.email_verified, given_name = EXCLUDED.given_name,
         family_name = EXCLUDED.family_name, display_name = EXCLUDED.display_name, groups = EXCLUDED.groups,
         attributes = EXCLUDED.attributes, last_login_at = EXCLUDED.last_login_at, updated_at = EXCLUDED.updated_at
       RETURNING *, (xmax = 0) AS inserted`;

/** The parameters $1–$10 of USER_UPSERT_SQL. */
export function userUpsertValues(
  connectionId: string,
  mapped: MappedUser,
  attributes: Record<string, string[]>,
  now: Date,
): unknown[] {
  return [
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
  ];
}

/**
 * The users table as SAML logins and the admin API read and write it. The login path's statements
 * (provision, find by id or subject) are prepared statements (see `Statements`); the admin reads use
 * TypeORM. Directory (SCIM) writes to the same rows are in `DirectoryUsersRepository`.
 */
@Injectable()
export class UsersRepository {
  private readonly users: Repository<UserEntity>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly statements: Statements,
  ) {
    this.users = dataSource.getRepository(UserEntity);
  }

  /**
   * Creates the user, or updates their profile when the (connection, subject) exists: one statement, so
   * concurrent first logins of the same person create exactly one row.
   */
  async provision(
    connectionId: string,
    mapped: MappedUser,
    attributes: Record<string, string[]>,
    now: Date,
  ): Promise<ProvisionedUser> {
    const [row] = await this.statements.rows<UpsertedUserRow>(
      'user_provision',
      USER_UPSERT_SQL,
      userUpsertValues(connectionId, mapped, attributes, now),
    );
    if (!row) throw new Error('The user upsert returned no row');
    return { user: entityFromRow(this.users, row), inserted: row.inserted };
  }

  /** The user with this id, or null (the admin API's read). */
  findById(id: string): Promise<UserEntity | null> {
    return this.users.findOne({ where: { id } });
  }

  /** The user with this id, or null, by a prepared statement (token and userinfo requests, every login). */
  findByIdOnLoginPath(id: string): Promise<UserEntity | null> {
    return this.statements.findOne(this.users, { id });
  }

  /** The user a statement read as its row's JSON (`to_jsonb(u)`, see OidcStorageRepository.findWithGrantAndSession). */
  fromJson(json: Record<string, unknown>): UserEntity {
    return entityFromJson(this.users, json);
  }

  /** The connection's user with this subject, or null (prepared statement: the ACS and SLO call it). */
  findBySubject(connectionId: string, subject: string): Promise<UserEntity | null> {
    return this.statements.findOne(this.users, { connectionId, subject });
  }

  /** Users oldest first (then by id), of one connection and/or one email when given. */
  async page(query: UserPageQuery): Promise<UserPage> {
    const qb = this.users.createQueryBuilder('u').orderBy('u.created_at', 'ASC').addOrderBy('u.id', 'ASC');
    if (query.connectionId)
      qb.andWhere('u.connection_id = :connectionId', { connectionId: query.connectionId });
    if (query.email) qb.andWhere('lower(u.email) = :email', { email: query.email.toLowerCase() });
    const [items, total] = await qb.take(query.limit).skip(query.offset).getManyAndCount();
    return { items, total };
  }

  /** The latest login of any user of each connection (connection id → time), for connections with one. */
  async lastLoginByConnection(): Promise<Map<string, Date>> {
    const rows: Array<{ connection_id: string; last: Date | string | null }> = await this.dataSource.query(
      `SELECT connection_id, max(last_login_at) AS last FROM users GROUP BY connection_id`,
    );
    const out = new Map<string, Date>();
    for (const r of rows) if (r.last) out.set(r.connection_id, new Date(r.last));
    return out;
  }

  /** The ids of a connection's users (in the transaction when given). */
  async idsByConnection(connectionId: string, tx?: Transaction): Promise<string[]> {
    const users = tx ? tx.getRepository(UserEntity) : this.users;
    const rows = await users.find({ select: { id: true }, where: { connectionId } });
    return rows.map((u) => u.id);
  }

  /** The user with this id locked for update until the transaction ends, or null. */
  lockById(tx: Transaction, id: string): Promise<UserEntity | null> {
    return tx.getRepository(UserEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  async setDisabled(tx: Transaction, id: string, disabled: boolean): Promise<void> {
    await tx.getRepository(UserEntity).update({ id }, { disabled });
  }
}
