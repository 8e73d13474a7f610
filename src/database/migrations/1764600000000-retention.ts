import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Indexes for the retention purge: expired login sessions and old SSO traces are deleted by time. */
export class Retention1764600000000 implements MigrationInterface {
  name = 'Retention1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX login_sessions_expires_idx ON login_sessions (expires_at)`);
    await q.query(
      `CREATE INDEX login_sessions_ended_idx ON login_sessions (ended_at) WHERE ended_at IS NOT NULL`,
    );
    await q.query(`CREATE INDEX sso_traces_created_idx ON sso_traces (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX sso_traces_created_idx`);
    await q.query(`DROP INDEX login_sessions_ended_idx`);
    await q.query(`DROP INDEX login_sessions_expires_idx`);
  }
}
