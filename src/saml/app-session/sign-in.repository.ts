import { Injectable } from '@nestjs/common';
import { DataSource, type Repository } from 'typeorm';
import { entityFromRow } from '../../database/entity-from-row';
import { Statements } from '../../database/statements';
import type { MappedUser } from '../../mapping/attribute-mapping';
import { UserEntity } from '../../users/user.entity';
import {
  type ProvisionedUser,
  type UpsertedUserRow,
  USER_UPSERT_SQL,
  userUpsertValues,
} from '../../users/users.repository';
import type { LoginSessionEntity } from '../login-session.entity';

/** What the sign-in's statement did: the user provisioned, and whether their session was opened. */
export interface SignInWrite extends ProvisionedUser {
  /** False when the user may not sign in (disabled, or deprovisioned by the directory): no session row. */
  sessionOpened: boolean;
}

/**
 * The user upsert (users.repository's USER_UPSERT_SQL, $1–$10) as CTE `u`, then the session inserted for the user it
 * returned ($11–$18) when that user may sign in: not disabled and not deprovisioned by the directory (the
 * predicate of `isDeprovisioned` in user.entity.ts, in SQL). One statement, one commit.
 */
const SIGN_IN_SQL = `WITH u AS (${USER_UPSERT_SQL}),
  s AS (
    INSERT INTO login_sessions (id, user_id, connection_id, name_id, name_id_format, session_index,
        authn_context_class_ref, authn_instant, created_at, expires_at)
    SELECT $11, u.id, u.connection_id, $12, $13, $14, $15, $16, $17, $18 FROM u
     WHERE NOT u.disabled AND u.scim_active IS DISTINCT FROM false AND u.scim_deleted_at IS NULL
    RETURNING id
  )
  SELECT u.*, EXISTS (SELECT 1 FROM s) AS session_opened FROM u`;

/**
 * The sign-in's write: the user provisioned (just in time) and their bridge session opened, in one
 * statement instead of two (one commit and one round trip fewer on every login), all or nothing.
 */
@Injectable()
export class SignInRepository {
  private readonly users: Repository<UserEntity>;

  constructor(
    dataSource: DataSource,
    private readonly statements: Statements,
  ) {
    this.users = dataSource.getRepository(UserEntity);
  }

  /**
   * Provisions the user as `UsersRepository.provision` does and inserts `session` for them (its `userId`
   * set to theirs) unless they may not sign in. `session.createdAt` is the provisioning's time too.
   */
  async provisionAndOpen(
    connectionId: string,
    mapped: MappedUser,
    attributes: Record<string, string[]>,
    session: LoginSessionEntity,
  ): Promise<SignInWrite> {
    const [row] = await this.statements.rows<UpsertedUserRow & { session_opened: boolean }>(
      'sign_in',
      SIGN_IN_SQL,
      [
        ...userUpsertValues(connectionId, mapped, attributes, session.createdAt),
        session.id,
        session.nameId,
        session.nameIdFormat,
        session.sessionIndex,
        session.authnContextClassRef,
        session.authnInstant,
        session.createdAt,
        session.expiresAt,
      ],
    );
    if (!row) throw new Error('The sign-in statement returned no row');
    const user = entityFromRow(this.users, row);
    if (row.session_opened) session.userId = user.id;
    return { user, inserted: row.inserted, sessionOpened: row.session_opened };
  }
}
