import type { MigrationInterface, QueryRunner } from 'typeorm';

export class OpenIdProvider1764100000000 implements MigrationInterface {
  name = 'OpenIdProvider1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE oidc_clients (
        client_id varchar(64) PRIMARY KEY,
        name varchar(200) NOT NULL,
        secret_hash char(64),
        redirect_uris text[] NOT NULL DEFAULT '{}',
        post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
        backchannel_logout_uri text,
        grant_types text[] NOT NULL,
        token_endpoint_auth_method varchar(32) NOT NULL,
        jwks_uri text,
        allowed_connections text[],
        access_token_format varchar(8) NOT NULL DEFAULT 'jwt',
        id_token_signed_response_alg varchar(8) NOT NULL DEFAULT 'RS256',
        lifetimes jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE oidc_models (
        model varchar(32) NOT NULL,
        id varchar(256) NOT NULL,
        payload jsonb NOT NULL,
        grant_id varchar(256),
        user_code varchar(256),
        uid varchar(256),
        expires_at timestamptz,
        consumed_at timestamptz,
        PRIMARY KEY (model, id)
      )`);
    await q.query(`CREATE INDEX oidc_models_grant_idx ON oidc_models (grant_id) WHERE grant_id IS NOT NULL`);
    await q.query(`CREATE INDEX oidc_models_uid_idx ON oidc_models (model, uid) WHERE uid IS NOT NULL`);
    await q.query(
      `CREATE INDEX oidc_models_user_code_idx ON oidc_models (model, user_code) WHERE user_code IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX oidc_models_expires_idx ON oidc_models (expires_at) WHERE expires_at IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE oidc_signing_keys (
        kid varchar(64) PRIMARY KEY,
        alg varchar(8) NOT NULL,
        status varchar(16) NOT NULL CHECK (status IN ('next','current','retired')),
        public_jwk jsonb NOT NULL,
        private_jwk_sealed text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        activated_at timestamptz,
        retired_at timestamptz,
        publish_until timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE oidc_signing_keys`);
    await q.query(`DROP TABLE oidc_models`);
    await q.query(`DROP TABLE oidc_clients`);
  }
}
