import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The web console: server-side admin sessions (only a SHA-256 hash of the session id is stored) and the
 * failed sign-in counters that slow down key guessing.
 */
export class AdminConsole1764500000000 implements MigrationInterface {
  name = 'AdminConsole1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE admin_console_sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        token_hash char(64) NOT NULL,
        csrf_token varchar(64) NOT NULL,
        admin_kind varchar(16) NOT NULL CHECK (admin_kind IN ('bootstrap','api-key','sso')),
        admin_id varchar(600) NOT NULL,
        admin_name varchar(400) NOT NULL,
        api_key_id uuid REFERENCES admin_api_keys(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        ended_at timestamptz
      )`);
    await q.query(
      `CREATE UNIQUE INDEX admin_console_sessions_token_key ON admin_console_sessions (token_hash)`,
    );
    await q.query(`CREATE INDEX admin_console_sessions_expiry_idx ON admin_console_sessions (expires_at)`);
    await q.query(`
      CREATE TABLE admin_console_signin_failures (
        client varchar(64) PRIMARY KEY,
        failures integer NOT NULL DEFAULT 0,
        window_started_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE admin_console_signin_failures`);
    await q.query(`DROP TABLE admin_console_sessions`);
  }
}
