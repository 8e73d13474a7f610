import { DataSource, type EntityManager } from 'typeorm';
import { ScimGroupsRepository } from '../../src/scim/scim-groups.repository';
import { createTestConnection } from '../support/saml-flow';
import { postgresAvailable, startTestApp, type TestApp } from '../support/test-app';

/**
 * The plans of directory sync's lookups when PostgreSQL's statistics are stale, as they are during a
 * connection's initial sync: thousands of users arrive within autovacuum's first minute, while the last
 * ANALYZE saw the connection with none. A lookup of a batch of ids must then still go by primary key; a
 * plan that scans every user of the connection (what `id = ANY(…)` or a plain join beside `connection_id`
 * got here) costs each PATCH of group members milliseconds of database CPU, growing with the directory.
 */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** The plan's nodes that read the users table or one of its indexes. */
function usersReads(node: PlanNode, out: PlanNode[] = []): PlanNode[] {
  if (node['Relation Name'] === 'users' || node['Index Name']?.startsWith('users_')) out.push(node);
  for (const child of node.Plans ?? []) usersReads(child, out);
  return out;
}

(postgresAvailable() ? describe : describe.skip)('directory sync with stale statistics', () => {
  let t: TestApp;
  let connectionId: string;
  let ids: string[];

  beforeAll(async () => {
    t = await startTestApp('postgres');
    const db = t.app.get(DataSource);
    // Autovacuum would refresh the statistics within a minute; this test is about the time before.
    await db.query('ALTER TABLE users SET (autovacuum_enabled = false)');
    const other = await createTestConnection(t, 'stale-stats-other');
    await db.query(
      `INSERT INTO users (connection_id, subject, user_name, scim_active)
       SELECT $1, 'other-' || g, 'other-' || g, true FROM generate_series(1, 20) g`,
      [other.id],
    );
    await db.query('ANALYZE users');
    connectionId = (await createTestConnection(t, 'stale-stats')).id;
    const rows: Array<{ id: string }> = await db.query(
      `INSERT INTO users (connection_id, subject, user_name, scim_active)
       SELECT $1, 'user-' || g, 'user-' || g, true FROM generate_series(1, 3000) g RETURNING id`,
      [connectionId],
    );
    ids = rows.map((r) => r.id);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it("finds a batch of a group's new members by primary key, and adds exactly the live ones", async () => {
    const db = t.app.get(DataSource);
    const batch = ids.slice(1000, 1050);
    await db.query('UPDATE users SET scim_deleted_at = now() WHERE id = $1', [batch[7]]);
    const seen: Array<{ sql: string; params: unknown[] }> = [];
    const manager = {
      query: (sql: string, params: unknown[]) => {
        seen.push({ sql, params });
        return db.manager.query(sql, params);
      },
    } as unknown as EntityManager;

    const groups = t.app.get(ScimGroupsRepository);
    const { group } = await groups.insert(
      db.manager,
      connectionId,
      { displayName: 'Stale', externalId: null },
      new Date(),
      [],
    );
    // The PATCH that adds a batch of members: the group's update, the members' lookup and insert, one statement.
    const { added } = await groups.update(manager, connectionId, group.id, group, new Date(), batch, []);
    expect([...added].sort()).toEqual(batch.filter((id) => id !== batch[7]).sort());

    expect(seen).toHaveLength(1);
    const [{ 'QUERY PLAN': plans }] = await db.query(
      `EXPLAIN (FORMAT JSON) ${seen[0]!.sql}`,
      seen[0]!.params,
    );
    const reads = usersReads((plans as Array<{ Plan: PlanNode }>)[0]!.Plan).map(
      (node) => `${node['Node Type']}${node['Index Name'] ? ` using ${node['Index Name']}` : ''}`,
    );
    // An index scan of users_pkey, or a bitmap heap scan fed by one: never a scan by connection.
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads)
      expect([
        'Index Scan using users_pkey',
        'Bitmap Index Scan using users_pkey',
        'Bitmap Heap Scan',
      ]).toContain(read);
    expect(reads.some((read) => read.endsWith('using users_pkey'))).toBe(true);
  });
});
