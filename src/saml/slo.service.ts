import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Document, Element } from '@xmldom/xmldom';
import { createVerify } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
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
import { childElements, nonEmptyAttribute, textOf } from '../common/xml-dom';
import { checkSignatureShapes } from './acs/checks/signature-shape';
import { timeAttribute } from './acs/checks/timestamps';
import { NS } from './saml-namespaces';
import { SamlRejection } from './saml-rejection';
import { decodeSamlBytes, MAX_SAML_MESSAGE_BYTES, parseSamlXml, SamlService } from './saml.service';
import { newMessageId, SamlStateService } from './saml-state.service';
import { runInBackground } from '../common/background';

const SIG_ALGS = new Map([
  ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'sha256'],
  ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', 'sha512'],
]);
const SHA1_SIG_ALG = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

export type SloOutcome =
  | { kind: 'redirect'; url: string; clearSession?: boolean }
  | { kind: 'page'; title: string; message: string; clearSession?: boolean };

/** The raw query parameters of a Redirect-binding message, exactly as received (for signature checks). */
export function rawQueryParams(rawQuery: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (params.has(key))
      throw new SamlRejection('saml_logout_invalid', `The parameter ${key} appears twice.`);
    params.set(key, eq < 0 ? '' : part.slice(eq + 1));
  }
  return params;
}

/** decodeURIComponent that answers malformed escapes with a rejection instead of a URIError. */
function safeDecode(value: string, plusIsSpace = false): string {
  try {
    return decodeURIComponent(plusIsSpace ? value.replace(/\+/g, ' ') : value);
  } catch {
    throw new SamlRejection('saml_logout_invalid', 'A query parameter is not correctly URL-encoded.');
  }
}

/** Inflates a Redirect-binding message with a hard cap on the output (DEFLATE bombs). */
export function inflateBounded(base64: string): string {
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(Buffer.from(decodeURIComponent(base64), 'base64'), {
      maxOutputLength: MAX_SAML_MESSAGE_BYTES,
    });
  } catch (err) {
    if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new SamlRejection(
        'saml_message_too_large',
        'The SAML message inflates to more than is accepted.',
        {},
        413,
      );
    }
    throw new SamlRejection('saml_malformed_xml', 'The SAML message is not valid URL-encoded DEFLATE data.');
  }
  return decodeSamlBytes(inflated);
}

interface LogoutMessage {
  kind: 'LogoutRequest' | 'LogoutResponse';
  id: string;
  issuer: string;
  destination?: string;
  inResponseTo?: string;
  statusCode?: string;
  nameId?: string;
  sessionIndexes: string[];
  notOnOrAfter?: Date;
  issueInstant?: Date;
}

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

  /** Receives a LogoutRequest (IdP-initiated) or LogoutResponse (answer to ours) on either binding. */
  async receive(
    slug: string,
    input:
      | { binding: 'HTTP-Redirect'; rawQuery: string }
      | { binding: 'HTTP-POST'; body: Record<string, unknown> },
  ): Promise<SloOutcome> {
    let connection: ConnectionEntity | undefined;
    let xml: string | undefined;
    try {
      connection = await this.saml.connection(slug, false);
      const sloUrl = spDetails(this.config.baseUrl, connection).sloUrl;
      let relayState: string | undefined;
      let message: LogoutMessage;
      if (input.binding === 'HTTP-Redirect') {
        const params = rawQueryParams(input.rawQuery);
        const encoded = params.get('SAMLRequest') ?? params.get('SAMLResponse');
        if (!encoded)
          throw new SamlRejection(
            'saml_message_missing',
            'The request carries no SAMLRequest or SAMLResponse.',
          );
        if (encoded.length > MAX_SAML_MESSAGE_BYTES)
          throw new SamlRejection('saml_message_too_large', 'The SAML message is too large.', {}, 413);
        xml = inflateBounded(encoded);
        relayState = params.has('RelayState')
          ? safeDecode(params.get('RelayState') as string, true)
          : undefined;
        message = this.read(parseSamlXml(xml), connection, sloUrl);
        this.verifyRedirectSignature(connection, input.rawQuery, params);
      } else {
        const field = typeof input.body.SAMLRequest === 'string' ? 'SAMLRequest' : 'SAMLResponse';
        const encoded = input.body[field];
        if (typeof encoded !== 'string' || !encoded)
          throw new SamlRejection('saml_message_missing', 'The request carries no SAML message.');
        xml = decodeSamlBytes(Buffer.from(encoded, 'base64'));
        relayState = typeof input.body.RelayState === 'string' ? input.body.RelayState : undefined;
        const doc = parseSamlXml(xml);
        if (!childElements(doc.documentElement as Element, NS.ds, 'Signature').length) {
          throw new SamlRejection('saml_signature_missing', 'Logout messages must be signed.');
        }
        checkSignatureShapes(doc, [doc.documentElement as Element], connection.options);
        message = this.read(doc, connection, sloUrl);
        await this.verifyPostSignature(connection, xml, field);
      }
      return message.kind === 'LogoutRequest'
        ? await this.answerLogoutRequest(connection, message, relayState)
        : await this.acceptLogoutResponse(connection, message);
    } catch (err) {
      if (!(err instanceof SamlRejection)) throw err;
      const traceId = await this.traces.record({
        connectionId: connection?.id ?? null,
        kind: 'slo',
        outcome: 'failure',
        reason: err.reason,
        message: err.message,
        detail: err.detail,
        samlMessage: xml,
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
      throw Object.assign(err, { traceId });
    }
  }

  private read(doc: Document, connection: ConnectionEntity, sloUrl: string): LogoutMessage {
    const root = doc.documentElement as Element;
    if (
      root.namespaceURI !== NS.protocol ||
      (root.localName !== 'LogoutRequest' && root.localName !== 'LogoutResponse')
    ) {
      throw new SamlRejection(
        'saml_logout_invalid',
        'The message is neither a LogoutRequest nor a LogoutResponse.',
      );
    }
    const attr = (name: string) => nonEmptyAttribute(root, name);
    // Strict xs:dateTime with its time zone, as on the ACS: a malformed time is refused, never ignored.
    const time = (name: string) => timeAttribute(root, name);
    const issuer = textOf(childElements(root, NS.assertion, 'Issuer')[0]);
    if (issuer !== connection.idpEntityId) {
      throw new SamlRejection(
        'saml_issuer_mismatch',
        'The logout message comes from another identity provider.',
        {
          issuer,
          expected: connection.idpEntityId,
        },
      );
    }
    const destination = attr('Destination');
    if (destination !== undefined && destination !== sloUrl) {
      throw new SamlRejection(
        'saml_destination_mismatch',
        'The logout message was addressed to another URL.',
        {
          destination,
          expected: sloUrl,
        },
      );
    }
    const now = this.clock.now().getTime();
    const skew = connection.options.clockSkewSeconds * 1000;
    const notOnOrAfter = time('NotOnOrAfter');
    if (notOnOrAfter && notOnOrAfter.getTime() + skew <= now) {
      throw new SamlRejection('saml_expired', 'The logout message has expired (NotOnOrAfter).');
    }
    const issueInstant = time('IssueInstant');
    if (!issueInstant || Math.abs(issueInstant.getTime() - now) > skew + 10 * 60_000) {
      throw new SamlRejection(
        'saml_expired',
        'The logout message is too old or from the future (IssueInstant).',
      );
    }
    const id = attr('ID');
    if (!id) throw new SamlRejection('saml_logout_invalid', 'The logout message has no ID.');
    const status = childElements(root, NS.protocol, 'Status')[0];
    return {
      kind: root.localName as LogoutMessage['kind'],
      id,
      issuer,
      destination,
      inResponseTo: attr('InResponseTo'),
      statusCode: status
        ? (childElements(status, NS.protocol, 'StatusCode')[0]?.getAttribute('Value') ?? undefined)
        : undefined,
      nameId: textOf(childElements(root, NS.assertion, 'NameID')[0]) || undefined,
      sessionIndexes: childElements(root, NS.protocol, 'SessionIndex').map(textOf).filter(Boolean),
      notOnOrAfter,
      issueInstant,
    };
  }

  /** Redirect binding: the signature covers the exact received octets `SAML…=…[&RelayState=…]&SigAlg=…`. */
  private verifyRedirectSignature(
    connection: ConnectionEntity,
    rawQuery: string,
    params: Map<string, string>,
  ): void {
    const sigAlg = params.get('SigAlg');
    const signature = params.get('Signature');
    if (!sigAlg || !signature)
      throw new SamlRejection('saml_signature_missing', 'Logout messages must be signed.');
    const alg = safeDecode(sigAlg);
    const allowed = SIG_ALGS.has(alg) || (connection.options.allowSha1 && alg === SHA1_SIG_ALG);
    if (!allowed) {
      throw new SamlRejection(
        'saml_signature_algorithm_forbidden',
        `The signature algorithm ${alg} is not accepted.`,
      );
    }
    const messageKey = params.has('SAMLRequest') ? 'SAMLRequest' : 'SAMLResponse';
    const signed = [messageKey, ...(params.has('RelayState') ? ['RelayState'] : []), 'SigAlg']
      .map((k) => `${k}=${params.get(k)}`)
      .join('&');
    if (!rawQuery.includes(signed))
      throw new SamlRejection('saml_logout_invalid', 'The query parameters are not in the signed order.');
    const sig = Buffer.from(safeDecode(signature), 'base64');
    const hash = SIG_ALGS.get(alg) ?? 'sha1';
    const ok = connection.idp.signingCertificates.some((c) => {
      try {
        return createVerify(hash).update(signed).verify(c.pem, sig);
      } catch {
        return false;
      }
    });
    if (!ok) throw new SamlRejection('saml_signature_invalid', 'The logout message signature is not valid.');
  }

  private async verifyPostSignature(
    connection: ConnectionEntity,
    xml: string,
    field: 'SAMLRequest' | 'SAMLResponse',
  ): Promise<void> {
    const engine = this.engines.forVerification(connection, this.config.baseUrl);
    const encoded = Buffer.from(xml, 'utf8').toString('base64');
    try {
      if (field === 'SAMLRequest') await engine.validatePostRequestAsync({ SAMLRequest: encoded });
      else {
        const result = await engine.validatePostResponseAsync({ SAMLResponse: encoded });
        if (!result.loggedOut) throw new Error('not a logout response');
      }
    } catch (err) {
      throw new SamlRejection('saml_signature_invalid', 'The logout message signature is not valid.', {
        engine: (err as Error).message,
      });
    }
  }

  private async answerLogoutRequest(
    connection: ConnectionEntity,
    message: LogoutMessage,
    relayState?: string,
  ): Promise<SloOutcome> {
    if (!message.nameId) {
      throw new SamlRejection('saml_logout_invalid', 'The LogoutRequest names no user (NameID).');
    }
    // A captured LogoutRequest must not end the user's next session: each ID is accepted once.
    const skew = connection.options.clockSkewSeconds * 1000;
    const until = message.notOnOrAfter ?? new Date((message.issueInstant as Date).getTime() + 10 * 60_000);
    const fresh = await this.state.rememberAssertion(
      connection.id,
      `logout:${message.id}`,
      new Date(until.getTime() + skew),
    );
    if (!fresh) throw new SamlRejection('saml_replay', 'This LogoutRequest was already processed.');
    const ended = await this.sessions.endByNameId(
      connection.id,
      message.nameId,
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
      { ID: message.id, issuer: message.issuer, nameID: message.nameId, nameIDFormat: '' },
      relayState ?? '',
      {},
      true,
    );
    return { kind: 'redirect', url, clearSession: true };
  }

  private async acceptLogoutResponse(
    connection: ConnectionEntity,
    message: LogoutMessage,
  ): Promise<SloOutcome> {
    const pending = message.inResponseTo
      ? await this.state.consumeRequest(message.inResponseTo, connection.id, 'logout')
      : null;
    if (!pending) {
      throw new SamlRejection(
        'saml_in_response_to_unknown',
        'This LogoutResponse answers no logout request of ours.',
        {
          inResponseTo: message.inResponseTo ?? null,
        },
      );
    }
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
    if (pending.returnTo) return { kind: 'redirect', url: pending.returnTo, clearSession: true };
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
