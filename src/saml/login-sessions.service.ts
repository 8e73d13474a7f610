import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock } from '../common/clock';
import { sha256 } from '../common/sha256';
import { LoginSessionEntity } from './login-session.entity';
import { LoginSessionsRepository } from './login-sessions.repository';

/** Default bridge session length when the IdP sets no SessionNotOnOrAfter. */
export const DEFAULT_SESSION_MS = 8 * 3600_000;

export const hashSessionToken = sha256;

export interface NewSession {
  userId: string;
  connectionId: string;
  nameId: string;
  nameIdFormat?: string;
  sessionIndex?: string;
  authnContextClassRef?: string;
  authnInstant?: Date;
  sessionNotOnOrAfter?: Date;
}

/** Listener told about sessions that ended (IdP or SP logout): the hook for OIDC back-channel logout. */
export type SessionsEndedListener = (sessions: LoginSessionEntity[], reason: string) => Promise<void> | void;

/**
 * Bridge login sessions created by SAML logins. The browser holds an opaque token; the database keeps
 * only its SHA-256, so a database leak does not leak sessions.
 */
@Injectable()
export class LoginSessionsService {
  private readonly listeners: SessionsEndedListener[] = [];

  constructor(
    private readonly sessions: LoginSessionsRepository,
    private readonly clock: Clock,
  ) {}

  /** Registers a listener for ended sessions (e.g. OIDC back-channel logout fan-out). */
  onSessionsEnded(listener: SessionsEndedListener): void {
    this.listeners.push(listener);
  }

  async create(input: NewSession): Promise<{ token: string; session: LoginSessionEntity }> {
    const opened = this.prepare(input);
    opened.session.userId = input.userId;
    await this.sessions.insert(opened.session);
    return opened;
  }

  /**
   * A new session and its token, not saved yet: for a statement that saves it with more (the sign-in
   * provisions the user and opens their session in one, see SignInRepository), which sets its `userId`.
   */
  prepare(input: Omit<NewSession, 'userId'>): { token: string; session: LoginSessionEntity } {
    const token = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const cap = now.getTime() + DEFAULT_SESSION_MS;
    const expires = input.sessionNotOnOrAfter ? Math.min(input.sessionNotOnOrAfter.getTime(), cap) : cap;
    const session = this.sessions.build({
      id: hashSessionToken(token),
      userId: '',
      connectionId: input.connectionId,
      nameId: input.nameId,
      nameIdFormat: input.nameIdFormat ?? null,
      sessionIndex: input.sessionIndex ?? null,
      authnContextClassRef: input.authnContextClassRef ?? null,
      authnInstant: input.authnInstant ?? null,
      createdAt: now,
      expiresAt: new Date(expires),
      endedAt: null,
      endReason: null,
    });
    return { token, session };
  }

  /** The live session a browser token stands for, if any. */
  async findActive(token: string | undefined): Promise<LoginSessionEntity | null> {
    if (!token || token.length > 128) return null;
    const session = await this.sessions.findById(hashSessionToken(token));
    return session && session.endedAt === null && session.expiresAt > this.clock.now() ? session : null;
  }

  /** Ends one session (SP-initiated logout). */
  async end(session: LoginSessionEntity, reason: string): Promise<void> {
    await this.endWhere([session], reason);
  }

  /**
   * Ends the live sessions of a NameID at a connection, optionally only those with the given
   * SessionIndexes (IdP-initiated logout). Returns the sessions ended.
   */
  async endByNameId(
    connectionId: string,
    nameId: string,
    sessionIndexes: string[],
    reason: string,
  ): Promise<LoginSessionEntity[]> {
    const live = await this.sessions.findLiveByNameId(connectionId, nameId);
    const matching =
      sessionIndexes.length === 0
        ? live
        : live.filter((s) => s.sessionIndex && sessionIndexes.includes(s.sessionIndex));
    await this.endWhere(matching, reason);
    return matching;
  }

  /** Ends every live session of a user (the directory deprovisioned them). Returns the sessions ended. */
  async endForUser(userId: string, reason: string): Promise<LoginSessionEntity[]> {
    const live = await this.sessions.findLiveByUser(userId);
    await this.endWhere(live, reason);
    return live;
  }

  private async endWhere(sessions: LoginSessionEntity[], reason: string): Promise<void> {
    if (sessions.length === 0) return;
    const now = this.clock.now();
    await this.sessions.end(
      sessions.map((s) => s.id),
      now,
      reason,
    );
    for (const s of sessions) {
      s.endedAt = now;
      s.endReason = reason;
    }
    for (const listener of this.listeners) await listener(sessions, reason);
  }

  /** Deletes sessions an hour after they expired or ended (late SLO messages still find them); how many. */
  purgeExpired(): Promise<number> {
    return this.sessions.deleteEndedBefore(new Date(this.clock.now().getTime() - 3600_000));
  }
}
