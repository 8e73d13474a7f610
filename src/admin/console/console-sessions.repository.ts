import { Injectable } from '@nestjs/common';
import { DataSource, type DeepPartial, type Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { affectedRows } from '../../database/returned-rows';
import { AdminApiKeyEntity } from '../admin-api-key.entity';
import { ConsoleSessionEntity } from './console-session.entity';

/** A client's failed sign-ins in its current window. */
export interface SignInFailures {
  failures: number;
  windowStartedAt: Date;
}

/**
 * The console's tables: admin_console_sessions and the sign-in failure counters
 * (admin_console_signin_failures), plus the one read of an API key a session was opened with.
 */
@Injectable()
export class ConsoleSessionsRepository {
  private readonly sessions: Repository<ConsoleSessionEntity>;

  constructor(private readonly dataSource: DataSource) {
    this.sessions = dataSource.getRepository(ConsoleSessionEntity);
  }

  /** Inserts a session with these fields and returns it as stored. */
  insert(fields: DeepPartial<ConsoleSessionEntity>): Promise<ConsoleSessionEntity> {
    return this.sessions.save(this.sessions.create(fields));
  }

  findByTokenHash(tokenHash: string): Promise<ConsoleSessionEntity | null> {
    return this.sessions.findOne({ where: { tokenHash } });
  }

  async update(id: string, fields: QueryDeepPartialEntity<ConsoleSessionEntity>): Promise<void> {
    await this.sessions.update({ id }, fields);
  }

  /** The API key a session was opened with (revoked or not), or null when it is gone. */
  findApiKey(id: string): Promise<AdminApiKeyEntity | null> {
    return this.dataSource.getRepository(AdminApiKeyEntity).findOne({ where: { id } });
  }

  async signInFailures(client: string): Promise<SignInFailures | null> {
    const rows: Array<{ failures: number; window_started_at: Date }> = await this.dataSource.query(
      `SELECT failures, window_started_at FROM admin_console_signin_failures WHERE client = $1`,
      [client],
    );
    const row = rows[0];
    return row ? { failures: row.failures, windowStartedAt: new Date(row.window_started_at) } : null;
  }

  /** Counts one failure at `now`: a window that started at or before `windowStart` is restarted at `now`. */
  async countSignInFailure(client: string, now: Date, windowStart: Date): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO admin_console_signin_failures (client, failures, window_started_at) VALUES ($1, 1, $2)
       ON CONFLICT (client) DO UPDATE SET
         failures = CASE WHEN admin_console_signin_failures.window_started_at <= $3 THEN 1
                         ELSE admin_console_signin_failures.failures + 1 END,
         window_started_at = CASE WHEN admin_console_signin_failures.window_started_at <= $3 THEN $2
                         ELSE admin_console_signin_failures.window_started_at END`,
      [client, now, windowStart],
    );
  }

  async deleteSignInFailures(client: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM admin_console_signin_failures WHERE client = $1`, [client]);
  }

  /** Deletes sessions that ended or expired, and counters whose window started, at or before `before`. */
  async deleteStale(before: Date): Promise<{ consoleSessions: number; signInCounters: number }> {
    const consoleSessions = affectedRows(
      await this.dataSource.query(
        'DELETE FROM admin_console_sessions WHERE expires_at <= $1 OR ended_at <= $1',
        [before],
      ),
    );
    const signInCounters = affectedRows(
      await this.dataSource.query('DELETE FROM admin_console_signin_failures WHERE window_started_at <= $1', [
        before,
      ]),
    );
    return { consoleSessions, signInCounters };
  }
}
