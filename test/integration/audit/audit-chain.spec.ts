import { DataSource } from 'typeorm';
import { runWithAuditActor } from '../../../src/audit/audit-context';
import { eventHash, GENESIS_HASH } from '../../../src/audit/audit-hash';
import { AuditService } from '../../../src/audit/audit.service';
import { databaseKinds, startTestApp, TestApp } from '../../support/test-app';

const JOB = { type: 'system' as const, id: 'test-job', name: 'test job' };

/** Runs statements as the database superuser with triggers off: how an attacker with DB access tampers. */
async function tamper(ds: DataSource, sql: string, params: unknown[] = []): Promise<void> {
  await ds.transaction(async (m) => {
    await m.query(`SET LOCAL session_replication_role = replica`);
    await m.query(sql, params);
  });
}

describe.each(databaseKinds())('audit hash chain on %s', (kind) => {
  let t: TestApp;
  let audit: AuditService;
  let ds: DataSource;

  beforeAll(async () => {
    t = await startTestApp(kind);
    audit = t.app.get(AuditService);
    ds = t.app.get(DataSource);
  });
  afterAll(async () => t?.close());

  const append = (n: number, type = 'test.appended') =>
    runWithAuditActor(JOB, async () => {
      for (let i = 0; i < n; i++) await audit.record({ type, data: { i, note: `event ${i}` } });
    });
  const lastSeq = async () =>
    Number((await ds.query(`SELECT max(seq) AS s FROM audit_events`))[0].s as string);

  it('chains events: seq 1, 2, 3…, prevHash = previous hash, hash recomputable from the stored row', async () => {
    await append(5);
    const events = (await t.admin.get('/api/v1/audit?limit=200').expect(200)).body.items.reverse();
    expect(events[0].seq).toBe(1);
    expect(events[0].prevHash).toBe(GENESIS_HASH);
    for (let i = 0; i < events.length; i++) {
      expect(events[i].seq).toBe(i + 1);
      if (i > 0) expect(events[i].prevHash).toBe(events[i - 1].hash);
      expect(eventHash(events[i])).toBe(events[i].hash);
      expect(events[i].occurredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    const verify = await t.admin.get('/api/v1/audit/verify').expect(200);
    expect(verify.body).toEqual({
      ok: true,
      checked: events.length,
      lastSeq: events.length,
      lastHash: events[events.length - 1].hash,
    });
  });

  it('is append-only for the application: UPDATE, DELETE and TRUNCATE are refused', async () => {
    await append(1);
    await expect(ds.query(`UPDATE audit_events SET type = 'x.y' WHERE seq = 1`)).rejects.toThrow(
      /append-only/,
    );
    await expect(ds.query(`DELETE FROM audit_events WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(ds.query(`TRUNCATE audit_events`)).rejects.toThrow(/append-only/);
    await expect(ds.query(`UPDATE audit_chain_head SET last_seq = 0`)).rejects.toThrow(/advances/);
    await expect(ds.query(`DELETE FROM audit_chain_head`)).rejects.toThrow(/not allowed/);
    expect((await t.admin.get('/api/v1/audit/verify').expect(200)).body.ok).toBe(true);
  });

  it('detects an edited row (hash_mismatch at its seq)', async () => {
    await append(3);
    const seq = (await lastSeq()) - 1;
    await tamper(ds, `UPDATE audit_events SET data = '{"i": 999}' WHERE seq = $1`, [seq]);
    const verify = (await t.admin.get('/api/v1/audit/verify').expect(200)).body;
    expect(verify).toEqual({ ok: false, checked: seq - 1, firstBrokenSeq: seq, reason: 'hash_mismatch' });
  });
});
