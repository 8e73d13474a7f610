import { Controller, Get, Inject, Param, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../common/public.decorator';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { acrMapOf } from '../connections/connection-presets';
import { isDatabaseUnavailable } from '../database/database-errors';
import { messagePage, messagePageWith } from '../saml/html';
import { html, render } from '../web/html';
import { AppSignInService } from '../saml/app-session/app-sign-in.service';
import { sendOutgoing } from '../saml/login.port';
import { SamlPageFilter } from '../saml/saml-page.filter';
import { SamlRejection } from '../saml/saml-rejection';
import { browserCookieName, readCookie, setSessionCookie } from '../saml/session-cookie';
import { continuePath, OidcLoginConsumer, refusalDescription } from './oidc-login.consumer';
import { OidcClientsService } from './oidc-clients.service';
import { type Interaction, type InteractionResult, OidcLoginStart } from './oidc-login-start';
import { withRequestWrites } from './oidc-adapter';
import { rememberSignedIn } from './signed-in-account';
import { OIDC_ROUTES, OidcProviderHost } from './oidc-provider.host';
import { OidcStorageRepository } from './oidc-storage.repository';
import { appAuthnRequest, idTokenAuthn, UNMET_AUTHENTICATION_REQUIREMENTS } from './step-up';

/**
 * oidc-provider's `interactionFinished` on the Interaction already loaded by `interactionDetails`: the
 * same steps (set the result, merged with the last submission unless told not to or it is an error; save
 * it for the rest of its lifetime; 303 to where the authorization resumes) without reading it again, one
 * statement fewer on every login.
 */
async function finishInteraction(
  interaction: Interaction,
  res: Response,
  result: InteractionResult,
  { mergeWithLastSubmission = true } = {},
): Promise<void> {
  await saveResult(
    interaction,
    mergeWithLastSubmission && !('error' in result) ? { ...interaction.lastSubmission, ...result } : result,
  );
  res.status(303).setHeader('Location', interaction.returnTo).setHeader('Content-Length', '0').end();
}

/** Sets the interaction's result and saves it for the rest of its lifetime. */
async function saveResult(interaction: Interaction, result: InteractionResult): Promise<void> {
  interaction.result = result;
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
}

function discoveryPage(uid: string, error: string | null, email: string): string {
  return render(
    messagePageWith(
      'Sign in',
      html`<form method="get" action="/oidc/interaction/${uid}"><p><label for="email">Work email</label><br><input id="email" name="email" type="email" autocomplete="email" required value="${email}" autofocus></p>${
        error ? html`<p role="alert">${error}</p>` : ''
      }<p><button type="submit">Continue</button></p></form>`,
    ),
  );
}

/**
 * The login bridge: oidc-provider's interactions. Picks the connection (parameter, login_hint domain, or a
 * home-realm discovery page), runs the SAML login, and finishes the interaction at the login's continue
 * step, the same-site GET the ACS redirects to (OidcLoginConsumer), where the authorization resumes too.
 * Consent is implicit: apps are registered by the admin. Where the login starts: OidcLoginStart.
 */
@ApiExcludeController()
@Public()
@UseFilters(SamlPageFilter)
@Controller('oidc')
export class OidcInteractionController {
  constructor(
    private readonly host: OidcProviderHost,
    private readonly logins: OidcLoginConsumer,
    private readonly signIns: AppSignInService,
    private readonly clients: OidcClientsService,
    private readonly starts: OidcLoginStart,
    private readonly storage: OidcStorageRepository,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  private async details(req: Request, res: Response): Promise<Interaction | undefined> {
    const provider = await this.host.current();
    try {
      return await provider.interactionDetails(req, res);
    } catch (err) {
      // Unknown or expired: "start again". The database being away is not that: a 503 with its reason.
      if (isDatabaseUnavailable(err)) throw err;
      return undefined;
    }
  }

  private expired(res: Response): void {
    res
      .status(400)
      .type('html')
      .send(
        messagePage(
          'Sign-in expired',
          'This sign-in took too long or was already finished. Go back to the app and start again.',
        ),
      );
  }

  @Get('interaction/:uid')
  async start(
    @Param('uid') uid: string,
    @Query('email') email: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const details = await this.details(req, res);
    if (!details || details.uid !== uid) return this.expired(res);
    res.setHeader('Cache-Control', 'no-store');
    const plan = await this.starts.plan(details, typeof email === 'string' ? email.slice(0, 320) : undefined);
    if ('finish' in plan) {
      await finishInteraction(details, res, plan.finish, { mergeWithLastSubmission: plan.merge });
      return;
    }
    if ('discovery' in plan) {
      res.type('html').send(discoveryPage(uid, plan.discovery, typeof email === 'string' ? email : ''));
      return;
    }
    sendOutgoing(res, await this.starts.send(details, plan.login, req, res));
  }

  /**
   * A SAML login that failed in a way the app must hear about: a disabled account is access_denied; an
   * authentication that did not meet what the app required (step-up) is unmet_authentication_requirements.
   */
  @Get('interaction/:uid/abort')
  async abort(
    @Param('uid') uid: string,
    @Query('reason') reason: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const details = await this.details(req, res);
    if (!details || details.uid !== uid) return this.expired(res);
    if (reason === 'saml_authn_context_unmet' || reason === 'saml_authn_stale') {
      await finishInteraction(details, res, {
        error: UNMET_AUTHENTICATION_REQUIREMENTS,
        error_description:
          reason === 'saml_authn_stale'
            ? 'The identity provider did not authenticate the user again.'
            : 'The identity provider did not authenticate the user as required.',
      });
      return;
    }
    await finishInteraction(details, res, {
      error: 'access_denied',
      error_description: refusalDescription(reason),
    });
  }

  /**
   * The continue step's former path (logins that started before an upgrade): the same step at its path
   * under the authorization resume (`continue` below).
   */
  @Get('interaction/:uid/callback')
  legacyCallback(@Param('uid') uid: string, @Query('code') code: unknown, @Res() res: Response): void {
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, continuePath(uid, typeof code === 'string' ? code : ''));
  }

  /**
   * The continue step of the SAML login, the same-site GET the ACS redirects to: the browser that started
   * the login takes the verified login, the user is signed in to the bridge (session cookie: SLO and
   * RP-initiated logout end it), the interaction finishes, and the authorization resumes, all in this one
   * request. Its path is under the resume's (LOGIN_CONTINUE_PATH), so the browser sends oidc-provider's
   * resume cookie, which the resume checks as ever; the login's own proof is the browser binding.
   */
  @Get('auth/:uid/continue')
  async continue(
    @Param('uid') uid: string,
    @Query('code') code: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const provider = await this.host.current();
    // One unit of work with the resume (withRequestWrites): the result saved here is what the resume reads,
    // and the interaction's save and destroy become one delete, written with the resume's writes.
    await withRequestWrites(this.storage, async () => {
      const interaction = await provider.Interaction.find(uid);
      if (!interaction || interaction.uid !== uid) return this.expired(res);
      res.setHeader('Cache-Control', 'no-store');
      await saveResult(interaction, await this.loginResult(interaction, uid, code, req, res));
      await this.host.handOver(req, res, `${OIDC_ROUTES.authorization}/${encodeURIComponent(uid)}`);
    });
  }

  /** The interaction's result for the verified login under `code`: the login, or why the app is refused. */
  private async loginResult(
    interaction: Interaction,
    uid: string,
    code: unknown,
    req: Request,
    res: Response,
  ): Promise<InteractionResult> {
    // Refusals of the login itself (used, expired, another browser) end on the error page, as the ACS's.
    const login = await this.logins.take(code, readCookie(req, browserCookieName(this.config)));
    if (login.state.interaction !== uid) {
      return { error: 'access_denied', error_description: 'The sign-in did not complete.' };
    }
    let signedIn: Awaited<ReturnType<AppSignInService['signIn']>>;
    try {
      signedIn = await this.signIns.signIn(login, login.state.clientId);
    } catch (err) {
      // Disabled or deprovisioned since the ACS checked: the app hears it, as from the ACS (abort).
      if (!(err instanceof SamlRejection)) throw err;
      if (err.reason !== 'saml_user_disabled' && err.reason !== 'user_deprovisioned') throw err;
      return { error: 'access_denied', error_description: refusalDescription(err.reason) };
    }
    const { user, session, sessionToken } = signedIn;
    setSessionCookie(res, this.config, sessionToken, session.expiresAt);
    rememberSignedIn(req, user);
    const { connection } = login;
    const params = interaction.params as Record<string, unknown>;
    const client = await this.clients.find(String(params.client_id));
    if (!client) {
      return { error: 'access_denied', error_description: 'The account is disabled or unknown.' };
    }
    if (client.allowedConnections && !client.allowedConnections.includes(connection.slug)) {
      return {
        error: 'access_denied',
        error_description: `This app may not use the connection "${connection.slug}".`,
      };
    }
    // acr / amr say what the IdP reported, through the connection's acr map (see step-up.ts).
    const { acr, amr } = idTokenAuthn(
      session.authnContextClassRef,
      acrMapOf(connection),
      appAuthnRequest(params, []).acrValues,
    );
    return {
      login: {
        accountId: user.id,
        acr,
        amr,
        ts: Math.floor((session.authnInstant ?? session.createdAt).getTime() / 1000),
      },
      // Consent is implicit (see loadImplicitGrant): answering it with the login saves a round trip.
      consent: {},
    };
  }
}
