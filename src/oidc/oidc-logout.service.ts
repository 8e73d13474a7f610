import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ConnectionEntity } from '../connections/connection.entity';
import { PeriodicJobs } from '../database/periodic-jobs';
import { MetricsService } from '../metrics/metrics.service';
import { returnedRows } from '../database/returned-rows';
import type { LoginSessionEntity } from '../saml/login-session.entity';
import { LoginSessionsService } from '../saml/login-sessions.service';
import { sessionCookieName } from '../saml/session-cookie';
import { SloService } from '../saml/slo.service';
import { OidcProviderHost } from './oidc-provider.host';

/** Retry delays after a failed back-channel delivery; after the last one the delivery is recorded as failed. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const BACKCHANNEL_RETRY_DELAYS_S = [30, 120, 600, 3600];

interface Delivery {
  id: string;
  client_id: string;
  sub: string;
  sid: string | null;
  attempts: number;
}

/**
 * Logout fan-out: when the IdP ends a user's SAML session, every OpenID Provider session of that user ends,
 * the grants (and so the refresh tokens) of its apps are revoked, and each app with a back-channel logout
 * URI gets a signed logout token — sent at once, retried with backoff, recorded, never blocking the logout.
 */
@Injectable()
export class OidcLogoutService implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('OidcLogout');

  constructor(
    private readonly dataSource: DataSource,
    private readonly host: OidcProviderHost,
    private readonly sessions: LoginSessionsService,
    private readonly jobs: PeriodicJobs,
    private readonly slo: SloService,
    private readonly metrics: MetricsService,
    private readonly audit: AuditService,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  onModuleInit(): void {
    this.host.use((provider) =>
      provider.use((ctx, next) => this.afterRpLogout(ctx as KoaContextWithOIDC, next)),
    );
    this.sessions.onSessionsEnded(async (ended, reason) => {
      if (reason === 'idp_logout') await this.endUserSessions(ended);
    });
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
    const connection = await this.dataSource
      .getRepository(ConnectionEntity)
      .findOne({ where: { id: session.connectionId } });
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
  async endUserSessions(ended: LoginSessionEntity[]): Promise<number> {
    return this.endAccountSessions([...new Set(ended.map((s) => s.userId))]);
  }

  /**
   * Signs users out of every app at once (the directory deprovisioned them): their OpenID Provider
   * sessions end with back-channel logout to each app that had one, and every grant, refresh token, code
   * and opaque access token issued to them is revoked, offline grants included. Returns the logout tokens
   * queued.
   */
  async signOutEverywhere(userIds: string[]): Promise<number> {
    if (userIds.length === 0) return 0;
    const queued = await this.endAccountSessions(userIds);
    await this.dataSource.query(
      `DELETE FROM oidc_models WHERE grant_id IN (
         SELECT id FROM oidc_models WHERE model = 'Grant' AND payload->>'accountId' = ANY($1::text[]))
         OR (model IN ('Grant', 'Session', 'AuthorizationCode', 'RefreshToken', 'AccessToken')
             AND payload->>'accountId' = ANY($1::text[]))`,
      [userIds],
    );
    return queued;
  }

  private async endAccountSessions(accountIds: string[]): Promise<number> {
    if (accountIds.length === 0) return 0;
    const rows: Array<{
      id: string;
      payload: { accountId?: string; authorizations?: Record<string, { sid?: string; grantId?: string }> };
    }> = await this.dataSource.query(
      `SELECT id, payload FROM oidc_models WHERE model = 'Session' AND payload->>'accountId' = ANY($1::text[])`,
      [accountIds],
    );
    const provider = await this.host.current();
    let queued = 0;
    for (const row of rows) {
      const sub = row.payload.accountId as string;
      for (const [clientId, auth] of Object.entries(row.payload.authorizations ?? {})) {
        if (auth.grantId)
          await this.dataSource.query(`DELETE FROM oidc_models WHERE grant_id = $1`, [auth.grantId]);
        const client = await provider.Client.find(clientId);
        if (client?.backchannelLogoutUri) {
          await this.dataSource.query(
            `INSERT INTO backchannel_deliveries (client_id, sub, sid) VALUES ($1, $2, $3)`,
            [clientId, sub, auth.sid ?? null],
          );
          queued++;
        }
      }
      await this.dataSource.query(`DELETE FROM oidc_models WHERE model = 'Session' AND id = $1`, [row.id]);
    }
    if (queued > 0) {
      // Deliver now, without making the IdP's logout wait for the apps.
      void this.deliverDue().catch((err: Error) =>
        this.logger.warn(`Back-channel delivery failed: ${err.message}`),
      );
    }
    return queued;
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
    const claimed: unknown = await this.dataSource.query(
      `UPDATE backchannel_deliveries SET next_attempt_at = now() + interval '5 minutes', attempts = attempts + 1
        WHERE id IN (SELECT id FROM backchannel_deliveries WHERE status = 'pending' AND next_attempt_at <= now()
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING id, client_id, sub, sid, attempts`,
      [limit],
    );
    const provider = await this.host.current();
    let delivered = 0;
    let failed = 0;
    for (const d of returnedRows<Delivery>(claimed)) {
      try {
        const client = await provider.Client.find(d.client_id);
        if (!client?.backchannelLogoutUri) throw new Error('the app has no back-channel logout URI any more');
        await (
          client as unknown as { backchannelLogout(sub: string, sid?: string): Promise<void> }
        ).backchannelLogout(d.sub, d.sid ?? undefined);
        await this.dataSource.query(
          `UPDATE backchannel_deliveries SET status = 'delivered', delivered_at = now(), last_error = NULL WHERE id = $1`,
          [d.id],
        );
        delivered++;
        this.metrics.backchannelDeliveries.inc({ result: 'delivered' });
        await this.auditDelivery('logout.backchannel_delivered', d);
      } catch (err) {
        failed++;
        this.metrics.backchannelDeliveries.inc({ result: 'failed' });
        const delay = BACKCHANNEL_RETRY_DELAYS_S[d.attempts - 1];
        await this.dataSource.query(
          `UPDATE backchannel_deliveries SET last_error = $2, status = $3, next_attempt_at = now() + make_interval(secs => $4)
            WHERE id = $1`,
          [
            d.id,
            (err as Error).message.slice(0, 500),
            delay === undefined ? 'failed' : 'pending',
            delay ?? 0,
          ],
        );
        this.logger.warn(
          `Back-channel logout to ${d.client_id} failed (attempt ${d.attempts}): ${(err as Error).message}`,
        );
        // Retries are not audited; the final failure (no retry left) is.
        if (delay === undefined)
          await this.auditDelivery('logout.backchannel_failed', d, (err as Error).message.slice(0, 500));
      }
    }
    return { delivered, failed };
  }
}
