import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The algorithm an app's JWT access tokens are signed with: RS256 (the default, what every resource server
 * verifies) or ES256 (about three times cheaper to sign with jose here, for apps whose resource servers accept it).
 */
export class AccessTokenSigningAlg1765300000000 implements MigrationInterface {
  name = 'AccessTokenSigningAlg1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE oidc_clients ADD COLUMN access_token_signing_alg varchar(8) NOT NULL DEFAULT 'RS256'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE oidc_clients DROP COLUMN access_token_signing_alg`);
  }
}
