import { randomUUID } from 'node:crypto';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import type { AdminApiKeyEntity } from '../../../src/admin/admin-api-key.entity';
import { ConsoleSessionEntity } from '../../../src/admin/console/console-session.entity';
import type {
  ConsoleSessionsRepository,
  SignInFailures,
} from '../../../src/admin/console/console-sessions.repository';
import {
  ConsoleSessionsService,
  SIGNIN_MAX_FAILURES,
  SIGNIN_WINDOW_MS,
} from '../../../src/admin/console/console-sessions.service';
import { FixedClock } from '../../../src/common/clock';
import type { BridgeConfig } from '../../../src/config/bridge-config';
import type { PeriodicJob, PeriodicJobs } from '../../../src/database/periodic-jobs';
import { need } from '../../support/defined';

/** The console's tables in memory, with the repository's semantics (the sign-in window upsert included). */
class FakeConsoleSessionsRepository implements Pick<
  ConsoleSessionsRepository,
  keyof ConsoleSessionsRepository
> {
  readonly sessions = new Map<string, ConsoleSessionEntity>();
  readonly counters = new Map<string, SignInFailures>();
  readonly apiKeys = new Map<string, Pick<AdminApiKeyEntity, 'id' | 'revokedAt'>>();
  updates = 0;

  async insert(fields: Partial<ConsoleSessionEntity>): Promise<ConsoleSessionEntity> {
    const row = Object.assign(new ConsoleSessionEntity(), { id: randomUUID(), ...fields });
    this.sessions.set(row.id, row);
    return Object.assign(new ConsoleSessionEntity(), row);
  }

  async findByTokenHash(tokenHash: string): Promise<ConsoleSessionEntity | null> {
    const row = [...this.sessions.values()].find((s) => s.tokenHash === tokenHash);
    return row ? Object.assign(new ConsoleSessionEntity(), row) : null;
  }

  async update(id: string, fields: QueryDeepPartialEntity<ConsoleSessionEntity>): Promise<void> {
    this.updates++;
    const row = this.sessions.get(id);
    if (row) Object.assign(row, fields);
  }

  async findApiKey(id: string): Promise<AdminApiKeyEntity | null> {
    return (this.apiKeys.get(id) as AdminApiKeyEntity | undefined) ?? null;
  }

  async signInFailures(client: string): Promise<SignInFailures | null> {
    return this.counters.get(client) ?? null;
  }

  async countSignInFailure(client: string, now: Date, windowStart: Date): Promise<void> {
    const c = this.counters.get(client);
    if (!c || c.windowStartedAt <= windowStart)
      this.counters.set(client, { failures: 1, windowStartedAt: now });
    else c.failures++;
  }

  async deleteSignInFailures(client: string): Promise<void> {
    this.counters.delete(client);
  }

  async deleteStale(before: Date): Promise<{ consoleSessions: number; signInCounters: number }> {
    let consoleSessions = 0;
    let signInCounters = 0;
    for (const [id, s] of this.sessions)
      if (s.expiresAt <= before || (s.endedAt && s.endedAt <= before)) {
        this.sessions.delete(id);
        consoleSessions++;
      }
    for (const [client, c] of this.counters)
      if (c.windowStartedAt <= before) {
        this.counters.delete(client);
        signInCounters++;
      }
    return { consoleSessions, signInCounters };
  }
}

describe('ConsoleSessionsService (fake repository)', () => {
  const config = { adminSessionIdleMinutes: 30, adminSessionMaxHours: 12 } as BridgeConfig;
  let repo: FakeConsoleSessionsRepository;
  let clock: FixedClock;
  let scheduled: PeriodicJob[];
  let service: ConsoleSessionsService;

  beforeEach(() => {
    repo = new FakeConsoleSessionsRepository();
    clock = new FixedClock(new Date('2026-03-01T10:00:00Z'));
    scheduled = [];
    const jobs = { schedule: (job: PeriodicJob) => void scheduled.push(job) } as unknown as PeriodicJobs;
    service = new ConsoleSessionsService(repo as unknown as ConsoleSessionsRepository, clock, jobs, config);
  });

  it('stores only the hash of the session token and resolves the token to its session', async () => {
    const { token, session } = await service.create({
      kind: 'bootstrap',
      id: 'bootstrap',
      name: 'Bootstrap',
    });
    const row = need([...repo.sessions.values()][0], 'the stored session');
    expect(row.tokenHash).not.toContain(token);
    expect(row.expiresAt).toEqual(new Date(clock.now().getTime() + 12 * 3_600_000));
    expect(await service.resolve(token)).toEqual(session);
    expect(await service.resolve(`${token}x`)).toBeNull();
  });

  it('writes last_seen_at at most every 15 s, and ends a session idle for the idle timeout', async () => {
    const { token } = await service.create({ kind: 'bootstrap', id: 'bootstrap', name: 'B' });
    clock.advance(5_000);
    await service.resolve(token);
    expect(repo.updates).toBe(0);
    clock.advance(15_000);
    await service.resolve(token);
    expect(repo.updates).toBe(1);
    clock.advance(30 * 60_000);
    expect(await service.resolve(token)).toBeNull();
    expect(need([...repo.sessions.values()][0], 'the stored session').endedAt).toEqual(clock.now());
  });

  it('ends a session whose API key was revoked', async () => {
    const apiKeyId = randomUUID();
    repo.apiKeys.set(apiKeyId, { id: apiKeyId, revokedAt: null });
    const { token } = await service.create({ kind: 'api-key', id: apiKeyId, name: 'ci', apiKeyId });
    expect(await service.resolve(token)).not.toBeNull();
    repo.apiKeys.set(apiKeyId, { id: apiKeyId, revokedAt: clock.now() });
    expect(await service.resolve(token)).toBeNull();
  });

  it('blocks a client after the maximum failures until its window has passed', async () => {
    for (let i = 0; i < SIGNIN_MAX_FAILURES - 1; i++) await service.recordSignInFailure('198.51.100.7');
    expect(await service.signInBlocked('198.51.100.7')).toBe(false);
    await service.recordSignInFailure('198.51.100.7');
    expect(await service.signInBlocked('198.51.100.7')).toBe(true);
    expect(await service.signInBlocked('198.51.100.8')).toBe(false);
    clock.advance(SIGNIN_WINDOW_MS);
    expect(await service.signInBlocked('198.51.100.7')).toBe(false);
    await service.recordSignInFailure('198.51.100.7');
    expect(repo.counters.get('198.51.100.7')?.failures).toBe(1);
    await service.clearSignInFailures('198.51.100.7');
    expect(repo.counters.size).toBe(0);
  });

  it('registers its own purge job, which deletes sessions and counters a day old', async () => {
    service.onApplicationBootstrap();
    expect(scheduled.map((j) => j.name)).toEqual(['console-session-purge']);
    const { token } = await service.create({ kind: 'bootstrap', id: 'bootstrap', name: 'B' });
    const ended = (await service.resolve(token)) as { id: string };
    await service.end(ended.id);
    await service.recordSignInFailure('198.51.100.7');
    clock.advance(86_400_000 - 1);
    const purge = need(scheduled[0], 'the purge job');
    expect(await purge.run()).toEqual({ consoleSessions: 0, signInCounters: 0 });
    clock.advance(1);
    expect(await purge.run()).toEqual({ consoleSessions: 1, signInCounters: 1 });
  });
});
