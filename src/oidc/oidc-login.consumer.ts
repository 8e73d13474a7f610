import { Injectable, OnModuleInit } from '@nestjs/common';
import {
  LoginPort,
  type LoginConsumer,
  type OutgoingMessage,
  type UserRefusal,
  type VerifiedLogin,
} from '../saml/login.port';
import type { RequestedAuthn } from '../saml/requested-authn';
import { OIDC_ROUTES } from './oidc-provider.host';

/**
 * The login's continue step for the interaction `uid`: under the authorization resume's path (see
 * LOGIN_CONTINUE_PATH), where the interaction finishes and the authorization resumes in one request.
 */
export function continuePath(uid: string, code: string): string {
  return `${OIDC_ROUTES.authorization}/${encodeURIComponent(uid)}/continue?code=${encodeURIComponent(code)}`;
}

/** The oidc-provider interaction the login is for, and the app that asked. */
export type OidcLoginState = { interaction: string; clientId: string };

/** What an app hears (access_denied's error_description) when the login was refused for this reason. */
export function refusalDescription(reason: unknown): string {
  return reason === 'saml_user_disabled'
    ? 'The account is disabled.'
    : reason === 'user_deprovisioned'
      ? 'The account was deprovisioned by the directory.'
      : 'The sign-in failed.';
}

/**
 * The OIDC interaction as a consumer of SAML logins. Its continue step (`/oidc/auth/:uid/continue?code=`)
 * is where the ACS sends the browser: the verified login signs the user in, finishes the interaction and
 * the authorization resumes, in one request. A login the ACS refuses
 * because of the user (access_denied) or of an unmet step-up (unmet_authentication_requirements) ends at
 * the app (`…/abort`) rather than on the error page.
 */
@Injectable()
export class OidcLoginConsumer implements LoginConsumer<OidcLoginState>, OnModuleInit {
  readonly id = 'oidc-interaction';

  constructor(private readonly port: LoginPort) {}

  onModuleInit(): void {
    this.port.register(this);
  }

  continueUrl(code: string, login: { state: OidcLoginState }): string {
    return continuePath(login.state.interaction, code);
  }

  refusedUrl(reason: UserRefusal, state: OidcLoginState): string {
    return `/oidc/interaction/${encodeURIComponent(state.interaction)}/abort?reason=${reason}`;
  }

  start(
    slug: string,
    state: OidcLoginState,
    browserBinding: string,
    authn?: RequestedAuthn,
  ): Promise<OutgoingMessage> {
    return this.port.start(slug, { consumer: this, state, browserBinding, authn });
  }

  take(code: unknown, browserProof: string | undefined): Promise<VerifiedLogin<OidcLoginState>> {
    return this.port.take<OidcLoginState>(code, browserProof, this);
  }
}
