import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock } from '../common/clock';
import { sha256 } from '../common/sha256';
import type { MappedUser } from '../mapping/attribute-mapping';
import { SamlRequestEntity } from './saml-request.entity';
import { SamlStateRepository } from './saml-state.repository';

/** How long an AuthnRequest / LogoutRequest waits for its answer. */
export const REQUEST_LIFETIME_MS = 10 * 60_000;

/** How long a validated login waits for its browser to come back (the same-site GET after the ACS). */
export const COMPLETION_LIFETIME_MS = 2 * 60_000;

/** A validated SAML login waiting for the browser that started it. */
export interface LoginCompletion {
  connectionId: string;
  /** What the validated assertion said: the user to provision and the session to open (dates as ISO strings). */
  login: {
    mapped: MappedUser;
    attributes: Record<string, string[]>;
    assertionId: string;
    inResponseTo?: string;
    session: {
      nameId: string;
      nameIdFormat?: string;
      sessionIndex?: string;
      authnContextClassRef?: string;
      authnInstant?: string;
      sessionNotOnOrAfter?: string;
    };
  };
  /** SHA-256 of the browser-binding cookie expected at completion; null for IdP-initiated logins. */
  browserBinding: string | null;
  /** A same-site path to go to afterwards, if the login has one. */
  returnTo?: string;
  /** The id of the login consumer that takes it (login-consumers.ts), and that consumer's state. */
  consumer: string;
  state: Record<string, unknown>;
  expiresAt: Date;
}

/** A SAML message ID: xs:ID (must not start with a digit), 160 random bits. */
export function newMessageId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

/**
 * The SAML state shared by every instance through the database: pending requests (single use,
 * expiring), the assertion replay cache and validated logins waiting for their browser.
 */
@Injectable()
export class SamlStateService {
  constructor(
    private readonly state: SamlStateRepository,
    private readonly clock: Clock,
  ) {}

  async createRequest(input: {
    id: string;
    connectionId: string;
    kind: 'authn' | 'logout';
    returnTo: string | null;
    context?: Record<string, unknown>;
    browserBinding?: string | null;
  }): Promise<SamlRequestEntity> {
    const now = this.clock.now();
    const request = this.state.buildRequest({
      ...input,
      context: input.context ?? {},
      browserBinding: input.browserBinding ?? null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + REQUEST_LIFETIME_MS),
    });
    await this.state.insertRequest(request);
    return request;
  }

  /** Takes a pending request out, atomically: a second caller (any instance) gets null. */
  async consumeRequest(
    id: string,
    connectionId: string,
    kind: 'authn' | 'logout',
  ): Promise<SamlRequestEntity | null> {
    return this.pendingRequest('takeRequest', id, connectionId, kind);
  }

  /** The pending request, unexpired, without taking it: `acceptLogin` takes it with the login's other writes. */
  async findRequest(
    id: string,
    connectionId: string,
    kind: 'authn' | 'logout',
  ): Promise<SamlRequestEntity | null> {
    return this.pendingRequest('findRequest', id, connectionId, kind);
  }

  /**
   * A validated login's single use, atomically (one statement, one commit): takes its pending request
   * (`requestId`; null for an IdP-initiated login), records its assertion ID until `assertion.until` and
   * stores the login for the browser that started it (see `takeCompletion`). The code is returned only when
   * all of them happened: `requestTaken` false means another response took the request first (any
   * instance), `remembered` false that the assertion ID was seen before (a replay).
   */
  async acceptLogin(
    requestId: string | null,
    assertion: { id: string; until: Date },
    completion: Omit<LoginCompletion, 'expiresAt'>,
  ): Promise<{ requestTaken: boolean; remembered: boolean; code?: string }> {
    const code = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const outcome = await this.state.acceptLogin(
      requestId,
      now,
      { id: assertion.id.slice(0, 256), until: assertion.until },
      {
        codeHash: sha256(code),
        connectionId: completion.connectionId,
        login: completion.login,
        browserBinding: completion.browserBinding,
        returnTo: completion.returnTo ?? '',
        context: { consumer: completion.consumer, state: completion.state },
        expiresAt: new Date(now.getTime() + COMPLETION_LIFETIME_MS),
      },
    );
    return {
      requestTaken: outcome.requestTaken,
      remembered: outcome.remembered,
      ...(outcome.stored ? { code } : {}),
    };
  }

  /** A request ID longer than ours (64 characters) is never looked up. */
  private async pendingRequest(
    how: 'takeRequest' | 'findRequest',
    id: string,
    connectionId: string,
    kind: 'authn' | 'logout',
  ): Promise<SamlRequestEntity | null> {
    if (id.length > 64) return null;
    return this.state[how](id, connectionId, kind, this.clock.now());
  }

  /** Records an assertion ID until it expires; false when it was already seen (a replay). */
  rememberAssertion(connectionId: string, assertionId: string, until: Date): Promise<boolean> {
    return this.state.insertAssertion(connectionId, assertionId.slice(0, 256), until);
  }

  /**
   * Takes a completion out for its consumer, atomically (single use); null when unknown, used, expired or
   * another consumer's (which stays where it is for its own consumer).
   */
  async takeCompletion(code: string, consumer: string): Promise<LoginCompletion | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(code)) return null;
    const stored = await this.state.takeCompletion(sha256(code), this.clock.now(), consumer);
    if (!stored) return null;
    const { state } = stored.context as { state?: unknown };
    return {
      connectionId: stored.connectionId,
      login: stored.login as LoginCompletion['login'],
      browserBinding: stored.browserBinding,
      returnTo: stored.returnTo || undefined,
      consumer,
      state: typeof state === 'object' && state !== null ? (state as Record<string, unknown>) : {},
      expiresAt: stored.expiresAt,
    };
  }

  /**
   * Deletes what has expired: AuthnRequest IDs, replay entries and login completions as soon as they
   * expire. Each runs as one indexed DELETE. (Login sessions, console sessions and SSO traces are purged
   * by their own modules' jobs.)
   */
  purgeExpired(): Promise<Record<string, number>> {
    return this.state.deleteExpired(this.clock.now());
  }
}
