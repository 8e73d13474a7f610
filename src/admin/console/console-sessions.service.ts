import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Clock } from '../../common/clock';
import { sha256 } from '../../common/sha256';
import type { BridgeConfig } from '../../config/bridge-config';
import { BRIDGE_CONFIG } from '../../config/config.module';
import { PeriodicJobs } from '../../database/periodic-jobs';
import { ConsoleAdminKind, ConsoleSessionEntity } from './console-session.entity';
import { ConsoleSessionsRepository } from './console-sessions.repository';

/** Failed sign-ins one client may make per window before it has to wait for the window to end. */
export const SIGNIN_MAX_FAILURES = 10;
export const SIGNIN_WINDOW_MS = 15 * 60_000;
/** last_seen_at is written at most this often (a request within it still counts as activity). */
const TOUCH_RESOLUTION_MS = 15_000;

export interface ConsoleAdmin {
  kind: ConsoleAdminKind;
  id: string;
  name: string;
  apiKeyId?: string;
}

/** A live console session, as a request sees it. */
export interface ConsoleSession {
  id: string;
  csrfToken: string;
  admin: ConsoleAdmin;
  expiresAt: Date;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Server-side web console sessions: a random id in an HttpOnly cookie, its SHA-256 hash in the database,
 * an idle timeout and an absolute lifetime. Sessions opened with an API key end when the key is revoked.
 */
@Injectable()
export class ConsoleSessionsService implements OnApplicationBootstrap {
  constructor(
    private readonly sessions: ConsoleSessionsRepository,
    private readonly clock: Clock,
    private readonly jobs: PeriodicJobs,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  /** Purges old sessions and sign-in counters every 5 minutes (one instance). */
  onApplicationBootstrap(): void {
    this.jobs.schedule({
      name: 'console-session-purge',
      periodMs: 5 * 60_000,
      run: () => this.purgeExpired(),
    });
  }

  /** Deletes sessions a day after they ended or expired, and sign-in counters a day old; how many. */
  purgeExpired(): Promise<{ consoleSessions: number; signInCounters: number }> {
    return this.sessions.deleteStale(new Date(this.clock.now().getTime() - 86_400_000));
  }

  get idleMs(): number {
    return this.config.adminSessionIdleMinutes * 60_000;
  }

  /** Opens a new session (always a new id: a session id from before sign-in is never reused). */
  async create(admin: ConsoleAdmin): Promise<{ token: string; session: ConsoleSession }> {
    const token = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const saved = await this.sessions.insert({
      tokenHash: sha256(token),
      csrfToken: randomBytes(32).toString('base64url'),
      adminKind: admin.kind,
      adminId: admin.id.slice(0, 600),
      adminName: admin.name.slice(0, 400),
      apiKeyId: admin.apiKeyId ?? null,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.config.adminSessionMaxHours * 3_600_000),
      endedAt: null,
    });
    return { token, session: this.view(saved) };
  }

  /**
   * The live session a cookie value stands for, or null: unknown, ended, idle for too long, past its
   * absolute lifetime, or opened with an API key that was revoked since. Counts as activity.
   */
  async resolve(token: string | undefined): Promise<ConsoleSession | null> {
    if (!token || token.length < 32 || token.length > 128) return null;
    const found = await this.sessions.findByTokenHash(sha256(token));
    if (!found || found.endedAt) return null;
    const now = this.clock.now();
    if (found.expiresAt.getTime() <= now.getTime()) return this.endAndForget(found, now);
    if (now.getTime() - found.lastSeenAt.getTime() >= this.idleMs) return this.endAndForget(found, now);
    if (found.apiKeyId) {
      const key = await this.sessions.findApiKey(found.apiKeyId);
      if (!key || key.revokedAt) return this.endAndForget(found, now);
    }
    if (now.getTime() - found.lastSeenAt.getTime() >= TOUCH_RESOLUTION_MS) {
      await this.sessions.update(found.id, { lastSeenAt: now });
    }
    return this.view(found);
  }

  /** Ends a session server-side (sign-out): its cookie no longer opens anything. */
  async end(sessionId: string): Promise<void> {
    await this.sessions.update(sessionId, { endedAt: this.clock.now() });
  }

  checkCsrf(session: ConsoleSession, presented: unknown): boolean {
    return typeof presented === 'string' && sameString(presented, session.csrfToken);
  }

  /** True when the client has used up its failed sign-ins for the current window. */
  async signInBlocked(client: string): Promise<boolean> {
    const row = await this.sessions.signInFailures(client.slice(0, 64));
    if (!row) return false;
    const windowOpen = this.clock.now().getTime() - row.windowStartedAt.getTime() < SIGNIN_WINDOW_MS;
    return windowOpen && row.failures >= SIGNIN_MAX_FAILURES;
  }

  /** Counts a failed sign-in (a new window starts when the previous one has passed). */
  async recordSignInFailure(client: string): Promise<void> {
    const now = this.clock.now();
    await this.sessions.countSignInFailure(
      client.slice(0, 64),
      now,
      new Date(now.getTime() - SIGNIN_WINDOW_MS),
    );
  }

  async clearSignInFailures(client: string): Promise<void> {
    await this.sessions.deleteSignInFailures(client.slice(0, 64));
  }

  private async endAndForget(found: ConsoleSessionEntity, now: Date): Promise<null> {
    await this.sessions.update(found.id, { endedAt: now });
    return null;
  }

  private view(s: ConsoleSessionEntity): ConsoleSession {
    return {
      id: s.id,
      csrfToken: s.csrfToken,
      admin: {
        kind: s.adminKind,
        id: s.adminId,
        name: s.adminName,
        ...(s.apiKeyId ? { apiKeyId: s.apiKeyId } : {}),
      },
      expiresAt: s.expiresAt,
    };
  }
}
