import { Injectable } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { SsoTracesService } from '../../audit/sso-traces.service';
import { MetricsService } from '../../metrics/metrics.service';
import { isDeprovisioned, type UserEntity } from '../../users/user.entity';
import { UsersService } from '../../users/users.service';
import { LoginFailures, type LoginState, type VerifiedLogin } from '../login-consumers';
import type { LoginSessionEntity } from '../login-session.entity';
import { LoginSessionsService } from '../login-sessions.service';
import { SamlRejection } from '../saml-rejection';
import { SignInRepository } from './sign-in.repository';

/** A user signed in to the bridge: the user (provisioned now) and the bridge session opened for them. */
export interface AppSignIn {
  user: UserEntity;
  session: LoginSessionEntity;
  /** The opaque token for the session cookie (the database keeps only its hash). */
  sessionToken: string;
}

/**
 * Turns a verified login into a signed-in user of the bridge: provisions the user (just in time) and opens
 * the bridge session (which SLO and RP-initiated logout end) in one statement, refuses a disabled or
 * deprovisioned one (who gets no session), and records the sign-in (metrics, SSO trace, `login.succeeded`). Used by the consumers that sign someone in:
 * the app session and the OIDC interaction.
 */
@Injectable()
export class AppSignInService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: LoginSessionsService,
    private readonly signIns: SignInRepository,
    private readonly traces: SsoTracesService,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
    private readonly failures: LoginFailures,
  ) {}

  /** `clientId`: the app the sign-in is for, in the audit event (null: the bridge itself). */
  async signIn(login: VerifiedLogin<LoginState>, clientId: string | null): Promise<AppSignIn> {
    const { connection, identity } = login;
    try {
      const { token, session } = this.sessions.prepare({
        connectionId: connection.id,
        nameId: login.nameId,
        nameIdFormat: login.nameIdFormat,
        sessionIndex: login.sessionIndex,
        authnContextClassRef: login.authnContextClassRef,
        authnInstant: login.authnInstant,
        sessionNotOnOrAfter: login.sessionNotOnOrAfter,
      });
      // The user provisioned and the session opened in one statement (none for a user who may not sign in).
      const write = await this.signIns.provisionAndOpen(connection.id, identity, login.attributes, session);
      const user = await this.users.provisioned(write);
      if (isDeprovisioned(user)) {
        throw new SamlRejection(
          'user_deprovisioned',
          "Your account was removed from your organisation's directory; ask your administrator.",
        );
      }
      if (user.disabled) {
        throw new SamlRejection('saml_user_disabled', 'Your account is disabled; ask your administrator.');
      }
      if (!write.sessionOpened) throw new Error('The sign-in opened no session for a user who may sign in');
      this.metrics.logins.inc({ connection: connection.slug, result: 'success' });
      // The trace and the audit event are independent writes: done together, not one after the other.
      await Promise.all([
        this.traces.record({
          connectionId: connection.id,
          kind: 'acs',
          outcome: 'success',
          message: `Signed in ${user.email ?? user.subject}`,
          detail: { assertionId: login.assertionId, subject: user.subject, inResponseTo: login.inResponseTo },
          userId: user.id,
        }),
        // Best effort (see AuditService): a sign-in that succeeded is not turned into an error page.
        this.audit.recordSafely({
          type: 'login.succeeded',
          actor: { type: 'user', id: user.id, name: user.email ?? user.subject },
          connectionId: connection.id,
          userId: user.id,
          clientId,
          data: {
            connection: connection.slug,
            subject: user.subject,
            email: user.email,
            assertionId: login.assertionId,
            inResponseTo: login.inResponseTo ?? null,
            idpInitiated: !login.inResponseTo,
            authnContextClassRef: login.authnContextClassRef ?? null,
          },
        }),
      ]);
      return { user, session, sessionToken: token };
    } catch (err) {
      if (!(err instanceof SamlRejection)) throw err;
      throw await this.failures.continueRefused(connection, err, identity.subject);
    }
  }
}
