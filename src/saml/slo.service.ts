import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { SsoTracesService } from '../audit/sso-traces.service';
import { Clock } from '../common/clock';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ConnectionEntity } from '../connections/connection.entity';
import { spDetails } from '../connections/connection.view';
import { SpKeysService } from '../keys/sp-keys.service';
import type { LoginSessionEntity } from './login-session.entity';
import { LoginSessionsService } from './login-sessions.service';
import { isSafeReturnPath } from './return-path';
import { pickEndpoint, SamlEngineFactory } from './saml-engine';
import { need } from './acs/acs-message';
import { SamlRejection, TracedSamlRejection } from './saml-rejection';
import { SamlService } from './saml.service';
import { newMessageId, SamlStateService } from './saml-state.service';
import { runInBackground } from '../common/background';
import { runSloPipeline, type SloPorts } from './slo/pipeline';
import type { LogoutFacts, SloInput, SloMessage } from './slo/slo-message';

const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

export type SloOutcome =
  | { kind: 'redirect'; url: string; clearSession?: boolean }
  | { kind: 'page'; title: string; message: string; clearSession?: boolean };

/** Single logout, both bindings, both directions. */
@Injectable()
export class SloService {
  private readonly logger = new Logger('SloService');
  constructor(
    private readonly saml: SamlService,
    private readonly spKeys: SpKeysService,
    private readonly engines: SamlEngineFactory,
    private readonly state: SamlStateService,
    private readonly sessions: LoginSessionsService,
    private readonly traces: SsoTracesService,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  /** A logout, in the audit log: best effort, like logins (the session already ended; see AuditService). */
  private auditSpLogout(
    connection: ConnectionEntity,
    session: LoginSessionEntity,
    idpLogoutRequestId: string | null,
  ): Promise<unknown> {
    return this.audit.recordSafely({
      type: 'logout.saml_sp_initiated',
      actor: { type: 'user', id: session.userId, name: session.nameId },
      connectionId: connection.id,
      userId: session.userId,
      data: { connection: connection.slug, sessionIndex: session.sessionIndex, idpLogoutRequestId },
    });
  }

  /** SP-initiated logout: ends the bridge session, then asks the IdP to end its own (if it can). */
  async startLogout(
    slug: string,
    session: LoginSessionEntity | null,
    returnTo?: string,
    /** An absolute URL the caller already validated (an app's registered post-logout redirect URI). */
    validatedReturnUrl?: string,
  ): Promise<SloOutcome> {
    const connection = await this.saml.connection(slug, false);
    const back = validatedReturnUrl ?? (isSafeReturnPath(returnTo) ? returnTo : undefined);
    const done = (): SloOutcome =>
      back
        ? { kind: 'redirect', url: back, clearSession: true }
        : { kind: 'page', title: 'Signed out', message: 'You are signed out.', clearSession: true };
    if (!session || session.connectionId !== connection.id) return done();
    await this.sessions.end(session, 'sp_logout');
    const endpoint = pickEndpoint(connection.idp.sloEndpoints, 'HTTP-Redirect');
    const sso = pickEndpoint(connection.idp.ssoEndpoints);
    if (!endpoint || endpoint.binding !== 'HTTP-Redirect' || !sso) {
      await this.auditSpLogout(connection, session, null);
      return done();
    }
    const ring = await this.spKeys.ring(connection.id);
    const id = newMessageId();
    await this.state.createRequest({
      id,
      connectionId: connection.id,
      kind: 'logout',
      returnTo: back ?? null,
    });
    const engine = this.engines.forRequest(connection, this.config.baseUrl, ring.current, {
      requestId: id,
      sign: true,
      entryPoint: sso.location,
      logoutUrl: endpoint.location,
    });
    const url = await engine.getLogoutUrlAsync(
      {
        issuer: spDetails(this.config.baseUrl, connection).entityId,
        nameID: session.nameId,
        nameIDFormat: session.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
        sessionIndex: session.sessionIndex ?? undefined,
      },
      id,
      {},
    );
    runInBackground(
      'SSO trace',
      this.traces.record({
        connectionId: connection.id,
        kind: 'logout',
        outcome: 'success',
        message: `LogoutRequest ${id} sent`,
        userId: session.userId,
      }),
    );
    await this.auditSpLogout(connection, session, id);
    return { kind: 'redirect', url, clearSession: true };
  }

  /**
   * Receives a LogoutRequest (IdP-initiated) or LogoutResponse (answer to ours) on either binding: every
   * check, in the order src/saml/slo/pipeline.ts lists them, then the logout.
   */
  async receive(slug: string, input: SloInput): Promise<SloOutcome> {
    let connection: ConnectionEntity | undefined;
    let m: SloMessage | undefined;
    try {
      connection = await this.saml.connection(slug, false);
      m = {
        connection,
        input,
        policy: {
          sloUrl: spDetails(this.config.baseUrl, connection).sloUrl,
          idpEntityId: connection.idpEntityId,
          allowSha1: connection.options.allowSha1,
          clockSkewMs: connection.options.clockSkewSeconds * 1000,
          now: this.clock.now(),
        },
      };
      const message = await runSloPipeline(m, this.sloPorts(connection));
      return message.kind === 'LogoutRequest'
        ? await this.answerLogoutRequest(connection, message, m.relayState)
        : await this.acceptLogoutResponse(connection, message, m.pending?.returnTo ?? null);
    } catch (err) {
      if (!(err instanceof SamlRejection)) throw err;
      const traceId = await this.traces.record({
        connectionId: connection?.id ?? null,
        kind: 'slo',
        outcome: 'failure',
        reason: err.reason,
        message: err.message,
        detail: err.detail,
        samlMessage: m?.xml,
      });
      this.logger.warn(
        { connection: slug, reason: err.reason, traceId },
        `Logout message refused: ${err.message}`,
      );
      await this.audit.recordSafely({
        type: 'logout.saml_rejected',
        actor: { type: 'system', id: null, name: 'identity provider' },
        connectionId: connection?.id ?? null,
        data: {
          connection: connection?.slug ?? slug.slice(0, 64),
          binding: input.binding,
          reason: err.reason,
          message: err.message,
          ...(traceId ? { traceId } : {}),
        },
      });
      throw new TracedSamlRejection(err, traceId);
    }
  }

  /** The I/O of the SLO checks for one message of `connection`. */
  private sloPorts(connection: ConnectionEntity): SloPorts {
    return {
      verifyPostSignature: async (xml, field) => {
        const engine = this.engines.forVerification(connection, this.config.baseUrl);
        const encoded = Buffer.from(xml, 'utf8').toString('base64');
        if (field === 'SAMLRequest') {
          await engine.validatePostRequestAsync({ SAMLRequest: encoded });
          return;
        }
        const result = await engine.validatePostResponseAsync({ SAMLResponse: encoded });
        if (!result.loggedOut) throw new Error('node-saml did not read a LogoutResponse');
      },
      // Logout request IDs share the replay cache with assertion IDs, kept apart by their prefix.
      rememberLogoutRequest: (id, until) =>
        this.state.rememberAssertion(connection.id, `logout:${id}`, until),
      consumeLogoutRequest: (id) => this.state.consumeRequest(id, connection.id, 'logout'),
    };
  }

  private async answerLogoutRequest(
    connection: ConnectionEntity,
    message: LogoutFacts,
    relayState?: string,
  ): Promise<SloOutcome> {
    const nameId = need(message.nameId, 'the NameID');
    const ended = await this.sessions.endByNameId(
      connection.id,
      nameId,
      message.sessionIndexes,
      'idp_logout',
    );
    await Promise.all([
      this.traces.record({
        connectionId: connection.id,
        kind: 'slo',
        outcome: 'success',
        message: `IdP logout ended ${ended.length} session(s)`,
        detail: { requestId: message.id, sessionIndexes: message.sessionIndexes, ended: ended.length },
        userId: ended[0]?.userId,
      }),
      this.audit.recordSafely({
        type: 'logout.saml_idp_initiated',
        actor: { type: 'system', id: null, name: 'identity provider' },
        connectionId: connection.id,
        userId: ended[0]?.userId ?? null,
        data: {
          connection: connection.slug,
          logoutRequestId: message.id,
          nameId: message.nameId,
          sessionIndexes: message.sessionIndexes,
          sessionsEnded: ended.length,
          users: [...new Set(ended.map((s) => s.userId))],
        },
      }),
    ]);
    const endpoint = pickEndpoint(connection.idp.sloEndpoints, 'HTTP-Redirect');
    const sso = pickEndpoint(connection.idp.ssoEndpoints);
    if (!endpoint || endpoint.binding !== 'HTTP-Redirect' || !sso) {
      return { kind: 'page', title: 'Signed out', message: 'You are signed out.', clearSession: true };
    }
    const ring = await this.spKeys.ring(connection.id);
    const engine = this.engines.forRequest(connection, this.config.baseUrl, ring.current, {
      requestId: newMessageId(),
      sign: true,
      entryPoint: sso.location,
      logoutUrl: endpoint.responseLocation ?? endpoint.location,
    });
    // "Unknown sessions still get a proper LogoutResponse": success either way, the user is signed out here.
    const url = await engine.getLogoutResponseUrlAsync(
      { ID: message.id, issuer: message.issuer, nameID: nameId, nameIDFormat: '' },
      relayState ?? '',
      {},
      true,
    );
    return { kind: 'redirect', url, clearSession: true };
  }

  private async acceptLogoutResponse(
    connection: ConnectionEntity,
    message: LogoutFacts,
    returnTo: string | null,
  ): Promise<SloOutcome> {
    const ok = message.statusCode === STATUS_SUCCESS;
    await this.audit.recordSafely({
      type: 'logout.saml_idp_response',
      actor: { type: 'system', id: null, name: 'identity provider' },
      connectionId: connection.id,
      data: {
        connection: connection.slug,
        inResponseTo: message.inResponseTo ?? null,
        confirmed: ok,
        statusCode: message.statusCode ?? null,
      },
    });
    await this.traces.record({
      connectionId: connection.id,
      kind: 'slo',
      outcome: ok ? 'success' : 'failure',
      reason: ok ? undefined : 'saml_idp_error_status',
      message: ok ? 'The IdP confirmed the logout' : `The IdP answered the logout with ${message.statusCode}`,
    });
    if (returnTo) return { kind: 'redirect', url: returnTo, clearSession: true };
    return {
      kind: 'page',
      title: 'Signed out',
      message: ok
        ? 'You are signed out.'
        : 'You are signed out here; your identity provider could not end its own session.',
      clearSession: true,
    };
  }
}
