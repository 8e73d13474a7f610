import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Response } from 'express';
import type { SAML } from '@node-saml/node-saml';
import { ConnectionLookup } from '../connections/connection-lookup';
import { AuditService } from '../audit/audit.service';
import { SsoTracesService } from '../audit/sso-traces.service';
import { Clock } from '../common/clock';
import { sha256 } from '../common/sha256';
import { decodeXmlBytes, XmlSafetyError } from '../common/xml-safety';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { ConnectionEntity } from '../connections/connection.entity';
import { spDetails } from '../connections/connection.view';
import { type LoadedSpKey, SpKeysService } from '../keys/sp-keys.service';
import { MappedUser } from '../mapping/attribute-mapping';
import { isDeprovisioned, UserEntity } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { autoPostPage } from './html';
import { LoginSessionsService } from './login-sessions.service';
import { PENDING_AUTHN_KEY, pendingAuthnFor, type RequestedAuthn } from './requested-authn';
import { isSafeReturnPath, MAX_RELAY_STATE } from './return-path';
import { pickEndpoint, SamlEngineFactory } from './saml-engine';
import { decryptAssertions } from './saml-decryption';
import {
  type AssertionDecryption,
  type EngineOutcome,
  SamlEnginePool,
  SamlEnginePoolError,
} from './saml-engine-pool';
import { type AcsMessage, need, type PolicyContext } from './acs/acs-message';
import { classifyEngineError, encryptedAssertionInvalid } from './acs/checks/engine-verification';
import { type AcsPorts, runAcsPipeline } from './acs/pipeline';
import { SamlRejection } from './saml-rejection';

export { parseSamlXml } from './acs/checks/message-intake';
import { LoginCompletion, newMessageId, SamlStateService } from './saml-state.service';
import { buildSpMetadata } from './sp-metadata';

/** Largest decoded SAML message accepted (the HTTP body limit on /saml is a little above it). */
export const MAX_SAML_MESSAGE_BYTES = 256 * 1024;
export const DEFAULT_LANDING_PATH = '/saml/session';

export type OutgoingMessage = { kind: 'redirect'; url: string } | { kind: 'post'; html: string; csp: string };

/** Sends an outgoing SAML message to the browser: a 303 (Redirect binding) or an auto-post page (POST binding). */
export function sendOutgoing(res: Response, message: OutgoingMessage): void {
  res.setHeader('Cache-Control', 'no-store');
  if (message.kind === 'redirect') {
    res.redirect(303, message.url);
    return;
  }
  res.setHeader('Content-Security-Policy', message.csp);
  res.type('html').send(message.html);
}

/** A validated response: the browser continues at `continueUrl` (a same-site GET) to get its session. */
export interface AcsSuccess {
  connection: ConnectionEntity;
  continueUrl: string;
  /** The stable subject the assertion maps to (the user is provisioned at the continue step). */
  subject: string;
}

/** A finished login: the session to set, where to go, and the pending request's context (e.g. OIDC). */
export interface LoginResult {
  kind: 'session';
  user: UserEntity;
  sessionToken: string;
  sessionExpiresAt: Date;
  redirectTo: string;
  context: Record<string, unknown>;
}

/** The pending request's context of a test login (see SamlService.startTestLogin). */
export const TEST_LOGIN_CONTEXT = { purpose: 'test' } as const;

function isTestLogin(context: Record<string, unknown> | undefined): boolean {
  return context?.purpose === TEST_LOGIN_CONTEXT.purpose;
}

/**
 * A finished test login: what the IdP asserted and what the bridge mapped it to. No user is provisioned,
 * no session opened, no app signed in.
 */
export interface TestLoginResult {
  kind: 'test';
  connection: { id: string; slug: string; name: string };
  mapped: MappedUser;
  attributes: Record<string, string[]>;
  nameId: string;
  nameIdFormat?: string;
  sessionIndex?: string;
  authnContextClassRef?: string;
  /** The local user this identity is (null: a real login would create one). */
  existingUser: { id: string; disabled: boolean } | null;
  /** Where the result page links back to (a same-site path). */
  backTo: string | null;
  traceId?: string;
}

export type CompletedLogin = LoginResult | TestLoginResult;

/** The pending request's context of an admin console SSO sign-in; the ACS continues at continuePath. */
export const ADMIN_CONSOLE_LOGIN_CONTEXT = {
  purpose: 'admin-console',
  continuePath: '/admin/sso/continue',
} as const;

function isAdminConsoleLogin(context: Record<string, unknown> | undefined): boolean {
  return context?.purpose === ADMIN_CONSOLE_LOGIN_CONTEXT.purpose;
}

/** A finished admin console SSO sign-in: who the IdP says the person is (nothing provisioned). */
export interface AdminConsoleIdentity {
  connection: ConnectionEntity;
  mapped: MappedUser;
  returnTo: string;
}

/** A rejection with the trace id the browser should show. */
export class TracedSamlRejection extends SamlRejection {
  constructor(
    rejection: SamlRejection,
    public readonly traceId: string | undefined,
  ) {
    super(rejection.reason, rejection.message, rejection.detail, rejection.status, rejection.continueTo);
  }
}

/** Decodes a SAML message's bytes (UTF-8 or UTF-16); undecodable bytes are the client's fault. */
export function decodeSamlBytes(bytes: Buffer): string {
  try {
    return decodeXmlBytes(bytes);
  } catch (err) {
    if (err instanceof XmlSafetyError) {
      throw new SamlRejection('saml_malformed_xml', 'The SAML message is not valid UTF-8 or UTF-16 text.');
    }
    throw err;
  }
}

function decodeBase64Message(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new SamlRejection('saml_message_missing', `The request carries no ${what}.`);
  }
  if (value.length > (MAX_SAML_MESSAGE_BYTES * 4) / 3 + 1024) {
    throw new SamlRejection('saml_message_too_large', `The ${what} is too large.`, {}, 413);
  }
  const compact = value.replace(/[\r\n\t ]/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new SamlRejection('saml_message_not_base64', `The ${what} is not valid base64.`);
  }
  return decodeSamlBytes(Buffer.from(compact, 'base64'));
}

/** The SAML service provider: SP metadata, AuthnRequests and the assertion consumer service. */
@Injectable()
export class SamlService {
  private readonly logger = new Logger('SamlService');
  constructor(
    private readonly connections: ConnectionLookup,
    private readonly spKeys: SpKeysService,
    private readonly engines: SamlEngineFactory,
    private readonly enginePool: SamlEnginePool,
    private readonly state: SamlStateService,
    private readonly sessions: LoginSessionsService,
    private readonly users: UsersService,
    private readonly traces: SsoTracesService,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    private readonly audit: AuditService,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  /**
   * A refused login, in the audit log. Best effort (recordSafely): the refusal stands whether or not the
   * audit log can be written; a failed append is logged and counted.
   */
  private async auditLoginFailure(
    stage: 'acs' | 'continue',
    connection: { id: string | null; slug: string },
    err: SamlRejection,
    traceId: string | undefined,
    subject?: string,
  ): Promise<void> {
    const userId = typeof err.detail.userId === 'string' ? err.detail.userId : null;
    await this.audit.recordSafely({
      type: 'login.failed',
      actor: { type: 'user', id: userId, name: subject ?? 'anonymous' },
      connectionId: connection.id,
      userId,
      data: {
        stage,
        reason: err.reason,
        message: err.message,
        connection: connection.slug,
        ...(subject ? { subject } : {}),
        ...(traceId ? { traceId } : {}),
      },
    });
  }

  async connection(slug: string, requireEnabled = true): Promise<ConnectionEntity> {
    const found = /^[a-z0-9-]{1,64}$/.test(slug) ? await this.connections.bySlug(slug) : null;
    if (!found)
      throw new SamlRejection(
        'saml_connection_not_found',
        `There is no connection "${slug.slice(0, 64)}".`,
        {},
        404,
      );
    if (requireEnabled && !found.enabled) {
      throw new SamlRejection(
        'saml_connection_disabled',
        'This connection is disabled; ask your administrator.',
        {},
        403,
      );
    }
    return found;
  }

  async spMetadata(slug: string): Promise<string> {
    const connection = await this.connection(slug, false);
    const ring = await this.spKeys.ring(connection.id);
    return buildSpMetadata(connection, this.config.baseUrl, ring);
  }

  /** Starts an SP-initiated login: stores the pending request, then builds the AuthnRequest. */
  async startLogin(
    slug: string,
    returnTo: string | undefined,
    browserBinding: string | null,
    context: Record<string, unknown> = {},
    authn?: RequestedAuthn,
  ): Promise<OutgoingMessage> {
    const connection = await this.connection(slug);
    if (returnTo !== undefined && !isSafeReturnPath(returnTo)) {
      throw new SamlRejection(
        'saml_relay_state_invalid',
        'returnTo must be a path on this site, such as /app.',
      );
    }
    const endpoint = pickEndpoint(connection.idp.ssoEndpoints, connection.options.authnRequestBinding);
    if (!endpoint) {
      throw new SamlRejection(
        'saml_login_unavailable',
        'The IdP metadata has no usable single sign-on URL.',
        {},
        409,
      );
    }
    const ring = await this.spKeys.ring(connection.id);
    const id = newMessageId();
    // What the response must then show (checked by acs/checks/authn-context.ts).
    const pendingAuthn = pendingAuthnFor(authn, connection.options.forceAuthn);
    await this.state.createRequest({
      id,
      connectionId: connection.id,
      kind: 'authn',
      returnTo: returnTo ?? null,
      context: pendingAuthn ? { ...context, [PENDING_AUTHN_KEY]: pendingAuthn } : context,
      browserBinding: browserBinding ? sha256(browserBinding) : null,
    });
    const engine = this.engines.forRequest(connection, this.config.baseUrl, ring.current, {
      requestId: id,
      sign: connection.options.signAuthnRequests || connection.idp.wantAuthnRequestsSigned,
      binding: endpoint.binding,
      entryPoint: endpoint.location,
      authn,
    });
    void this.traces.record({
      connectionId: connection.id,
      kind: 'login',
      outcome: 'success',
      message: `AuthnRequest ${id} sent over ${endpoint.binding}`,
      detail: { requestId: id, binding: endpoint.binding },
    });
    if (endpoint.binding === 'HTTP-POST') {
      const message = await (
        engine as SAML & { options: { skipRequestCompression: boolean } }
      ).getAuthorizeMessageAsync(id, '', {});
      const fields = Object.fromEntries(Object.entries(message).map(([k, v]) => [k, String(v)]));
      return { kind: 'post', ...autoPostPage(endpoint.location, fields) };
    }
    return { kind: 'redirect', url: await engine.getAuthorizeUrlAsync(id, '', {}) };
  }

  /**
   * Starts a test login: a real SP-initiated login whose result is only shown (mapped claims and raw
   * attributes) at the continue step: no user is provisioned, no session opened. The browser that starts
   * it must be the one that finishes it. Callers must restrict who may start one (the console requires an
   * admin session; a customer setup page would require its setup link).
   */
  startTestLogin(slug: string, browserBinding: string, backTo?: string): Promise<OutgoingMessage> {
    return this.startLogin(slug, backTo, browserBinding, { ...TEST_LOGIN_CONTEXT });
  }

  /** The assertion consumer service: every check, then the user, the session, and where to go next. */
  async consumeResponse(
    slug: string,
    body: { SAMLResponse?: unknown; RelayState?: unknown },
    requestId?: string,
  ): Promise<AcsSuccess> {
    let connection: ConnectionEntity | undefined;
    let xml: string | undefined;
    try {
      connection = await this.connection(slug);
      xml = decodeBase64Message(body.SAMLResponse, 'SAMLResponse');
      return await this.validate(connection, xml, body.RelayState);
    } catch (err) {
      if (!(err instanceof SamlRejection)) throw err;
      const traceId = await this.traces.record({
        connectionId: connection?.id ?? null,
        kind: 'acs',
        outcome: 'failure',
        reason: err.reason,
        message: err.message,
        detail: err.detail,
        samlMessage: xml,
        requestId,
      });
      this.metrics.logins.inc({ connection: connection?.slug ?? 'unknown', result: err.reason });
      this.logger.warn(
        { connection: slug, reason: err.reason, traceId },
        `SAML response refused: ${err.message}`,
      );
      await this.auditLoginFailure(
        'acs',
        { id: connection?.id ?? null, slug: connection?.slug ?? slug.slice(0, 64) },
        err,
        traceId,
      );
      throw new TracedSamlRejection(err, traceId);
    }
  }

  private async validate(
    connection: ConnectionEntity,
    xml: string,
    relayState: unknown,
  ): Promise<AcsSuccess> {
    const sp = spDetails(this.config.baseUrl, connection);
    const ctx: PolicyContext = {
      acsUrl: sp.acsUrl,
      spEntityId: sp.entityId,
      idpEntityId: connection.idpEntityId,
      allowSha1: connection.options.allowSha1,
      clockSkewMs: connection.options.clockSkewSeconds * 1000,
      now: this.clock.now(),
    };
    // Every check, in the order src/saml/acs/pipeline.ts lists them.
    const m: AcsMessage = { connection, xml, relayState, policy: ctx };
    await runAcsPipeline(m, this.acsPorts(connection, xml));
    const pending = m.pending ?? null;
    const assertion = need(m.assertion, 'the assertion facts');
    const mapped = need(m.mapped, 'the mapped identity');
    const idpTarget =
      typeof relayState === 'string' && isSafeReturnPath(relayState, MAX_RELAY_STATE)
        ? relayState
        : undefined;
    const code = await this.state.storeCompletion({
      connectionId: connection.id,
      login: {
        mapped,
        attributes: assertion.attributes,
        assertionId: assertion.id,
        inResponseTo: pending?.id,
        session: {
          nameId: assertion.nameId,
          nameIdFormat: assertion.nameIdFormat,
          sessionIndex: assertion.sessionIndex,
          authnContextClassRef: assertion.authnContextClassRef,
          authnInstant: assertion.authnInstant?.toISOString(),
          sessionNotOnOrAfter: assertion.sessionNotOnOrAfter?.toISOString(),
        },
      },
      browserBinding: pending?.browserBinding ?? null,
      returnTo: pending
        ? (pending.returnTo ?? DEFAULT_LANDING_PATH)
        : (idpTarget ?? connection.options.idpInitiatedTarget ?? DEFAULT_LANDING_PATH),
      context: pending?.context ?? {},
    });
    // An admin console sign-in continues at the console (which opens its own session), never at /saml.
    const continueUrl = isAdminConsoleLogin(pending?.context)
      ? `${ADMIN_CONSOLE_LOGIN_CONTEXT.continuePath}?connection=${connection.slug}&code=${code}`
      : `/saml/${connection.slug}/continue?code=${code}`;
    return {
      connection,
      continueUrl,
      subject: mapped.subject,
    };
  }

  /**
   * The same-site GET after the ACS: the browser that started the login (its binding cookie) turns the
   * validated login into a session. Another browser is refused (login CSRF).
   */
  async completeLogin(
    slug: string,
    code: unknown,
    browserBinding: string | undefined,
  ): Promise<CompletedLogin> {
    let connectionId: string | null = null;
    let subject: string | undefined;
    try {
      const connection = await this.connection(slug);
      connectionId = connection.id;
      const completion = await this.takeCompletion(connection, code, browserBinding, false);
      const { mapped, attributes } = completion.login;
      subject = mapped.subject;
      if (isTestLogin(completion.context)) return await this.finishTestLogin(connection, completion);
      const user = await this.users.provision(connection.id, mapped, attributes);
      if (isDeprovisioned(user)) {
        throw new SamlRejection(
          'user_deprovisioned',
          "Your account was removed from your organisation's directory; ask your administrator.",
          {},
          403,
        );
      }
      if (user.disabled) {
        throw new SamlRejection(
          'saml_user_disabled',
          'Your account is disabled; ask your administrator.',
          {},
          403,
        );
      }
      const s = completion.login.session;
      const { token, session } = await this.sessions.create({
        userId: user.id,
        connectionId: connection.id,
        nameId: s.nameId,
        nameIdFormat: s.nameIdFormat,
        sessionIndex: s.sessionIndex,
        authnContextClassRef: s.authnContextClassRef,
        authnInstant: s.authnInstant ? new Date(s.authnInstant) : undefined,
        sessionNotOnOrAfter: s.sessionNotOnOrAfter ? new Date(s.sessionNotOnOrAfter) : undefined,
      });
      this.metrics.logins.inc({ connection: connection.slug, result: 'success' });
      const clientId = completion.context.clientId;
      // The trace and the audit event are independent writes: done together, not one after the other.
      await Promise.all([
        this.traces.record({
          connectionId: connection.id,
          kind: 'acs',
          outcome: 'success',
          message: `Signed in ${user.email ?? user.subject}`,
          detail: {
            assertionId: completion.login.assertionId,
            subject: user.subject,
            inResponseTo: completion.login.inResponseTo,
          },
          userId: user.id,
        }),
        // Best effort (see AuditService): a sign-in that succeeded is not turned into an error page.
        this.audit.recordSafely({
          type: 'login.succeeded',
          actor: { type: 'user', id: user.id, name: user.email ?? user.subject },
          connectionId: connection.id,
          userId: user.id,
          clientId: typeof clientId === 'string' ? clientId : null,
          data: {
            connection: connection.slug,
            subject: user.subject,
            email: user.email,
            assertionId: completion.login.assertionId,
            inResponseTo: completion.login.inResponseTo ?? null,
            idpInitiated: !completion.login.inResponseTo,
            authnContextClassRef: completion.login.session.authnContextClassRef ?? null,
          },
        }),
      ]);
      return {
        kind: 'session',
        user,
        sessionToken: token,
        sessionExpiresAt: session.expiresAt,
        redirectTo: completion.returnTo,
        context: completion.context,
      };
    } catch (err) {
      if (!(err instanceof SamlRejection)) throw err;
      const traceId = await this.traces.record({
        connectionId,
        kind: 'acs',
        outcome: 'failure',
        reason: err.reason,
        message: err.message,
        detail: err.detail,
      });
      await this.auditLoginFailure(
        'continue',
        { id: connectionId, slug: slug.slice(0, 64) },
        err,
        traceId,
        subject ?? (typeof err.detail.subject === 'string' ? err.detail.subject : undefined),
      );
      throw new TracedSamlRejection(err, traceId);
    }
  }

  /**
   * Finishes an admin console SSO sign-in (started with ADMIN_CONSOLE_LOGIN_CONTEXT): the same-site GET
   * after the ACS, by the browser that started it. Returns the mapped identity only: no user is
   * provisioned and no app session opened; the console decides (admin groups) and opens its own session.
   */
  async completeAdminConsoleLogin(
    slug: string,
    code: unknown,
    browserBinding: string | undefined,
  ): Promise<AdminConsoleIdentity> {
    let connectionId: string | null = null;
    try {
      const connection = await this.connection(slug);
      connectionId = connection.id;
      const completion = await this.takeCompletion(connection, code, browserBinding, true);
      const { mapped } = completion.login;
      await this.traces.record({
        connectionId: connection.id,
        kind: 'acs',
        outcome: 'success',
        message: `Admin console sign-in by ${mapped.email ?? mapped.subject} (identity checked, no app session)`,
        detail: { adminConsole: true, assertionId: completion.login.assertionId, subject: mapped.subject },
      });
      return { connection, mapped, returnTo: completion.returnTo };
    } catch (err) {
      if (!(err instanceof SamlRejection)) throw err;
      const traceId = await this.traces.record({
        connectionId,
        kind: 'acs',
        outcome: 'failure',
        reason: err.reason,
        message: err.message,
        detail: err.detail,
      });
      throw new TracedSamlRejection(err, traceId);
    }
  }

  /**
   * Takes a validated login out (single use) for the browser that started it. An admin console sign-in
   * can only be finished by the console, and an app login only by the SAML continue step.
   */
  private async takeCompletion(
    connection: ConnectionEntity,
    code: unknown,
    browserBinding: string | undefined,
    adminConsole: boolean,
  ): Promise<LoginCompletion> {
    const completion = typeof code === 'string' ? await this.state.takeCompletion(code) : null;
    if (!completion || completion.connectionId !== connection.id) {
      throw new SamlRejection(
        'saml_login_not_found',
        'This sign-in link was already used or has expired. Start the sign-in again.',
        {},
        400,
      );
    }
    if (
      completion.browserBinding &&
      (!browserBinding || sha256(browserBinding) !== completion.browserBinding)
    ) {
      throw new SamlRejection(
        'saml_browser_mismatch',
        'This sign-in was started in another browser. Start the sign-in again from this browser.',
        { subject: completion.login.mapped.subject },
        403,
      );
    }
    if (
      isAdminConsoleLogin(completion.context) !== adminConsole ||
      (adminConsole && !completion.browserBinding)
    ) {
      throw new SamlRejection(
        'saml_login_not_found',
        'This sign-in link belongs to another page. Start the sign-in again.',
        {},
        400,
      );
    }
    return completion;
  }

  private async finishTestLogin(
    connection: ConnectionEntity,
    completion: LoginCompletion,
  ): Promise<TestLoginResult> {
    const { mapped, attributes, session } = completion.login;
    // Only a browser-bound request can be a test login (the result is for the admin who started it).
    if (!completion.browserBinding) {
      throw new SamlRejection('saml_login_not_found', 'This test login has no browser binding.', {}, 400);
    }
    const existing = await this.users.findBySubject(connection.id, mapped.subject);
    const traceId = await this.traces.record({
      connectionId: connection.id,
      kind: 'acs',
      outcome: 'success',
      message: `Test login mapped ${mapped.email ?? mapped.subject} (no user provisioned, no session)`,
      detail: {
        test: true,
        assertionId: completion.login.assertionId,
        subject: mapped.subject,
        inResponseTo: completion.login.inResponseTo,
      },
    });
    return {
      kind: 'test',
      connection: { id: connection.id, slug: connection.slug, name: connection.name },
      mapped,
      attributes,
      nameId: session.nameId,
      nameIdFormat: session.nameIdFormat,
      sessionIndex: session.sessionIndex,
      authnContextClassRef: session.authnContextClassRef,
      existingUser: existing ? { id: existing.id, disabled: existing.disabled } : null,
      backTo: completion.returnTo === DEFAULT_LANDING_PATH ? null : completion.returnTo,
      traceId,
    };
  }

  /** The I/O of the ACS checks for one response of `connection`. */
  private acsPorts(connection: ConnectionEntity, xml: string): AcsPorts {
    const SAMLResponse = Buffer.from(xml, 'utf8').toString('base64');
    return {
      consumeRequest: (id) => this.state.consumeRequest(id, connection.id, 'authn'),
      decryptionKeys: async () => (await this.spKeys.ring(connection.id)).decryption,
      decrypt: (keys) => this.decrypt(keys, SAMLResponse),
      verify: (key, decryption) => this.runEngine(connection, SAMLResponse, key, decryption),
      rememberAssertion: (id, until) => this.state.rememberAssertion(connection.id, id, until),
      findUser: (subject) => this.users.findBySubject(connection.id, subject),
      disabledUserPolicy: (pending) => {
        // A test login shows a disabled user's claims too (the result page says the user is disabled);
        // a login an app started (OIDC) ends at the app with access_denied rather than on our error page.
        const interaction = pending?.context.interaction;
        return {
          showDisabled: isTestLogin(pending?.context),
          continueTo: (reason) =>
            typeof interaction === 'string'
              ? `/oidc/interaction/${interaction}/abort?reason=${reason}`
              : undefined,
        };
      },
    };
  }

  /**
   * Decrypts the response's EncryptedAssertions with the first of the SP's decryption keys (current, next)
   * that opens them. Every failure looks the same from outside (no padding / format oracle).
   */
  private async decrypt(keys: LoadedSpKey[], SAMLResponse: string): Promise<AssertionDecryption> {
    const pems = keys.map((k) => k.privateKeyPem);
    try {
      return this.enginePool.enabled
        ? await this.enginePool.decryptAssertions(pems, SAMLResponse)
        : await decryptAssertions(pems, SAMLResponse);
    } catch (err) {
      if (err instanceof SamlEnginePoolError) throw classifyEngineError(err, true);
      throw encryptedAssertionInvalid({ engine: err instanceof Error ? err.message : String(err) });
    }
  }

  /**
   * node-saml verifies signatures (pinned certificates only). An encrypted response is validated with the
   * key that decrypted it, and on the worker pool node-saml takes the plaintexts already decrypted. With
   * SAML_ENGINE_THREADS > 0 this runs on the worker pool (same node-saml options and messages).
   */
  private async runEngine(
    connection: ConnectionEntity,
    SAMLResponse: string,
    decryptionKey: LoadedSpKey | undefined,
    decryption: AssertionDecryption | undefined,
  ): Promise<EngineOutcome> {
    const key = decryptionKey ?? (await this.spKeys.ring(connection.id)).current;
    try {
      if (this.enginePool.enabled) {
        return await this.enginePool.validatePostResponse(
          this.engines.acsEngineKey(connection, key),
          this.engines.acsConfig(connection, this.config.baseUrl, key),
          SAMLResponse,
          decryption?.items,
        );
      }
      return await this.engines
        .forAcs(connection, this.config.baseUrl, key)
        .validatePostResponseAsync({ SAMLResponse });
    } catch (err) {
      throw classifyEngineError(err, decryption !== undefined);
    }
  }
}
