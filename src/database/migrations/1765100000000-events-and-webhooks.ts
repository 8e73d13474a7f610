import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event stream and signed webhooks. `events` is written in the same transaction as the change it
 * describes (or with the login's audit batch); a `dedupe_key` makes an event happen once across every
 * instance (a connection's first login, a certificate threshold). Each event a webhook endpoint subscribes to
 * gets a `webhook_deliveries` row in that same statement; a dispatcher sends them one at a time per endpoint,
 * in event order, under a lease (`lease_until`) that any instance may take over once it lapses. Endpoint
 * secrets are sealed with BRIDGE_SECRET (they sign, so they cannot be hashed).
 */
export class EventsAndWebhooks1765100000000 implements MigrationInterface {
  name = 'EventsAndWebhooks1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE events (
        id bigserial PRIMARY KEY,
        type varchar(64) NOT NULL,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        connection_id uuid,
        data jsonb NOT NULL DEFAULT '{}',
        dedupe_key varchar(300)
      )`);
    await q.query(
      `CREATE UNIQUE INDEX events_dedupe_key ON events (dedupe_key) WHERE dedupe_key IS NOT NULL`,
    );
    await q.query(`CREATE INDEX events_type_idx ON events (type, id)`);
    await q.query(`CREATE INDEX events_occurred_idx ON events (occurred_at)`);
    await q.query(`
      CREATE TABLE webhook_endpoints (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        url text NOT NULL,
        description varchar(500),
        event_types text[] NOT NULL,
        secret_sealed text NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        disabled_reason varchar(200),
        failing_since timestamptz,
        lease_until timestamptz,
        lease_owner varchar(100),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        event_id bigint NOT NULL REFERENCES events(id) ON DELETE CASCADE,
        status varchar(16) NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_attempt_at timestamptz,
        last_status integer,
        last_error varchar(500),
        delivered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (endpoint_id, event_id) WHERE status = 'pending'`,
    );
    await q.query(
      `CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at)`,
    );
    await q.query(`CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`DROP TABLE webhook_endpoints`);
    await q.query(`DROP TABLE events`);
  }
}
