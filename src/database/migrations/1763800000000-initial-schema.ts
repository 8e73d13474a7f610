import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1763800000000 implements MigrationInterface {
  name = 'InitialSchema1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE connections (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug varchar(64) NOT NULL,
        name varchar(200) NOT NULL,
        preset varchar(16) NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        domains text[] NOT NULL DEFAULT '{}',
        allow_idp_initiated boolean NOT NULL DEFAULT false,
        options jsonb NOT NULL,
        idp_entity_id text NOT NULL,
        idp jsonb NOT NULL,
        metadata_xml text NOT NULL,
        metadata_url text,
        metadata_entity_id text,
        metadata_signing_certificate text,
        metadata_signature varchar(24) NOT NULL,
        metadata_status varchar(16) NOT NULL DEFAULT 'ok',
        metadata_warnings jsonb NOT NULL DEFAULT '[]',
        metadata_valid_until timestamptz,
        metadata_cache_duration_seconds integer,
        metadata_refresh_seconds integer,
        metadata_updated_at timestamptz NOT NULL,
        metadata_refresh_attempted_at timestamptz,
        metadata_next_refresh_at timestamptz,
        last_refresh_error jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL,
        CONSTRAINT connections_preset_check CHECK (preset IN ('okta','entra','adfs','google','generic'))
      )`);
    await q.query(`CREATE UNIQUE INDEX connections_slug_key ON connections (slug)`);
    await q.query(
      `CREATE INDEX connections_next_refresh_idx ON connections (metadata_next_refresh_at) WHERE metadata_url IS NOT NULL`,
    );
    await q.query(`CREATE INDEX connections_domains_idx ON connections USING gin (domains)`);
    await q.query(`
      CREATE TABLE admin_api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(200) NOT NULL,
        key_prefix varchar(16) NOT NULL,
        key_hash char(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX admin_api_keys_hash_key ON admin_api_keys (key_hash)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE admin_api_keys`);
    await q.query(`DROP TABLE connections`);
  }
}
