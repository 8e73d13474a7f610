import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Directory sync (SCIM 2.0) per connection: bearer tokens (only a SHA-256 of each is stored, with a
 * per-minute request window for rate limiting), the directory's view of each user on the users row (the
 * SCIM resource as the directory sent it, active state, tombstone of a deleted user so that a later SAML
 * login cannot bring them back), and the directory's groups with their members. `directory_groups` keeps
 * the names of a user's SCIM groups on the users row, so that a token costs no extra read.
 */
export class DirectorySync1765000000000 implements MigrationInterface {
  name = 'DirectorySync1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE scim_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        token_hash char(64) NOT NULL,
        prefix varchar(16) NOT NULL,
        description varchar(200),
        created_by_name varchar(400) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz,
        window_started_at timestamptz,
        window_count integer NOT NULL DEFAULT 0
      )`);
    await q.query(`CREATE UNIQUE INDEX scim_tokens_hash_key ON scim_tokens (token_hash)`);
    await q.query(`CREATE INDEX scim_tokens_connection_idx ON scim_tokens (connection_id, created_at)`);
    await q.query(`
      ALTER TABLE users
        ADD COLUMN user_name varchar(512),
        ADD COLUMN external_id varchar(512),
        ADD COLUMN scim_resource jsonb,
        ADD COLUMN scim_active boolean,
        ADD COLUMN scim_deleted_at timestamptz,
        ADD COLUMN scim_token_id uuid,
        ADD COLUMN last_synced_at timestamptz,
        ADD COLUMN directory_groups text[] NOT NULL DEFAULT '{}'`);
    await q.query(
      `CREATE UNIQUE INDEX users_scim_user_name_key ON users (connection_id, lower(user_name))
         WHERE user_name IS NOT NULL AND scim_deleted_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX users_scim_external_id_idx ON users (connection_id, external_id) WHERE external_id IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE scim_groups (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        display_name varchar(256) NOT NULL,
        external_id varchar(512),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE UNIQUE INDEX scim_groups_name_key ON scim_groups (connection_id, lower(display_name))`,
    );
    await q.query(`
      CREATE TABLE scim_group_members (
        group_id uuid NOT NULL REFERENCES scim_groups(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, user_id)
      )`);
    await q.query(`CREATE INDEX scim_group_members_user_idx ON scim_group_members (user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE scim_group_members`);
    await q.query(`DROP TABLE scim_groups`);
    await q.query(`DROP INDEX users_scim_external_id_idx`);
    await q.query(`DROP INDEX users_scim_user_name_key`);
    await q.query(`
      ALTER TABLE users DROP COLUMN user_name, DROP COLUMN external_id, DROP COLUMN scim_resource,
        DROP COLUMN scim_active, DROP COLUMN scim_deleted_at, DROP COLUMN scim_token_id,
        DROP COLUMN last_synced_at, DROP COLUMN directory_groups`);
    await q.query(`DROP TABLE scim_tokens`);
  }
}
