import { DataSource } from 'typeorm';
import { runWithAuditActor } from '../../../src/audit/audit-context';
import { AuditService } from '../../../src/audit/audit.service';
import { postgresAvailable, startTestApp, TestApp } from '../../support/test-app';

/** Two bridge instances appending to one PostgreSQL at once still write one gap-free, valid chain. */
(postgresAvailable() ? describe : describe.skip)('audit log on two instances sharing PostgreSQL', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp('postgres');
    b = await startTestApp('embedded', { DATABASE_URL: a.config.databaseUrl as string });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('2×50 concurrent appends (and admin changes through both APIs) leave a valid chain without gaps', async () => {
    const ds = a.app.get(DataSource);
    const before = Number((await ds.query(`SELECT last_seq FROM audit_chain_head`))[0].last_seq);
    const burst = (t: TestApp, name: string) =>
      runWithAuditActor({ type: 'system', id: name, name }, () =>
        Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            t.app.get(AuditService).record({ type: 'test.concurrent', data: { instance: name, i } }),
          ),
        ),
      );
    const apiKeys = (t: TestApp, name: string) =>
      Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          t.admin
            .post('/api/v1/api-keys')
            .send({ name: `${name}-${i}` })
            .expect(201),
        ),
      );
    const [fromA, fromB] = await Promise.all([
      burst(a, 'instance-a'),
      burst(b, 'instance-b'),
      apiKeys(a, 'key-a'),
      apiKeys(b, 'key-b'),
    ]);
    const seqs = [...fromA, ...fromB].map((e) => e.seq);
    expect(new Set(seqs).size).toBe(100);

    const rows: Array<{ seq: string }> = await ds.query(
      `SELECT seq FROM audit_events WHERE seq > $1 ORDER BY seq`,
      [before],
    );
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 110 }, (_, i) => before + i + 1));
    for (const t of [a, b]) {
      expect((await t.admin.get('/api/v1/audit/verify').expect(200)).body).toMatchObject({
        ok: true,
        lastSeq: before + 110,
      });
    }
    const keyEvents = (await a.admin.get('/api/v1/audit?type=admin_key.created&limit=200').expect(200)).body
      .items;
    expect(keyEvents).toHaveLength(10);
  });
});
