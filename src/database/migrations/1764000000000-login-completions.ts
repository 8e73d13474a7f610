import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Binds SP-initiated logins to the browser that started them (login CSRF): the ACS stores a completion,
 * and a same-site GET from the same browser turns it into a session.
 */
export class LoginCompletions1764000000000 implements MigrationInterface {
  name = 'LoginCompletions1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE saml_requests ADD COLUMN browser_binding char(64)`);
    await q.query(`
      CREATE TABLE login_completions (
        code_hash char(64) PRIMARY KEY,
        connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        login jsonb NOT NULL,
        browser_binding char(64),
        return_to text NOT NULL,
        context jsonb NOT NULL DEFAULT '{}',
        expires_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX login_completions_expires_idx ON login_completions (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE login_completions`);
    await q.query(`ALTER TABLE saml_requests DROP COLUMN browser_binding`);
  }
}
