import { Logger } from '@nestjs/common';
import { FixedClock } from '../../../src/common/clock';
import type { BridgeConfig } from '../../../src/config/bridge-config';
import type { PeriodicJobs } from '../../../src/database/periodic-jobs';
import type { SsoTraceEntity } from '../../../src/audit/sso-trace.entity';
import type { SsoTracesRepository } from '../../../src/audit/sso-traces.repository';
import {
  MAX_TRACE_BATCH,
  MAX_TRACE_BATCH_CHARS,
  SsoTracesService,
  type TraceInput,
} from '../../../src/audit/sso-traces.service';

const CONNECTION = '6f1c2a52-0c1e-4d8f-9a51-1f0d7c3a9b10';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const unreachable = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

/**
 * The sso_traces table in memory. Each `insertMany` is one statement, all or nothing; `hold()` keeps the
 * next statement in flight until released, `refuse` makes a statement fail (like the database) when it
 * holds a row it matches, `fail` makes the next statements fail whatever they hold.
 */
class FakeSsoTracesRepository {
  readonly rows: SsoTraceEntity[] = [];
  /** Each statement's rows, in the order they were sent. */
  readonly statements: SsoTraceEntity[][] = [];
  refuse?: (trace: SsoTraceEntity) => boolean;
  fail?: () => Error;
  private held?: Promise<void>;

  hold(): () => void {
    let release!: () => void;
    this.held = new Promise((resolve) => (release = resolve));
    return release;
  }

  async insertMany(traces: SsoTraceEntity[]): Promise<string[]> {
    this.statements.push(traces.map((t) => ({ ...t })));
    const held = this.held;
    this.held = undefined;
    if (held) await held;
    if (this.fail) throw this.fail();
    if (this.refuse && traces.some(this.refuse)) {
      throw new Error('invalid byte sequence for encoding "UTF8": 0x00');
    }
    this.rows.push(...traces);
    return traces.map((t) => t.id);
  }

  asRepository(): SsoTracesRepository {
    return this as unknown as SsoTracesRepository;
  }
}

const trace = (message: string, extra: Partial<TraceInput> = {}): TraceInput => ({
  connectionId: CONNECTION,
  kind: 'acs',
  outcome: 'success',
  message,
  ...extra,
});

/** Lets the service's background flush run what it can (promise callbacks, no timers). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('SsoTracesService group commit (fake repository)', () => {
  let repo: FakeSsoTracesRepository;
  let service: SsoTracesService;
  let warn: jest.SpyInstance;

  beforeEach(() => {
    repo = new FakeSsoTracesRepository();
    service = new SsoTracesService(
      repo.asRepository(),
      new FixedClock(new Date('2026-03-01T10:00:00Z')),
      {} as PeriodicJobs,
      { ssoTraceRetentionDays: 14 } as BridgeConfig,
    );
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('writes a lone trace at once, in its own statement, and returns its id once written', async () => {
    const id = service.record(trace('alone', { reason: 'r', userId: CONNECTION, requestId: 'req-1' }));
    // Sent before the caller even awaits: no timer, no waiting for company.
    expect(repo.statements).toHaveLength(1);
    expect(repo.statements[0]).toHaveLength(1);
    const recorded = await id;
    expect(recorded).toMatch(UUID);
    expect(repo.rows).toEqual([
      {
        id: recorded,
        connectionId: CONNECTION,
        createdAt: new Date('2026-03-01T10:00:00Z'),
        kind: 'acs',
        outcome: 'success',
        reason: 'r',
        message: 'alone',
        detail: {},
        samlMessage: null,
        userId: CONNECTION,
        requestId: 'req-1',
      },
    ]);
  });

  it('resolves a caller only after the statement holding its row is done', async () => {
    const release = repo.hold();
    let resolved = false;
    const id = service.record(trace('held')).then((value) => {
      resolved = true;
      return value;
    });
    await settle();
    expect(resolved).toBe(false);
    expect(repo.rows).toHaveLength(0);
    release();
    expect(await id).toBe(repo.rows[0]?.id);
  });

  it('puts the traces recorded while a statement is in flight into the next one, each caller its own id', async () => {
    const release = repo.hold();
    const first = service.record(trace('first'));
    const others = Array.from({ length: 5 }, (_, i) => service.record(trace(`m${i}`)));
    await settle();
    expect(repo.statements).toHaveLength(1);
    release();
    const ids = await Promise.all(others);
    expect(await first).toBe(repo.rows[0]?.id);

    expect(repo.statements.map((s) => s.map((t) => t.message))).toEqual([
      ['first'],
      ['m0', 'm1', 'm2', 'm3', 'm4'],
    ]);
    // Each caller gets the id of its own row, in the order they called.
    expect(new Set(ids).size).toBe(5);
    ids.forEach((id, i) => {
      expect(id).toMatch(UUID);
      expect(repo.rows.find((r) => r.id === id)?.message).toBe(`m${i}`);
    });
  });

  it('caps a statement at MAX_TRACE_BATCH traces; the rest go into the following ones', async () => {
    const release = repo.hold();
    const first = service.record(trace('first'));
    const queued = Array.from({ length: 2 * MAX_TRACE_BATCH + 50 }, (_, i) => service.record(trace(`q${i}`)));
    release();
    const ids = await Promise.all([first, ...queued]);
    expect(repo.statements.map((s) => s.length)).toEqual([1, MAX_TRACE_BATCH, MAX_TRACE_BATCH, 50]);
    expect(ids.every((id) => id !== undefined)).toBe(true);
    expect(repo.rows.map((r) => r.message)).toEqual(['first', ...queued.map((_, i) => `q${i}`)]);
  });

  it('caps a statement at MAX_TRACE_BATCH_CHARS of SAML messages; a larger trace still goes, alone', async () => {
    const samlMessage = 'x'.repeat(64 * 1024);
    const perBatch = Math.floor(MAX_TRACE_BATCH_CHARS / (samlMessage.length + 'refused'.length));
    const release = repo.hold();
    const first = service.record(trace('first'));
    const queued = Array.from({ length: perBatch + 3 }, () =>
      service.record(trace('refused', { outcome: 'failure', samlMessage })),
    );
    release();
    await Promise.all([first, ...queued]);
    expect(repo.statements.map((s) => s.length)).toEqual([1, perBatch, 3]);
    expect(perBatch).toBeGreaterThan(1);

    // A trace's SAML message is cut to 64k characters, so one trace alone never exceeds a statement.
    expect(await service.record(trace('huge', { samlMessage: 'y'.repeat(200_000) }))).toMatch(UUID);
    expect(repo.statements.at(-1)?.map((t) => t.samlMessage?.length)).toEqual([64 * 1024]);
  });

  it('when the database is unreachable, gives undefined to every caller of the batch and logs once', async () => {
    const release = repo.hold();
    const first = service.record(trace('first'));
    const batch = Array.from({ length: 4 }, (_, i) =>
      service.record(trace(`m${i}`, { samlMessage: `<secret>${i}</secret>` })),
    );
    await settle();
    repo.fail = unreachable;
    release();
    expect(await first).toBeUndefined();
    expect(await Promise.all(batch)).toEqual([undefined, undefined, undefined, undefined]);
    // Not retried row by row: one statement for the first trace, one for the batch.
    expect(repo.statements.map((s) => s.length)).toEqual([1, 4]);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[1]?.[0]).toBe(
      'Could not record 4 of 4 SSO traces: connect ECONNREFUSED 127.0.0.1:5432',
    );
    for (const [message] of warn.mock.calls) expect(String(message)).not.toContain('secret');

    // The next trace, once the database is back, is written (a failed batch does not stop the queue).
    repo.fail = undefined;
    expect(await service.record(trace('later'))).toBe(repo.rows[0]?.id);
  });

  it('a lone trace the database refuses is undefined for its caller, logged once', async () => {
    repo.refuse = (t) => t.message === 'bad';
    expect(await service.record(trace('bad'))).toBeUndefined();
    expect(repo.statements).toHaveLength(1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      'Could not record an SSO trace: invalid byte sequence for encoding "UTF8": 0x00',
    );
  });

  it('a row the database refuses costs only its own trace, not the rest of its batch (logged once)', async () => {
    const release = repo.hold();
    const first = service.record(trace('first'));
    const batch = ['m0', 'bad', 'm2'].map((m) =>
      service.record(trace(m, { samlMessage: m === 'bad' ? '<x>\u0000 secret</x>' : undefined })),
    );
    repo.refuse = (t) => t.message === 'bad';
    release();
    await first;
    const [m0, bad, m2] = await Promise.all(batch);
    expect(bad).toBeUndefined();
    expect(repo.rows.map((r) => r.message)).toEqual(['first', 'm0', 'm2']);
    expect(repo.rows.find((r) => r.id === m0)?.message).toBe('m0');
    expect(repo.rows.find((r) => r.id === m2)?.message).toBe('m2');
    // The batch, then its rows one by one.
    expect(repo.statements.map((s) => s.map((t) => t.message))).toEqual([
      ['first'],
      ['m0', 'bad', 'm2'],
      ['m0'],
      ['bad'],
      ['m2'],
    ]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      'Could not record 1 of 3 SSO traces: invalid byte sequence for encoding "UTF8": 0x00',
    );
  });

  it('stops writing a batch row by row once the database is unreachable', async () => {
    repo.refuse = (t) => t.message === 'bad';
    // Statements: 1 'first', 2 the batch (refused for 'bad'), 3 'bad' alone (refused), 4 'm1': unreachable.
    const original = repo.insertMany.bind(repo);
    let calls = 0;
    repo.insertMany = async (traces) => {
      if (++calls === 4) throw unreachable();
      return original(traces);
    };
    const release = repo.hold();
    const first = service.record(trace('first'));
    const batch = ['bad', 'm1', 'm2'].map((m) => service.record(trace(m)));
    release();
    expect(await first).toMatch(UUID);
    expect(await Promise.all(batch)).toEqual([undefined, undefined, undefined]);
    // 'm2' is not tried: the database is gone.
    expect(calls).toBe(4);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      'Could not record 3 of 3 SSO traces: invalid byte sequence for encoding "UTF8": 0x00',
    );
  });
});
