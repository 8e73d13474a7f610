import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { runWithAuditActor } from '../../../src/audit/audit-context';
import { eventHash, GENESIS_HASH } from '../../../src/audit/audit-hash';
import { AuditService } from '../../../src/audit/audit.service';
import { Transactions } from '../../../src/database/transactions';
import { databaseKinds, startTestApp, TestApp } from '../../support/test-app';
import { need } from '../../support/defined';

const JOB = { type: 'system' as const, id: 'test-job', name: 'test job' };

type Row = Record<string, unknown> & { seq: string; data: Record<string, unknown> };

describe.each(databaseKinds())('audit hash chain on %s', (kind) => {
  let t: TestApp;
  let audit: AuditService;
  let ds: DataSource;
  let transactions: Transactions;

  beforeAll(async () => {
    t = await startTestApp(kind);
    audit = t.app.get(AuditService);
    ds = t.app.get(DataSource);
    transactions = t.app.get(Transactions);
  });
  afterAll(async () => t?.close());

  /** Runs statements with triggers off (session_replication_role), as a database superuser tampering would. */
  const asSuperuser = (
    statements: (run: (sql: string, params?: unknown[]) => Promise<unknown>) => Promise<unknown>,
  ) =>
    ds.transaction(async (m) => {
      await m.query(`SET LOCAL session_replication_role = replica`);
      await statements((sql, params) => m.query(sql, params));
    });
  const row = async (seq: number): Promise<Row> =>
    (await ds.query(`SELECT * FROM audit_events WHERE seq = $1`, [seq]))[0] as Row;
  /** Puts a row back exactly as it was (after a tampering test). */
  const restore = (r: Row) =>
    asSuperuser(async (run) => {
      await run(`DELETE FROM audit_events WHERE seq = $1`, [r.seq]);
      await run(
        `INSERT INTO audit_events (seq, id, occurred_at, type, actor_type, actor_id, actor_name, connection_id, user_id,
           client_id, request_id, ip, data, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
        [
          r.seq,
          r.id,
          r.occurred_at,
          r.type,
          r.actor_type,
          r.actor_id,
          r.actor_name,
          r.connection_id,
          r.user_id,
          r.client_id,
          r.request_id,
          r.ip,
          JSON.stringify(r.data),
          r.prev_hash,
          r.hash,
        ],
      );
    });
  const verify = async (query = '') => (await t.admin.get(`/api/v1/audit/verify${query}`).expect(200)).body;
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
    expect(events[events.length - 1]).toMatchObject({ type: 'test.appended', actor: JOB, requestId: null });
    expect(await verify()).toEqual({
      ok: true,
      checked: events.length,
      lastSeq: events.length,
      lastHash: events[events.length - 1].hash,
    });
  });

  it('stores awkward data exactly (unicode, NUL, lone surrogates, nested keys in any order) so hashes round-trip', async () => {
    const event = await runWithAuditActor(JOB, () =>
      audit.record({
        type: 'test.awkward',
        data: {
          z: 1,
          a: { y: [3, 'é', '日本'], b: 'nul\u0000 here', s: '\ud800x' },
          n: 1e-7,
          big: 12345678901,
        },
      }),
    );
    const stored = (await t.admin.get('/api/v1/audit?type=test.awkward').expect(200)).body.items[0];
    expect(stored.hash).toBe(event.hash);
    expect(eventHash(stored)).toBe(stored.hash);
    expect(stored.data.a.b).toBe('nul here');
    expect(stored.data.a.s).toBe('\ufffdx');
    expect((await verify()).ok).toBe(true);
  });

  it('is append-only for the application: UPDATE, DELETE and TRUNCATE are refused', async () => {
    await append(1);
    await expect(ds.query(`UPDATE audit_events SET type = 'x.y' WHERE seq = 1`)).rejects.toThrow(
      /append-only/,
    );
    await expect(ds.query(`DELETE FROM audit_events WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(ds.query(`DELETE FROM audit_events`)).rejects.toThrow(/append-only/);
    await expect(ds.query(`TRUNCATE audit_events`)).rejects.toThrow(/append-only/);
    await expect(ds.query(`UPDATE audit_chain_head SET last_seq = 0`)).rejects.toThrow(/advances/);
    await expect(ds.query(`DELETE FROM audit_chain_head`)).rejects.toThrow(/not allowed/);
    await expect(ds.query(`TRUNCATE audit_chain_head`)).rejects.toThrow(/append-only/);
    expect((await verify()).ok).toBe(true);
  });

  describe('detects tampering by someone who bypasses the triggers', () => {
    let seq: number;
    let original: Row;
    beforeEach(async () => {
      await append(4);
      seq = (await lastSeq()) - 2;
      original = await row(seq);
    });
    afterEach(async () => {
      await restore(original);
      expect((await verify()).ok).toBe(true);
    });

    it('an edited row: hash_mismatch at its seq', async () => {
      await asSuperuser((run) => run(`UPDATE audit_events SET data = '{"i": 999}' WHERE seq = $1`, [seq]));
      expect(await verify()).toEqual({
        ok: false,
        checked: seq - 1,
        firstBrokenSeq: seq,
        reason: 'hash_mismatch',
      });
    });

    it('an edited row whose hash was recomputed: prev_hash_mismatch at the next seq', async () => {
      const edited = (await t.admin.get(`/api/v1/audit/export`).expect(200)).text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .find((e) => e.seq === seq);
      edited.actor.name = 'someone else';
      const forged = eventHash(edited);
      await asSuperuser((run) =>
        run(`UPDATE audit_events SET actor_name = 'someone else', hash = $2 WHERE seq = $1`, [seq, forged]),
      );
      expect(await verify()).toEqual({
        ok: false,
        checked: seq,
        firstBrokenSeq: seq + 1,
        reason: 'prev_hash_mismatch',
      });
    });

    it('a deleted row: sequence_gap at its seq', async () => {
      await asSuperuser((run) => run(`DELETE FROM audit_events WHERE seq = $1`, [seq]));
      expect(await verify()).toEqual({
        ok: false,
        checked: seq - 1,
        firstBrokenSeq: seq,
        reason: 'sequence_gap',
      });
    });

    it('a deleted row replaced by the next one (renumbered): prev_hash_mismatch at that seq', async () => {
      const next = await row(seq + 1);
      await asSuperuser(async (run) => {
        await run(`DELETE FROM audit_events WHERE seq = $1`, [seq]);
        await run(`UPDATE audit_events SET seq = $1 WHERE seq = $2`, [seq, seq + 1]);
      });
      expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: seq, reason: 'prev_hash_mismatch' });
      await asSuperuser((run) => run(`UPDATE audit_events SET seq = $1 WHERE seq = $2`, [next.seq, seq]));
    });
  });

  it('detects the deletion of the newest event (the chain head remembers it)', async () => {
    await append(2);
    const last = await lastSeq();
    const original = await row(last);
    await asSuperuser((run) => run(`DELETE FROM audit_events WHERE seq = $1`, [last]));
    expect(await verify()).toEqual({
      ok: false,
      checked: last - 1,
      firstBrokenSeq: last,
      reason: 'sequence_gap',
    });
    await restore(original);
    expect((await verify()).ok).toBe(true);
  });

  it('detects a cut of the newest events with the head moved back, given an anchor kept outside', async () => {
    await append(3);
    const anchor = await verify();
    expect(anchor.ok).toBe(true);
    const cut = [await row(anchor.lastSeq - 1), await row(anchor.lastSeq)];
    const head = (await ds.query(`SELECT last_seq, last_hash FROM audit_chain_head`))[0];
    await asSuperuser(async (run) => {
      await run(`DELETE FROM audit_events WHERE seq >= $1`, [anchor.lastSeq - 1]);
      await run(`UPDATE audit_chain_head SET last_seq = $1, last_hash = $2`, [
        anchor.lastSeq - 2,
        need(cut[0]).prev_hash,
      ]);
    });
    // Inside the database alone the shorter chain is consistent…
    expect(await verify()).toMatchObject({ ok: true, lastSeq: anchor.lastSeq - 2 });
    // …but not with the anchor.
    expect(await verify(`?anchorSeq=${anchor.lastSeq}&anchorHash=${anchor.lastHash}`)).toEqual({
      ok: false,
      checked: anchor.lastSeq - 2,
      firstBrokenSeq: anchor.lastSeq - 1,
      reason: 'sequence_gap',
    });
    await asSuperuser(async (run) => {
      await run(`UPDATE audit_chain_head SET last_seq = $1, last_hash = $2`, [head.last_seq, head.last_hash]);
    });
    for (const r of cut) await restore(r);
    expect(await verify(`?anchorSeq=${anchor.lastSeq}&anchorHash=${anchor.lastHash}`)).toMatchObject({
      ok: true,
    });
    const wrong = await verify(`?anchorSeq=${anchor.lastSeq}&anchorHash=${'0'.repeat(64)}`);
    expect(wrong).toMatchObject({ ok: false, firstBrokenSeq: anchor.lastSeq, reason: 'hash_mismatch' });
    expect((await t.admin.get('/api/v1/audit/verify?anchorSeq=3')).body.code).toBe('invalid_anchor');
    expect((await t.admin.get('/api/v1/audit/verify?anchorSeq=0&anchorHash=x')).status).toBe(400);
  });

  it('keeps one gap-free chain under concurrent appends from one instance', async () => {
    const before = await lastSeq();
    await runWithAuditActor(JOB, () =>
      Promise.all(
        Array.from({ length: 40 }, (_, i) => audit.record({ type: 'test.concurrent', data: { i } })),
      ),
    );
    expect(await lastSeq()).toBe(before + 40);
    expect(await verify()).toMatchObject({ ok: true, lastSeq: before + 40 });
  });

  it("keeps one chain when transactions' events, some rolled back, interleave with group commits", async () => {
    const before = await lastSeq();
    const inTransaction = (i: number, rollBack: boolean) =>
      transactions
        .run(async (m) => {
          await audit.record({ type: 'test.in_transaction', data: { i, rollBack } }, m);
          if (rollBack) throw new Error('rolled back');
        })
        .catch((err: Error) => {
          if (err.message !== 'rolled back') throw err;
        });
    // In turn first: a group commit right after a transaction that rolled back still appends.
    await runWithAuditActor(JOB, async () => {
      await inTransaction(0, true);
      await audit.record({ type: 'test.grouped', data: { i: 0 } });
      await inTransaction(1, false);
      await audit.record({ type: 'test.grouped', data: { i: 1 } });
    });
    expect(await lastSeq()).toBe(before + 3);
    // Then all at once.
    await runWithAuditActor(JOB, () =>
      Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          i % 3 === 0 ? inTransaction(i, i % 2 === 0) : audit.record({ type: 'test.grouped', data: { i } }),
        ),
      ),
    );
    // 20 group commits, 10 transactions of which 5 rolled back.
    expect(await lastSeq()).toBe(before + 3 + 25);
    const rolledBack: Array<{ n: string }> = await ds.query(
      `SELECT count(*) AS n FROM audit_events WHERE seq > $1 AND (data->>'rollBack')::boolean`,
      [before],
    );
    expect(Number(rolledBack[0]?.n)).toBe(0);
    expect(await verify()).toMatchObject({ ok: true, lastSeq: before + 28 });
  });

  const queued = async () => Number((await ds.query(`SELECT count(*) AS n FROM audit_pending`))[0].n);

  it("chains a transaction's event before run() returns, and leaves nothing queued; a rollback leaves nothing", async () => {
    const before = await lastSeq();
    await runWithAuditActor(JOB, () =>
      transactions.run(async (m) => {
        await audit.record({ type: 'test.queued', data: { i: 1 } }, m);
        // Queued with the change, not yet chained: this transaction does not hold the chain's head.
        const [head] = await m.query(`SELECT last_seq FROM audit_chain_head WHERE id = 1`);
        expect(Number(head.last_seq)).toBe(before);
        expect((await m.query(`SELECT id FROM audit_pending`)).length).toBe(1);
      }),
    );
    expect(await lastSeq()).toBe(before + 1);
    expect(await queued()).toBe(0);
    await expect(
      runWithAuditActor(JOB, () =>
        transactions.run(async (m) => {
          await audit.record({ type: 'test.queued', data: { i: 2 } }, m);
          throw new Error('rolled back');
        }),
      ),
    ).rejects.toThrow('rolled back');
    expect(await lastSeq()).toBe(before + 1);
    expect(await queued()).toBe(0);
  });

  it('refuses an event in a transaction that Transactions.run did not open (it would never be chained)', async () => {
    await expect(ds.transaction((m) => audit.record({ type: 'test.queued', data: {} }, m))).rejects.toThrow(
      /Transactions\.run/,
    );
  });

  /** Queues events as a transaction would, then "stops" before chaining them (nothing runs after the commit). */
  const leaveQueued = (n: number, type: string) =>
    ds.transaction(async (m) => {
      for (let i = 0; i < n; i++) {
        const id = randomUUID();
        const draft = {
          id,
          type,
          actor: { type: 'system', id: 'test-job', name: 'test job' },
          connectionId: null,
          userId: null,
          clientId: null,
          requestId: null,
          ip: null,
          data: { i },
        };
        await m.query(
          `INSERT INTO audit_pending (id, queued_at, draft) VALUES ($1, clock_timestamp() - interval '1 minute', $2)`,
          [id, JSON.stringify(draft)],
        );
      }
    });

  it('chains, with the sweep, the events an instance left queued (oldest first, delayedFrom), once', async () => {
    const before = await lastSeq();
    await leaveQueued(3, 'test.left_queued');
    // Too recent for the sweep: an instance still chaining them must not be raced.
    expect(await audit.chainStale(3600)).toBe(0);
    expect(await audit.chainStale()).toBe(3);
    expect(await audit.chainStale()).toBe(0);
    expect(await lastSeq()).toBe(before + 3);
    expect(await queued()).toBe(0);
    const rows: Row[] = await ds.query(`SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq`, [before]);
    expect(rows.map((r) => r.data.i)).toEqual([0, 1, 2]);
    expect(rows.every((r) => typeof r.data.delayedFrom === 'string')).toBe(true);
    expect(await verify()).toMatchObject({ ok: true, lastSeq: before + 3 });
  });

  it('chains a queued event once when the sweep takes it first, and keeps the batch it was in', async () => {
    const before = await lastSeq();
    // A transaction's event, queued and committed; the sweep chains it before its own chaining does.
    const held = transactions.run(async (m) => {
      await runWithAuditActor(JOB, () => audit.record({ type: 'test.raced', data: { by: 'owner' } }, m));
      await m.query(`UPDATE audit_pending SET queued_at = now() - interval '1 minute'`);
    });
    // The sweep (another instance's) may run before or after the owner's chaining: either way, once.
    const [swept] = await Promise.all([
      audit.chainStale(),
      held,
      runWithAuditActor(JOB, () =>
        Promise.all(Array.from({ length: 5 }, (_, i) => audit.record({ type: 'test.beside', data: { i } }))),
      ),
    ]);
    expect(swept).toBeLessThanOrEqual(1);
    expect(await audit.chainStale()).toBe(0);
    const raced: Array<{ n: string }> = await ds.query(
      `SELECT count(*) AS n FROM audit_events WHERE seq > $1 AND type = 'test.raced'`,
      [before],
    );
    expect(Number(raced[0]?.n)).toBe(1);
    expect(await lastSeq()).toBe(before + 6);
    expect(await queued()).toBe(0);
    expect(await verify()).toMatchObject({ ok: true, lastSeq: before + 6 });
  });

  it('streams the export in batches, with filters, oldest first', async () => {
    const batches: number[][] = [];
    for await (const batch of audit.stream({ type: 'test.' }, 7)) batches.push(batch.map((e) => e.seq));
    expect(batches.length).toBeGreaterThan(3);
    expect(batches.slice(0, -1).every((b) => b.length === 7)).toBe(true);
    const exported = (await t.admin.get('/api/v1/audit/export?type=test.').expect(200)).text
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(batches.flat()).toEqual(exported);
    expect(exported).toEqual([...exported].sort((x, y) => x - y));
  });

  it('verifies in batches', async () => {
    const small = await audit.verify(3);
    expect(small).toEqual(await audit.verify(1000));
    expect(small.ok).toBe(true);
  });
});
