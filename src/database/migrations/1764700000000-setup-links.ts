import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Customer setup links: a time-limited link to one connection's setup page. Only a SHA-256 hash of the
 * link's token is stored; deleting the connection deletes its links.
 */
export class SetupLinks1764700000000 implements MigrationInterface {
  name = 'SetupLinks1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE setup_links (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        token_hash char(64) NOT NULL,
        note varchar(500),
        created_by_type varchar(32) NOT NULL,
        created_by_id varchar(600),
        created_by_name varchar(400) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        last_opened_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX setup_links_token_key ON setup_links (token_hash)`);
    await q.query(`CREATE INDEX setup_links_connection_idx ON setup_links (connection_id, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE setup_links`);
  }
}
