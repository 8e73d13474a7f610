import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Back-channel logout tokens owed to apps: delivered at once, retried with backoff, recorded. */
export class BackchannelDeliveries1764300000000 implements MigrationInterface {
  name = 'BackchannelDeliveries1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE backchannel_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        client_id varchar(64) NOT NULL,
        sub varchar(256) NOT NULL,
        sid varchar(256),
        status varchar(16) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','delivered','failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz
      )`);
    await q.query(
      `CREATE INDEX backchannel_deliveries_due_idx ON backchannel_deliveries (next_attempt_at) WHERE status = 'pending'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE backchannel_deliveries`);
  }
}
