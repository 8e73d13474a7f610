import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { SsoTracesService } from '../audit/sso-traces.service';
import type { ConnectionEntity } from '../connections/connection.entity';
import type { MappedUser } from '../mapping/attribute-mapping';
import type { AUTHN_CONTEXT_REASONS } from './acs/checks/authn-context';
import type { USER_STATE_REASONS } from './acs/checks/user-state';
import type { RequestedAuthn } from './requested-authn';
import { SamlRejection, TracedSamlRejection } from './saml-rejection';

/**
 * The consumers of SAML logins (the types of login.port.ts, which consumers import) and their registry,
 * which the ACS asks where a validated login continues.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A consumer's own state for one login: JSON, opaque to the SAML core, handed back with the login. */
export type LoginState = { [key: string]: JsonValue };

/**
 * Why the ACS refused a login in a way the consumer may want to answer itself: the local user
 * (acs/checks/user-state.ts: disabled, deprovisioned) or an authentication that is not the one the
 * consumer asked for (acs/checks/authn-context.ts: step-up not met, not re-authenticated).
 */
export type UserRefusal = (typeof USER_STATE_REASONS)[number] | (typeof AUTHN_CONTEXT_REASONS)[number];

/** What a consumer of SAML logins tells the SAML core. Register it with `LoginPort.register`. */
export interface LoginConsumer<S extends LoginState = LoginState> {
  /** Stable id, stored with each pending login (changing it strands the logins in flight). */
  readonly id: string;
  /**
   * The same-site GET the ACS sends the browser to (303) for a validated login waiting under `code`: the
   * consumer's continue step, where it calls `LoginPort.take`.
   */
  continueUrl(code: string, login: { connectionSlug: string; state: S }): string;
  /**
   * Where a login the ACS refuses because of the local user (disabled, deprovisioned) or of an unmet
   * authentication requirement continues instead of the error page (e.g. back to the app that asked).
   * Undefined: the error page.
   */
  refusedUrl?(reason: UserRefusal, state: S): string | undefined;
  /**
   * True: the consumer only shows who signed in (nobody is signed in anywhere), so a disabled or
   * deprovisioned user's login completes too.
   */
  readonly admitsRefusedUsers?: boolean;
}

/** How a consumer starts a login. */
export interface StartLogin<S extends LoginState> {
  consumer: LoginConsumer<S>;
  state: S;
  /** The browser-binding cookie's value: only this browser can take the login (`take`'s browserProof). */
  browserBinding: string;
  /** A same-site path the consumer may send the browser to afterwards (checked here: no open redirect). */
  returnTo?: string;
  /** What the consumer asks of the IdP's authentication (ForceAuthn, RequestedAuthnContext; step-up). */
  authn?: RequestedAuthn;
}

/** A login the ACS validated (every check of src/saml/acs/pipeline.ts), taken by its consumer. */
export interface VerifiedLogin<S extends LoginState = LoginState> {
  connection: ConnectionEntity;
  /** The identity the assertion maps to (nothing is provisioned: that is the consumer's choice). */
  identity: MappedUser;
  /** The attributes as the IdP sent them. */
  attributes: Record<string, string[]>;
  assertionId: string;
  /** The AuthnRequest this answers; undefined for an IdP-initiated login. */
  inResponseTo?: string;
  nameId: string;
  nameIdFormat?: string;
  sessionIndex?: string;
  authnContextClassRef?: string;
  authnInstant?: Date;
  sessionNotOnOrAfter?: Date;
  /** The start's returnTo, or for an IdP-initiated login its RelayState path / the connection's target. */
  returnTo?: string;
  /** The consumer's state from `start` (an IdP-initiated login: `{}`). */
  state: S;
}

/**
 * The registered consumers. Exactly one may take IdP-initiated logins (no pending request, so no consumer
 * asked): the bridge's own app session.
 */
@Injectable()
export class LoginConsumers {
  private readonly byId = new Map<string, LoginConsumer>();
  private unsolicited?: LoginConsumer;

  register<S extends LoginState>(
    typed: LoginConsumer<S>,
    options: { takesIdpInitiated?: boolean } = {},
  ): void {
    // Stored untyped: the state the registry hands a consumer is the state that consumer's start stored.
    const consumer = typed as unknown as LoginConsumer;
    const known = this.byId.get(consumer.id);
    if (known && known !== consumer)
      throw new Error(`A login consumer "${consumer.id}" is already registered`);
    if (options.takesIdpInitiated) {
      if (this.unsolicited && this.unsolicited !== consumer) {
        throw new Error(`"${this.unsolicited.id}" already takes IdP-initiated logins`);
      }
      this.unsolicited = consumer;
    }
    this.byId.set(consumer.id, consumer);
  }

  /** True when `consumer` (this very object) is registered. */
  isRegistered<S extends LoginState>(consumer: LoginConsumer<S>): boolean {
    return (this.byId.get(consumer.id) as unknown) === consumer;
  }

  /** True when `consumer` takes IdP-initiated (unbound) logins. */
  takesIdpInitiated<S extends LoginState>(consumer: LoginConsumer<S>): boolean {
    return this.unsolicited !== undefined && (this.unsolicited as unknown) === consumer;
  }

  /**
   * The consumer of a pending request's login and its state (a pending request's `context` is
   * `{ consumer, state }`, written by `LoginPort.start`); with no pending request, or one that names no
   * consumer, the consumer of IdP-initiated logins.
   */
  forRequest(context: Record<string, unknown> | undefined): { consumer: LoginConsumer; state: LoginState } {
    const id = context?.consumer;
    const consumer = typeof id === 'string' ? this.byId.get(id) : this.unsolicited;
    if (!consumer) {
      throw new SamlRejection(
        'saml_login_not_found',
        'The page that started this sign-in is no longer available. Start the sign-in again.',
        { consumer: typeof id === 'string' ? id.slice(0, 64) : null },
      );
    }
    const state = context?.state;
    return { consumer, state: isLoginState(state) ? state : {} };
  }

  /**
   * Where the browser goes instead of the error page when the ACS refused the login of a pending request
   * (`context`; undefined: IdP-initiated) for `reason`: its consumer's refusedUrl, for the reasons a
   * consumer answers itself. Undefined: the error page.
   */
  refusedUrl(context: Record<string, unknown> | undefined, reason: string): string | undefined {
    if (!isUserRefusal(reason)) return undefined;
    const id = context?.consumer;
    const known = typeof id === 'string' ? this.byId.has(id) : this.unsolicited !== undefined;
    if (!known) return undefined;
    const { consumer, state } = this.forRequest(context);
    return consumer.refusedUrl?.(reason, state);
  }
}

/** The reasons a consumer may answer itself (its refusedUrl). */
const USER_REFUSALS: ReadonlySet<string> = new Set<UserRefusal>([
  'saml_user_disabled',
  'user_deprovisioned',
  'saml_authn_context_unmet',
  'saml_authn_stale',
]);

export function isUserRefusal(reason: string): reason is UserRefusal {
  return USER_REFUSALS.has(reason);
}

function isLoginState(value: unknown): value is LoginState {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A refused continue step, in the SSO traces and the audit log (`login.failed`, stage `continue`). */
@Injectable()
export class LoginFailures {
  constructor(
    private readonly traces: SsoTracesService,
    private readonly audit: AuditService,
  ) {}

  /** Records the refusal and returns it with the trace id the browser should show. */
  async continueRefused(
    connection: { id: string | null; slug: string },
    err: SamlRejection,
    subject?: string,
  ): Promise<TracedSamlRejection> {
    const traceId = await this.traces.record({
      connectionId: connection.id,
      kind: 'acs',
      outcome: 'failure',
      reason: err.reason,
      message: err.message,
      detail: err.detail,
    });
    await auditLoginFailure(this.audit, 'continue', connection, err, traceId, subject);
    return new TracedSamlRejection(err, traceId);
  }
}

/**
 * A refused login, in the audit log. Best effort (recordSafely): the refusal stands whether or not the
 * audit log can be written; a failed append is logged and counted.
 */
export async function auditLoginFailure(
  audit: AuditService,
  stage: 'acs' | 'continue',
  connection: { id: string | null; slug: string },
  err: SamlRejection,
  traceId: string | undefined,
  subject?: string,
): Promise<void> {
  const userId = typeof err.detail.userId === 'string' ? err.detail.userId : null;
  const who = subject ?? (typeof err.detail.subject === 'string' ? err.detail.subject : undefined);
  await audit.recordSafely({
    type: 'login.failed',
    actor: { type: 'user', id: userId, name: who ?? 'anonymous' },
    connectionId: connection.id,
    userId,
    data: {
      stage,
      reason: err.reason,
      message: err.message,
      connection: connection.slug,
      ...(who ? { subject: who } : {}),
      ...(traceId ? { traceId } : {}),
    },
  });
}
