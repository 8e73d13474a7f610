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
import { UsersService } from '../users/users.service';
import { autoPostPage } from './html';
import { auditLoginFailure, LoginConsumers } from './login-consumers';
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
import { SamlRejection, TracedSamlRejection } from './saml-rejection';

export { TracedSamlRejection } from './saml-rejection';

export { parseSamlXml } from './acs/checks/message-intake';
import { newMessageId, SamlStateService } from './saml-state.service';
import { buildSpMetadata } from './sp-metadata';
import { runInBackground } from '../common/background';

/** Largest decoded SAML message accepted (the HTTP body limit on /saml is a little above it). */
export const MAX_SAML_MESSAGE_BYTES = 256 * 1024;

/** A pending SP-initiated login, as LoginPort.start passes it on (see login.port.ts). */
export interface PendingLogin {
  /** The id of the login consumer that takes the validated login. */
  consumer: string;
  state: Record<string, unknown>;
  browserBinding: string;
  returnTo?: string;
  /** What the consumer asks of the IdP's authentication (ForceAuthn, RequestedAuthnContext; step-up). */
  authn?: RequestedAuthn;
}

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

/** A validated response: the browser continues at `continueUrl` (a same-site GET of the login's consumer). */
export interface AcsSuccess {
  connection: ConnectionEntity;
  continueUrl: string;
  /** The stable subject the assertion maps to (the user is provisioned at the continue step). */
  subject: string;
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
    throw new SamlRejection('saml_message_too_large', `The ${what} is too large.`);
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
    private readonly consumers: LoginConsumers,
    private readonly users: UsersService,
    private readonly traces: SsoTracesService,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    private readonly audit: AuditService,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  async connection(slug: string, requireEnabled = true): Promise<ConnectionEntity> {
    const found = /^[a-z0-9-]{1,64}$/.test(slug) ? await this.connections.bySlug(slug) : null;
    if (!found)
      throw new SamlRejection('saml_connection_not_found', `There is no connection "${slug.slice(0, 64)}".`);
    if (requireEnabled && !found.enabled) {
      throw new SamlRejection(
        'saml_connection_disabled',
        'This connection is disabled; ask your administrator.',
      );
    }
    return found;
  }

  async spMetadata(slug: string): Promise<string> {
    const connection = await this.connection(slug, false);
    const ring = await this.spKeys.ring(connection.id);
    return buildSpMetadata(connection, this.config.baseUrl, ring);
  }

  /**
   * Starts an SP-initiated login for a login consumer (through LoginPort.start): stores the pending request
   * (the consumer's id and state, the browser binding), then builds the AuthnRequest.
   */
  async startLogin(slug: string, login: PendingLogin): Promise<OutgoingMessage> {
    const { returnTo } = login;
    const connection = await this.connection(slug);
    if (returnTo !== undefined && !isSafeReturnPath(returnTo)) {
      throw new SamlRejection(
        'saml_relay_state_invalid',
        'returnTo must be a path on this site, such as /app.',
      );
    }
    const endpoint = pickEndpoint(connection.idp.ssoEndpoints, connection.options.authnRequestBinding);
    if (!endpoint) {
      throw new SamlRejection('saml_login_unavailable', 'The IdP metadata has no usable single sign-on URL.');
    }
    const ring = await this.spKeys.ring(connection.id);
    const id = newMessageId();
    // What the response must then show (checked by acs/checks/authn-context.ts).
    const pendingAuthn = pendingAuthnFor(login.authn, connection.options.forceAuthn);
    await this.state.createRequest({
      id,
      connectionId: connection.id,
      kind: 'authn',
      returnTo: returnTo ?? null,
      context: {
        consumer: login.consumer,
        state: login.state,
        ...(pendingAuthn ? { [PENDING_AUTHN_KEY]: pendingAuthn } : {}),
      },
      browserBinding: sha256(login.browserBinding),
    });
    const engine = this.engines.forRequest(connection, this.config.baseUrl, ring.current, {
      requestId: id,
      sign: connection.options.signAuthnRequests || connection.idp.wantAuthnRequestsSigned,
      binding: endpoint.binding,
      entryPoint: endpoint.location,
      authn: login.authn,
    });
    runInBackground(
      'SSO trace',
      this.traces.record({
        connectionId: connection.id,
        kind: 'login',
        outcome: 'success',
        message: `AuthnRequest ${id} sent over ${endpoint.binding}`,
        detail: { requestId: id, binding: endpoint.binding },
      }),
    );
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
   * The assertion consumer service: every check, then the validated login is stored for its consumer, and
   * the browser continues at the consumer's continue step.
   */
  async consumeResponse(
    slug: string,
    body: { SAMLResponse?: unknown; RelayState?: unknown },
    requestId?: string,
  ): Promise<AcsSuccess> {
    let connection: ConnectionEntity | undefined;
    let xml: string | undefined;
    let m: AcsMessage | undefined;
    try {
      connection = await this.connection(slug);
      xml = decodeBase64Message(body.SAMLResponse, 'SAMLResponse');
      m = this.acsMessage(connection, xml, body.RelayState);
      return await this.validate(m);
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
      await auditLoginFailure(
        this.audit,
        'acs',
        { id: connection?.id ?? null, slug: connection?.slug ?? slug.slice(0, 64) },
        err,
        traceId,
      );
      // Once the pending request is known, the refusal names the login it ends: its consumer decides
      // where the browser goes (the SAML page filter asks it), not the SAML core.
      const login = m?.pending !== undefined ? { context: m.pending?.context } : undefined;
      throw new TracedSamlRejection(err, traceId, login);
    }
  }

  /** The message the ACS checks run over. */
  private acsMessage(connection: ConnectionEntity, xml: string, relayState: unknown): AcsMessage {
    const sp = spDetails(this.config.baseUrl, connection);
    const ctx: PolicyContext = {
      acsUrl: sp.acsUrl,
      spEntityId: sp.entityId,
      idpEntityId: connection.idpEntityId,
      allowSha1: connection.options.allowSha1,
      clockSkewMs: connection.options.clockSkewSeconds * 1000,
      now: this.clock.now(),
    };
    return { connection, xml, relayState, policy: ctx };
  }

  private async validate(m: AcsMessage): Promise<AcsSuccess> {
    const { connection } = m;
    // Every check, in the order src/saml/acs/pipeline.ts lists them; the last stores the login.
    await runAcsPipeline(m, this.acsPorts(connection, m.xml));
    const { consumer, state } = this.consumers.forRequest(m.pending?.context);
    return {
      connection,
      continueUrl: consumer.continueUrl(need(m.completionCode, 'the completion code'), {
        connectionSlug: connection.slug,
        state,
      }),
      subject: need(m.mapped, 'the mapped identity').subject,
    };
  }

  /**
   * The login a validated message stores for its consumer's continue step (with the pending request it
   * answers, the assertion's replay entry: SamlStateService.acceptLogin).
   */
  private acceptLogin(m: AcsMessage, until: Date) {
    const { connection, relayState } = m;
    const pending = need(m.pending, 'the pending request');
    const assertion = need(m.assertion, 'the assertion facts');
    const idpTarget =
      typeof relayState === 'string' && isSafeReturnPath(relayState, MAX_RELAY_STATE)
        ? relayState
        : undefined;
    const { consumer, state } = this.consumers.forRequest(pending?.context);
    return this.state.acceptLogin(
      pending?.id ?? null,
      { id: assertion.id, until },
      {
        connectionId: connection.id,
        login: {
          mapped: need(m.mapped, 'the mapped identity'),
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
          ? (pending.returnTo ?? undefined)
          : (idpTarget ?? connection.options.idpInitiatedTarget ?? undefined),
        consumer: consumer.id,
        state,
      },
    );
  }

  /** The I/O of the ACS checks for one response of `connection`. */
  private acsPorts(connection: ConnectionEntity, xml: string): AcsPorts {
    const SAMLResponse = Buffer.from(xml, 'utf8').toString('base64');
    return {
      findRequest: (id) => this.state.findRequest(id, connection.id, 'authn'),
      decryptionKeys: async () => (await this.spKeys.ring(connection.id)).decryption,
      decrypt: (keys) => this.decrypt(keys, SAMLResponse),
      verify: (key, decryption) => this.runEngine(connection, SAMLResponse, key, decryption),
      acceptLogin: (m, until) => this.acceptLogin(m, until),
      findUser: (subject) => this.users.findBySubject(connection.id, subject),
      disabledUserPolicy: (pending) => {
        // The login's consumer says whether a disabled user's login is shown anyway (it only shows who
        // signed in); where a refusal continues it says to the SAML page filter (refusedUrl).
        const { consumer } = this.consumers.forRequest(pending?.context);
        return { showDisabled: consumer.admitsRefusedUsers === true };
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
