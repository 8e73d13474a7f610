import { Injectable } from '@nestjs/common';
import { sha256 } from '../common/sha256';
import { ConnectionLookup } from '../connections/connection-lookup';
import {
  type LoginConsumer,
  LoginConsumers,
  LoginFailures,
  type LoginState,
  type StartLogin,
  type VerifiedLogin,
} from './login-consumers';
import { SamlRejection } from './saml-rejection';
import { SamlStateService } from './saml-state.service';
import { type OutgoingMessage, SamlService } from './saml.service';

/**
 * The login port: the one interface through which the rest of the bridge uses SAML logins. A consumer
 * (the OIDC interaction, the console's SSO sign-in, a test login, the bridge's own app session) starts a
 * login for itself and takes the verified login back at its own continue step. The SAML core never builds
 * a consumer's URLs and never branches on who the consumer is: it asks the consumer registered under the
 * pending request's consumer id (login-consumers.ts).
 */
export type {
  JsonValue,
  LoginConsumer,
  LoginState,
  StartLogin,
  UserRefusal,
  VerifiedLogin,
} from './login-consumers';
export { type OutgoingMessage, sendOutgoing } from './saml.service';

/** The login port (see the top of this file). */
@Injectable()
export class LoginPort {
  constructor(
    private readonly consumers: LoginConsumers,
    private readonly saml: SamlService,
    private readonly state: SamlStateService,
    private readonly connections: ConnectionLookup,
    private readonly failures: LoginFailures,
  ) {}

  /** Registers a consumer (its module's onModuleInit); `takesIdpInitiated` for the app session only. */
  register<S extends LoginState>(
    consumer: LoginConsumer<S>,
    options: { takesIdpInitiated?: boolean } = {},
  ): void {
    this.consumers.register(consumer, options);
  }

  /** Starts an SP-initiated login at a connection for `consumer`: the AuthnRequest to send the browser with. */
  async start<S extends LoginState>(connectionSlug: string, login: StartLogin<S>): Promise<OutgoingMessage> {
    if (!this.consumers.isRegistered(login.consumer)) {
      throw new Error(`The login consumer "${login.consumer.id}" is not registered`);
    }
    if (!login.browserBinding)
      throw new Error('A login needs the browser binding of the browser that starts it');
    return this.saml.startLogin(connectionSlug, {
      consumer: login.consumer.id,
      state: login.state,
      browserBinding: login.browserBinding,
      returnTo: login.returnTo,
      authn: login.authn,
    });
  }

  /**
   * Takes a validated login out (single use, any instance) at the consumer's continue step, for the browser
   * that started it (`browserProof`: its binding cookie; another browser is refused: login CSRF). A
   * consumer can take only its own logins. Refusals are traced and audited and carry the trace id.
   */
  async take<S extends LoginState>(
    code: unknown,
    browserProof: string | undefined,
    consumer: LoginConsumer<S>,
  ): Promise<VerifiedLogin<S>> {
    let connection: { id: string | null; slug: string } = { id: null, slug: 'unknown' };
    let subject: string | undefined;
    try {
      const completion =
        typeof code === 'string' && this.consumers.isRegistered(consumer)
          ? await this.state.takeCompletion(code, consumer.id)
          : null;
      const entity = completion ? await this.connections.byId(completion.connectionId) : null;
      if (!completion || !entity) {
        throw new SamlRejection(
          'saml_login_not_found',
          'This sign-in link was already used or has expired. Start the sign-in again.',
        );
      }
      connection = entity;
      subject = completion.login.mapped.subject;
      if (!entity.enabled) {
        throw new SamlRejection(
          'saml_connection_disabled',
          'This connection is disabled; ask your administrator.',
        );
      }
      // Only the app session takes logins nobody started (IdP-initiated, so bound to no browser).
      if (!completion.browserBinding && !this.consumers.takesIdpInitiated(consumer)) {
        throw new SamlRejection('saml_login_not_found', 'This sign-in has no browser binding.');
      }
      if (
        completion.browserBinding &&
        (!browserProof || sha256(browserProof) !== completion.browserBinding)
      ) {
        throw new SamlRejection(
          'saml_browser_mismatch',
          'This sign-in was started in another browser. Start the sign-in again from this browser.',
          { subject },
        );
      }
      const { login } = completion;
      const s = login.session;
      return {
        connection: entity,
        identity: login.mapped,
        attributes: login.attributes,
        assertionId: login.assertionId,
        inResponseTo: login.inResponseTo,
        nameId: s.nameId,
        nameIdFormat: s.nameIdFormat,
        sessionIndex: s.sessionIndex,
        authnContextClassRef: s.authnContextClassRef,
        authnInstant: s.authnInstant ? new Date(s.authnInstant) : undefined,
        sessionNotOnOrAfter: s.sessionNotOnOrAfter ? new Date(s.sessionNotOnOrAfter) : undefined,
        returnTo: completion.returnTo,
        state: completion.state as S,
      };
    } catch (err) {
      if (!(err instanceof SamlRejection)) throw err;
      throw await this.failures.continueRefused(
        { id: connection.id, slug: connection.slug.slice(0, 64) },
        err,
        subject,
      );
    }
  }
}
