import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tamper-evident audit log: append-only events, each hash-chained to the previous one, and the chain
 * head (last seq and hash) that serialises appends across instances and anchors the end of the chain.
 */
export class AuditLog1764400000000 implements MigrationInterface {
  name = 'AuditLog1764400000000';

  async up(q: QueryRunner): Promise<void> {
    // type is COLLATE "C" so a prefix filter (`login.`) is a plain btree range scan.
    await q.query(`
      CREATE TABLE audit_events (
        seq bigint PRIMARY KEY CHECK (seq >= 1),
        id uuid NOT NULL,
        occurred_at timestamptz NOT NULL,
        type text COLLATE "C" NOT NULL,
        actor_type text NOT NULL,
        actor_id text,
        actor_name text NOT NULL,
        connection_id uuid,
        user_id uuid,
        client_id text,
        request_id text,
        ip text,
        data jsonb NOT NULL DEFAULT '{}',
        prev_hash char(64) NOT NULL,
        hash char(64) NOT NULL
      )`);
    await q.query(`CREATE UNIQUE INDEX audit_events_id_key ON audit_events (id)`);
    await q.query(`CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at)`);
    await q.query(`CREATE INDEX audit_events_type_idx ON audit_events (type, seq)`);
    await q.query(
      `CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, seq) WHERE actor_id IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX audit_events_connection_idx ON audit_events (connection_id, seq) WHERE connection_id IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX audit_events_user_idx ON audit_events (user_id, seq) WHERE user_id IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX audit_events_client_idx ON audit_events (client_id, seq) WHERE client_id IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE audit_chain_head (
        id smallint PRIMARY KEY CHECK (id = 1),
        last_seq bigint NOT NULL,
        last_hash char(64) NOT NULL
      )`);
    await q.query(`INSERT INTO audit_chain_head (id, last_seq, last_hash) VALUES (1, 0, repeat('0', 64))`);

    // Append-only for the application: no UPDATE, DELETE or TRUNCATE of events, whoever the role.
    await q.query(`
      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`);
    // The head only moves forward and is never removed.
    await q.query(`
      CREATE FUNCTION audit_chain_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.last_seq > OLD.last_seq THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_chain_head only advances: % is not allowed', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE OR DELETE ON audit_chain_head
        FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward_only()`);
    await q.query(`
      CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_chain_head`);
    await q.query(`DROP TABLE audit_events`);
    await q.query(`DROP FUNCTION audit_chain_head_forward_only()`);
    await q.query(`DROP FUNCTION audit_events_append_only()`);
  }
}
