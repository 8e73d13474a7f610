import { Injectable, OnModuleInit } from '@nestjs/common';
import type { LoginConsumer, VerifiedLogin } from '../login-consumers';
import { LoginPort } from '../login.port';
import type { OutgoingMessage } from '../saml.service';
import { type AppSignIn, AppSignInService } from './app-sign-in.service';

/** Where a bridge sign-in lands when nobody said where to go: the bridge's own "who is signed in" page. */
export const DEFAULT_LANDING_PATH = '/saml/session';

type AppSessionState = Record<string, never>;

/**
 * The bridge's own app session, the consumer of logins started at `/saml/:slug/login` and of every
 * IdP-initiated login: the continue step `/saml/:slug/continue` signs the user in to the bridge (session
 * cookie) and goes to the login's return path.
 */
@Injectable()
export class AppSessionConsumer implements LoginConsumer<AppSessionState>, OnModuleInit {
  readonly id = 'app-session';

  constructor(
    private readonly port: LoginPort,
    private readonly signIns: AppSignInService,
  ) {}

  onModuleInit(): void {
    this.port.register(this, { takesIdpInitiated: true });
  }

  continueUrl(code: string, login: { connectionSlug: string }): string {
    return `/saml/${login.connectionSlug}/continue?code=${code}`;
  }

  start(slug: string, returnTo: string | undefined, browserBinding: string): Promise<OutgoingMessage> {
    return this.port.start(slug, { consumer: this, state: {}, browserBinding, returnTo });
  }

  /**
   * The continue step: the verified login becomes a signed-in user with a bridge session. (The code alone
   * names the login; the connection in the path is for people reading URLs.)
   */
  async complete(
    code: unknown,
    browserProof: string | undefined,
  ): Promise<AppSignIn & { redirectTo: string }> {
    const login: VerifiedLogin<AppSessionState> = await this.port.take(code, browserProof, this);
    const signedIn = await this.signIns.signIn(login, null);
    return { ...signedIn, redirectTo: login.returnTo ?? DEFAULT_LANDING_PATH };
  }
}
