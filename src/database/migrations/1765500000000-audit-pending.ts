import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit log's queue of events recorded inside a change's transaction (`AuditService.record(event,
 * tx)`): the event commits with the change, as one of its rows here, and is chained into `audit_events`
 * right after the COMMIT by the audit log's group commit, many at a time. A change's transaction no longer
 * holds the chain's head, so changes commit side by side instead of one at a time. An event still queued a
 * while after its change (its instance stopped in between) is chained by the periodic sweep of any instance.
 * `draft` is the event's JSON text (not jsonb), so that it reads back exactly as it was hashed; `n` keeps
 * the order the events were queued in (a transaction's events share its start time, and clocks tie).
 */
export class AuditPending1765500000000 implements MigrationInterface {
  name = 'AuditPending1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_pending (
        id uuid PRIMARY KEY,
        n bigint GENERATED ALWAYS AS IDENTITY,
        queued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        draft text NOT NULL
      )`);
    await q.query(`CREATE INDEX audit_pending_queued_at_idx ON audit_pending (queued_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_pending`);
  }
}
