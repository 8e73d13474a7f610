import type { MigrationInterface, QueryRunner } from 'typeorm';

export class SamlServiceProvider1763900000000 implements MigrationInterface {
  name = 'SamlServiceProvider1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sp_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        status varchar(16) NOT NULL CHECK (status IN ('current','next','retired')),
        certificate_pem text NOT NULL,
        private_key_sealed text NOT NULL,
        not_after timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        retired_at timestamptz
      )`);
    await q.query(`CREATE INDEX sp_keys_connection_idx ON sp_keys (connection_id, status)`);
    await q.query(
      `CREATE UNIQUE INDEX sp_keys_one_current ON sp_keys (connection_id) WHERE status = 'current'`,
    );
    await q.query(`CREATE UNIQUE INDEX sp_keys_one_next ON sp_keys (connection_id) WHERE status = 'next'`);

    await q.query(`
      CREATE TABLE saml_requests (
        id varchar(64) PRIMARY KEY,
        connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        kind varchar(16) NOT NULL CHECK (kind IN ('authn','logout')),
        return_to text,
        context jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX saml_requests_expires_idx ON saml_requests (expires_at)`);

    await q.query(`
      CREATE TABLE saml_replay_cache (
        connection_id uuid NOT NULL,
        assertion_id varchar(256) NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (connection_id, assertion_id)
      )`);
    await q.query(`CREATE INDEX saml_replay_cache_expires_idx ON saml_replay_cache (expires_at)`);

    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        subject varchar(512) NOT NULL,
        email varchar(320),
        email_verified boolean NOT NULL DEFAULT false,
        given_name varchar(256),
        family_name varchar(256),
        display_name varchar(512),
        groups text[] NOT NULL DEFAULT '{}',
        attributes jsonb NOT NULL DEFAULT '{}',
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        last_login_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX users_connection_subject_key ON users (connection_id, subject)`);
    await q.query(`CREATE INDEX users_email_idx ON users (lower(email))`);

    await q.query(`
      CREATE TABLE login_sessions (
        id char(64) PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        name_id varchar(512) NOT NULL,
        name_id_format varchar(256),
        session_index varchar(256),
        authn_context_class_ref varchar(256),
        authn_instant timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        ended_at timestamptz,
        end_reason varchar(32)
      )`);
    await q.query(
      `CREATE INDEX login_sessions_lookup_idx ON login_sessions (connection_id, name_id) WHERE ended_at IS NULL`,
    );
    await q.query(`CREATE INDEX login_sessions_user_idx ON login_sessions (user_id)`);

    await q.query(`
      CREATE TABLE sso_traces (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        connection_id uuid REFERENCES connections(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        kind varchar(16) NOT NULL,
        outcome varchar(16) NOT NULL,
        reason varchar(64),
        message text,
        detail jsonb NOT NULL DEFAULT '{}',
        saml_message text,
        user_id uuid,
        request_id varchar(64)
      )`);
    await q.query(`CREATE INDEX sso_traces_connection_idx ON sso_traces (connection_id, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'sso_traces',
      'login_sessions',
      'users',
      'saml_replay_cache',
      'saml_requests',
      'sp_keys',
    ]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
