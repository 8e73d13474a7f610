import { Injectable } from '@nestjs/common';
import { DataSource, type DeepPartial, IsNull, type Repository } from 'typeorm';
import { affectedRows } from '../database/returned-rows';
import { Statements } from '../database/statements';
import { LoginSessionEntity } from './login-session.entity';

/** The login_sessions table. Creating and finding a session are on the login path: prepared statements. */
@Injectable()
export class LoginSessionsRepository {
  private readonly sessions: Repository<LoginSessionEntity>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly statements: Statements,
  ) {
    this.sessions = dataSource.getRepository(LoginSessionEntity);
  }

  /** A new, unsaved session with these fields. */
  build(fields: DeepPartial<LoginSessionEntity>): LoginSessionEntity {
    return this.sessions.create(fields);
  }

  async insert(session: LoginSessionEntity): Promise<void> {
    await this.statements.insert(this.sessions, session);
  }

  /** The session with this id (the token's hash), ended or not, or null. */
  findById(id: string): Promise<LoginSessionEntity | null> {
    return this.statements.findOne(this.sessions, { id });
  }

  /** The connection's sessions of this NameID that have not ended. */
  findLiveByNameId(connectionId: string, nameId: string): Promise<LoginSessionEntity[]> {
    return this.sessions.find({ where: { connectionId, nameId, endedAt: IsNull() } });
  }

  /** The user's sessions that have not ended. */
  findLiveByUser(userId: string): Promise<LoginSessionEntity[]> {
    return this.sessions.find({ where: { userId, endedAt: IsNull() } });
  }

  /** Ends those of these sessions that have not ended yet. */
  async end(ids: string[], at: Date, reason: string): Promise<void> {
    await this.sessions
      .createQueryBuilder()
      .update()
      .set({ endedAt: at, endReason: reason })
      .whereInIds(ids)
      .andWhere('ended_at IS NULL')
      .execute();
  }

  /** Deletes the sessions that expired or ended at or before `before`; returns how many. */
  async deleteEndedBefore(before: Date): Promise<number> {
    return affectedRows(
      await this.dataSource.query('DELETE FROM login_sessions WHERE expires_at <= $1 OR ended_at <= $1', [
        before,
      ]),
    );
  }
}
