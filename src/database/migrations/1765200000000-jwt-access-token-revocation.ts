import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * JWT access tokens are not stored by oidc-provider. To revoke them, the bridge records the ones issued
 * under a grant (jti, grant, account, client, exp) and keeps a revocation list that resource servers poll:
 * a row with `revoked_at` set is revoked. A token without a grant (client_credentials) gets a row only
 * when it is revoked. Rows are purged once the token has expired.
 *
 * Whatever ends a grant (oidc-provider's revocation, a refresh-token replay, a lost redemption race, a
 * logout, a disabled user or connection, SCIM deprovisioning) deletes its Grant row: the trigger revokes
 * the grant's JWT access tokens in the same transaction, so no path can forget to.
 *
 * `revoked_xid` (the revoking transaction's id) is the polling cursor: a poll returns the rows revoked by
 * transactions at or after the oldest transaction still running when the previous poll was answered, so a
 * revocation committed late is never skipped.
 */
export class JwtAccessTokenRevocation1765200000000 implements MigrationInterface {
  name = 'JwtAccessTokenRevocation1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE oidc_access_token_jtis (
        jti varchar(128) PRIMARY KEY,
        grant_id varchar(128),
        account_id varchar(256),
        client_id varchar(64) NOT NULL,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_xid xid8
      )`);
    await q.query(
      `CREATE INDEX oidc_access_token_jtis_grant_idx ON oidc_access_token_jtis (grant_id) WHERE revoked_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX oidc_access_token_jtis_account_idx ON oidc_access_token_jtis (account_id) WHERE revoked_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX oidc_access_token_jtis_revoked_idx ON oidc_access_token_jtis (revoked_xid) WHERE revoked_xid IS NOT NULL`,
    );
    await q.query(`CREATE INDEX oidc_access_token_jtis_expiry_idx ON oidc_access_token_jtis (expires_at)`);
    await q.query(`
      CREATE FUNCTION bridge_revoke_grant_jtis() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE oidc_access_token_jtis SET revoked_at = now(), revoked_xid = pg_current_xact_id()
         WHERE grant_id = OLD.id AND revoked_at IS NULL AND expires_at > now();
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER oidc_models_grant_deleted AFTER DELETE ON oidc_models
        FOR EACH ROW WHEN (OLD.model = 'Grant') EXECUTE FUNCTION bridge_revoke_grant_jtis()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER oidc_models_grant_deleted ON oidc_models`);
    await q.query(`DROP FUNCTION bridge_revoke_grant_jtis()`);
    await q.query(`DROP TABLE oidc_access_token_jtis`);
  }
}
