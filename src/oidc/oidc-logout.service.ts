import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { AuditService } from '../audit/audit.service';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ConnectionLookup } from '../connections/connection-lookup';
import { PeriodicJobs } from '../database/periodic-jobs';
import { MetricsService } from '../metrics/metrics.service';
import { ConnectionsService } from '../connections/connections.service';
import { OutboundError, outboundFailureCause, type OutboundCause } from '../platform/http/outbound';
import { UsersService } from '../users/users.service';
import type { LoginSessionEntity } from '../saml/login-session.entity';
import { LoginSessionsService } from '../saml/login-sessions.service';
import { sessionCookieName } from '../saml/session-cookie';
import { SloService } from '../saml/slo.service';
import { JwtAccessTokens } from './jwt-access-tokens';
import { LogoutDeliveriesRepository, SENDING, type Delivery } from './logout-deliveries.repository';
import { OidcSessionsRepository } from './oidc-sessions.repository';
import { OidcProviderHost } from './oidc-provider.host';
import { runInBackground } from '../common/background';
import { UUID } from '../common/uuid';

/** Retry delays after a failed back-channel delivery; after the last one the delivery is recorded as failed. */
export const BACKCHANNEL_RETRY_DELAYS_S = [30, 120, 600, 3600];

/** Causes that no retry can cure (the policy or the URI must change first): failed at once. */
const FINAL_CAUSES: ReadonlySet<OutboundCause> = new Set(['blocked_by_policy', 'invalid_url']);

/** Why sessions end, for the log and the audit trail. */
export type SessionEndReason =
  | 'idp_logout'
  | 'user_disabled'
  | 'user_deprovisioned'
  | 'connection_disabled'
  | 'connection_deleted'
  | 'grant_revoked';

/** An app's latest back-channel logout delivery, as the admin API and the console show it. */
export interface BackchannelDeliveryState {
  /** When the bridge last tried to deliver (null: queued, not tried yet). */
  lastAttemptAt: Date | null;
  /** delivered; retrying (failed, another attempt is scheduled); failed (no attempt left); queued; sending. */
  result: 'delivered' | 'retrying' | 'failed' | 'queued' | 'sending';
  /** Why the last attempt failed: dns, refused, timeout, tls, status_N, blocked_by_policy, … */
  cause: string | null;
  error: string | null;
  attempts: number;
  /** Deliveries of this app still waiting for a (re)try. */
  pending: number;
}

/** Stored as last_error: "<cause>: <message>", so the cause survives without another column. */
function storedError(cause: OutboundCause, message: string): string {
  return `${cause}: ${message}`.slice(0, 500);
}

/**
 * Logout fan-out: when the IdP ends a user's SAML session, a user or connection is disabled (or the
 * connection deleted), or a grant is revoked, the OpenID Provider sessions concerned end, the grants (and so
 * the refresh tokens) of their apps are revoked, and each app with a back-channel logout URI gets a signed
 * logout token — sent at once through the outbound policy, retried with backoff, recorded with the cause of
 * each failure, never blocking the logout. oidc-provider's own deliveries (RP-initiated logout) are recorded
 * and retried the same way.
 */
@Injectable()
export class OidcLogoutService implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('OidcLogout');

  constructor(
    private readonly deliveries: LogoutDeliveriesRepository,
    private readonly providerSessions: OidcSessionsRepository,
    private readonly connectionLookup: ConnectionLookup,
    private readonly host: OidcProviderHost,
    private readonly sessions: LoginSessionsService,
    private readonly jobs: PeriodicJobs,
    private readonly slo: SloService,
    private readonly metrics: MetricsService,
    private readonly audit: AuditService,
    private readonly users: UsersService,
    private readonly connections: ConnectionsService,
    private readonly jwtTokens: JwtAccessTokens,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  onModuleInit(): void {
    this.host.use((provider) => {
      provider.use((ctx, next) => this.afterRpLogout(ctx as KoaContextWithOIDC, next));
      // oidc-provider's own back-channel POSTs (RP-initiated logout): recorded, counted, retried like ours.
      provider.on(
        'backchannel.success',
        (_ctx: unknown, client: { clientId: string }, sub: string, sid?: string) =>
          runInBackground(
            'Back-channel delivery record',
            this.recordProviderDelivery(client.clientId, sub, sid, undefined),
          ),
      );
      provider.on(
        'backchannel.error',
        (_ctx: unknown, err: unknown, client: { clientId: string }, sub: string, sid?: string) =>
          runInBackground(
            'Back-channel delivery record',
            this.recordProviderDelivery(client.clientId, sub, sid, err),
          ),
      );
      // A revoked grant (refresh-token reuse, revocation) ends the app's part of the session.
      provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
        if (ctx.oidc?.route === 'end_session_confirm') return; // oidc-provider notifies those apps itself
        void this.endGrantSessions(grantId).catch((err: Error) =>
          this.logger.warn(`Ending the sessions of a revoked grant failed: ${err.message}`),
        );
      });
    });
    this.sessions.onSessionsEnded(async (ended, reason) => {
      if (reason === 'idp_logout') await this.endUserSessions(ended);
    });
    this.users.onDisabled((userIds) => this.endSafely(userIds, 'user_disabled'));
    this.connections.onDisabled(async (connectionId, deletedUserIds) => {
      const userIds = deletedUserIds ?? (await this.users.idsByConnection(connectionId));
      await this.endSafely(userIds, deletedUserIds ? 'connection_deleted' : 'connection_disabled');
    });
  }

  /** Ends the accounts' sessions; the admin change that caused it has been saved and stands either way. */
  private async endSafely(accountIds: string[], reason: SessionEndReason): Promise<void> {
    try {
      const queued = await this.endAccountSessions(accountIds, reason);
      if (queued > 0) this.logger.log(`${reason}: ${queued} back-channel logout token(s) queued`);
    } catch (err) {
      this.logger.warn(`Ending sessions (${reason}) failed: ${(err as Error).message}`);
    }
  }

  onApplicationBootstrap(): void {
    this.jobs.schedule({ name: 'backchannel-retry', periodMs: 15_000, run: () => this.deliverDue() }, 5_000);
  }

  /**
   * RP-initiated logout: once oidc-provider has ended its session (end_session_confirm), the bridge's own
   * SAML session ends too and, when the connection has an SLO endpoint, the browser goes to the IdP with a
   * signed LogoutRequest; the IdP's LogoutResponse then returns it to the app's post-logout URI.
   */
  private async afterRpLogout(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    await next();
    if (ctx.oidc?.route !== 'end_session_confirm' || ctx.status < 300 || ctx.status >= 400) return;
    const cookieName = sessionCookieName(this.config);
    const session = await this.sessions.findActive(
      ctx.cookies.get(cookieName, { signed: false }) ?? undefined,
    );
    const clientId = (ctx.oidc as { client?: { clientId?: string } }).client?.clientId ?? null;
    // Best effort, like logins (see AuditService): the session has already ended.
    await this.audit.recordSafely({
      type: 'logout.oidc_end_session',
      actor: session
        ? { type: 'user', id: session.userId, name: session.nameId }
        : { type: 'system', id: null, name: 'anonymous' },
      connectionId: session?.connectionId ?? null,
      userId: session?.userId ?? null,
      clientId,
      data: { samlSessionEnded: Boolean(session) },
    });
    if (!session) return;
    const connection = await this.connectionLookup.byId(session.connectionId);
    if (!connection) return;
    const target = ctx.response.get('location');
    const outcome = await this.slo.startLogout(connection.slug, session, undefined, target || undefined);
    ctx.cookies.set(cookieName, null, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      signed: false,
      ...(this.config.cookieDomain ? { domain: this.config.cookieDomain } : {}),
    });
    if (outcome.kind === 'redirect') ctx.redirect(outcome.url);
  }

  /** Ends the OpenID Provider sessions of the users whose SAML sessions ended; queues logout tokens. */
  endUserSessions(ended: LoginSessionEntity[]): Promise<number> {
    return this.endAccountSessions(
      ended.map((s) => s.userId),
      'idp_logout',
    );
  }

  /**
   * Signs users out of every app at once (the directory deprovisioned them): their OpenID Provider
   * sessions end with back-channel logout to each app that had one, and every grant, refresh token, code
   * and opaque access token issued to them is revoked, offline grants included. Returns the logout tokens
   * queued.
   */
  async signOutEverywhere(userIds: string[]): Promise<number> {
    if (userIds.length === 0) return 0;
    const queued = await this.endAccountSessions(userIds, 'user_deprovisioned');
    await this.providerSessions.deleteAllOfAccounts(userIds);
    return queued;
  }

  /**
   * Ends every OpenID Provider session of these accounts, revokes their apps' grants (refresh tokens) and
   * queues a logout token for each app with a back-channel logout URI. Returns the tokens queued.
   */
  async endAccountSessions(ids: string[], reason: SessionEndReason): Promise<number> {
    const accountIds = [...new Set(ids)];
    if (accountIds.length === 0) return 0;
    // The user (or their connection) is gone: every JWT access token of theirs is revoked, offline grants'
    // included. An IdP logout ends the sessions' grants only (the trigger revokes their tokens).
    if (reason !== 'idp_logout') {
      const revoked = await this.jwtTokens.revokeAccounts(accountIds);
      if (revoked > 0) this.logger.log(`${reason}: ${revoked} JWT access token(s) revoked`);
    }
    const rows = await this.providerSessions.ofAccounts(accountIds);
    const provider = await this.host.current();
    let queued = 0;
    for (const row of rows) {
      const sub = row.payload.accountId as string;
      for (const [clientId, auth] of Object.entries(row.payload.authorizations ?? {})) {
        if (auth.grantId) await this.providerSessions.deleteGrant(auth.grantId);
        const client = await provider.Client.find(clientId);
        if (client?.backchannelLogoutUri) {
          await this.deliveries.queue(clientId, sub, auth.sid ?? null);
          queued++;
        }
      }
      await this.providerSessions.deleteSession(row.id);
    }
    if (rows.length > 0) this.logger.log(`${reason}: ended ${rows.length} OpenID Provider session(s)`);
    this.deliverSoon(queued);
    return queued;
  }

  /**
   * A grant was revoked: the app it belongs to is no longer part of the sessions that held it. The app's
   * authorization leaves those sessions and the app gets a logout token (when it has a back-channel URI).
   */
  async endGrantSessions(grantId: string): Promise<number> {
    const rows = await this.providerSessions.withGrant(grantId);
    const provider = await this.host.current();
    let queued = 0;
    for (const row of rows) {
      for (const [clientId, auth] of Object.entries(row.payload.authorizations ?? {})) {
        if (auth.grantId !== grantId) continue;
        await this.providerSessions.removeAuthorization(row.id, clientId);
        const client = await provider.Client.find(clientId);
        if (client?.backchannelLogoutUri && row.payload.accountId) {
          await this.deliveries.queue(clientId, row.payload.accountId, auth.sid ?? null);
          queued++;
        }
      }
    }
    this.deliverSoon(queued);
    return queued;
  }

  private deliverSoon(queued: number): void {
    if (queued > 0) {
      // Deliver now, without making the IdP's logout wait for the apps.
      void this.deliverDue().catch((err: Error) =>
        this.logger.warn(`Back-channel delivery failed: ${err.message}`),
      );
    }
  }

  /**
   * Records a delivery oidc-provider made itself (end_session): a success as delivered, a failure as a
   * pending delivery that the retry job takes over, with its cause.
   */
  private async recordProviderDelivery(
    clientId: string,
    sub: string,
    sid: string | undefined,
    err: unknown,
  ): Promise<void> {
    try {
      const d: Delivery = { id: '', client_id: clientId, sub, sid: sid ?? null, attempts: 1 };
      if (err === undefined) {
        await this.deliveries.insertDelivered(clientId, sub, sid ?? null);
        this.metrics.backchannelDeliveries.inc({ result: 'delivered' });
        await this.auditDelivery('logout.backchannel_delivered', d);
        return;
      }
      const cause = outboundFailureCause(err);
      const message = (err as Error).message ?? String(err);
      const final = FINAL_CAUSES.has(cause);
      const delay = final ? 0 : (BACKCHANNEL_RETRY_DELAYS_S[0] ?? 0);
      await this.deliveries.insertFailedAttempt(
        clientId,
        sub,
        sid ?? null,
        final ? 'failed' : 'pending',
        storedError(cause, message),
        delay,
      );
      this.countFailure(cause);
      this.logger.warn(
        { client: clientId, cause, attempt: 1 },
        `Back-channel logout to ${clientId} failed (attempt 1, ${cause}): ${message}`,
      );
      if (final) await this.auditDelivery('logout.backchannel_failed', d, storedError(cause, message));
    } catch (e) {
      this.logger.warn(`Recording a back-channel delivery failed: ${(e as Error).message}`);
    }
  }

  private countFailure(cause: OutboundCause): void {
    this.metrics.backchannelDeliveries.inc({ result: 'failed' });
    this.metrics.backchannelFailures.inc({ cause });
  }

  /** The latest delivery of each app (by client_id), for the admin API and the console. */
  async deliveryStates(clientIds?: string[]): Promise<Map<string, BackchannelDeliveryState>> {
    const rows = await this.deliveries.latestPerClient(clientIds ?? null, BACKCHANNEL_RETRY_DELAYS_S);
    const out = new Map<string, BackchannelDeliveryState>();
    for (const r of rows) {
      const sending = r.status === 'pending' && (r.last_error ?? '').startsWith(SENDING);
      const lastError = sending ? (r.last_error as string).slice(SENDING.length) || null : r.last_error;
      const match = lastError ? /^([a-z_0-9]+): ([\s\S]*)$/.exec(lastError) : null;
      out.set(r.client_id, {
        lastAttemptAt: r.last_attempt_at ? new Date(r.last_attempt_at) : null,
        result:
          r.status === 'delivered'
            ? 'delivered'
            : r.status === 'failed'
              ? 'failed'
              : sending
                ? 'sending'
                : r.attempts === 0
                  ? 'queued'
                  : 'retrying',
        cause: r.status === 'delivered' ? null : (match?.[1] ?? (lastError ? 'network' : null)),
        error: r.status === 'delivered' ? null : (match?.[2] ?? lastError),
        attempts: r.attempts,
        pending: Number(r.pending),
      });
    }
    return out;
  }

  private auditDelivery(type: string, d: Delivery, error?: string): Promise<unknown> {
    return this.audit.recordSafely({
      type,
      actor: { type: 'system', id: null, name: 'back-channel logout' },
      userId: UUID.test(d.sub) ? d.sub : null,
      clientId: d.client_id,
      data: { sub: d.sub, sid: d.sid, attempts: d.attempts, ...(error ? { error } : {}) },
    });
  }

  /** Sends every due logout token (claimed with SKIP LOCKED, so instances never send one twice). */
  async deliverDue(limit = 50): Promise<{ delivered: number; failed: number }> {
    const claimed = await this.deliveries.claimDue(limit);
    const provider = await this.host.current();
    let delivered = 0;
    let failed = 0;
    for (const d of claimed) {
      try {
        const client = await provider.Client.find(d.client_id);
        if (!client?.backchannelLogoutUri)
          throw new OutboundError('invalid_url', 'the app has no back-channel logout URI any more');
        await (
          client as unknown as { backchannelLogout(sub: string, sid?: string): Promise<void> }
        ).backchannelLogout(d.sub, d.sid ?? undefined);
        await this.deliveries.markDelivered(d.id);
        delivered++;
        this.metrics.backchannelDeliveries.inc({ result: 'delivered' });
        await this.auditDelivery('logout.backchannel_delivered', d);
      } catch (err) {
        failed++;
        const cause = outboundFailureCause(err);
        const message = (err as Error).message ?? String(err);
        this.countFailure(cause);
        const delay = FINAL_CAUSES.has(cause) ? undefined : BACKCHANNEL_RETRY_DELAYS_S[d.attempts - 1];
        await this.deliveries.markAttemptFailed(
          d.id,
          storedError(cause, message),
          delay === undefined ? 'failed' : 'pending',
          delay ?? 0,
        );
        this.logger.warn(
          { client: d.client_id, cause, attempt: d.attempts },
          `Back-channel logout to ${d.client_id} failed (attempt ${d.attempts}, ${cause}): ${message}`,
        );
        // Retries are not audited; the final failure (no retry left) is.
        if (delay === undefined)
          await this.auditDelivery('logout.backchannel_failed', d, storedError(cause, message));
      }
    }
    return { delivered, failed };
  }
}
