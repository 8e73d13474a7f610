import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The tables whose rows instances cache (see ChangeFeed); any change to them is announced. */
export const ANNOUNCED_TABLES = ['connections', 'oidc_clients', 'sp_keys'] as const;

/**
 * Change notifications for cached tables: after any statement that writes to one of them, whoever wrote it
 * (the API, a metadata refresh, plain SQL), PostgreSQL sends NOTIFY bridge_changes with the table's name
 * when the transaction commits. Every instance listens and drops its cached copies of that table.
 */
export class ChangeNotifications1764800000000 implements MigrationInterface {
  name = 'ChangeNotifications1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION bridge_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('bridge_changes', TG_TABLE_NAME);
        RETURN NULL;
      END $$`);
    for (const table of ANNOUNCED_TABLES) {
      await q.query(
        `CREATE TRIGGER ${table}_announce_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${table}
           FOR EACH STATEMENT EXECUTE FUNCTION bridge_announce_change()`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ANNOUNCED_TABLES) await q.query(`DROP TRIGGER ${table}_announce_change ON ${table}`);
    await q.query(`DROP FUNCTION bridge_announce_change()`);
  }
}
