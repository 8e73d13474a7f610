import { Controller, Get, Inject, Param, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type Provider from 'oidc-provider';
import { Public } from '../common/public.decorator';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ConnectionLookup } from '../connections/connection-lookup';
import { acrMapOf } from '../connections/connection-presets';
import { isDatabaseUnavailable } from '../database/database-errors';
import { messagePage, messagePageWith } from '../saml/html';
import { html, render } from '../web/html';
import { AppSignInService } from '../saml/app-session/app-sign-in.service';
import { sendOutgoing } from '../saml/login.port';
import { SamlPageFilter } from '../saml/saml-page.filter';
import { SamlRejection } from '../saml/saml-rejection';
import {
  browserCookieName,
  ensureBrowserBinding,
  readCookie,
  setSessionCookie,
} from '../saml/session-cookie';
import { OidcLoginConsumer, refusalDescription } from './oidc-login.consumer';
import { OidcClientsService } from './oidc-clients.service';
import { OidcProviderHost } from './oidc-provider.host';
import {
  appAuthnRequest,
  idTokenAuthn,
  requestedAuthnFor,
  UNMET_AUTHENTICATION_REQUIREMENTS,
} from './step-up';

type Choice = { slug: string } | { discovery: string | null } | { denied: string };
type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;
type InteractionResult = Parameters<Provider['interactionFinished']>[2];

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
  interaction.result =
    mergeWithLastSubmission && !('error' in result) ? { ...interaction.lastSubmission, ...result } : result;
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  res.status(303).setHeader('Location', interaction.returnTo).setHeader('Content-Length', '0').end();
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
 * home-realm discovery page), runs the SAML login, and finishes the interaction at its callback, the
 * same-site GET the ACS redirects to (OidcLoginConsumer). Consent is implicit: apps are registered by the
 * admin.
 */
@ApiExcludeController()
@Public()
@UseFilters(SamlPageFilter)
@Controller('oidc/interaction')
export class OidcInteractionController {
  constructor(
    private readonly host: OidcProviderHost,
    private readonly logins: OidcLoginConsumer,
    private readonly signIns: AppSignInService,
    private readonly clients: OidcClientsService,
    private readonly connections: ConnectionLookup,
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

  private async choose(
    params: Record<string, unknown>,
    email: string | undefined,
    allowed: string[] | null,
  ): Promise<Choice> {
    const permitted = (slug: string) => allowed === null || allowed.includes(slug);
    if (typeof params.connection === 'string' && params.connection) {
      const c = await this.connections.bySlug(params.connection);
      if (!c || !c.enabled)
        return { denied: `There is no active connection "${params.connection.slice(0, 64)}".` };
      if (!permitted(c.slug)) return { denied: `This app may not use the connection "${c.slug}".` };
      return { slug: c.slug };
    }
    const hint = email ?? (typeof params.login_hint === 'string' ? params.login_hint : undefined);
    const domain = hint?.includes('@') ? hint.split('@').pop()?.trim().toLowerCase() : undefined;
    if (domain) {
      const matches = await this.connections.enabledWithDomain(domain);
      const usable = matches.filter((m) => permitted(m.slug));
      const [only] = usable;
      if (only && usable.length === 1) return { slug: only.slug };
      if (email !== undefined) {
        return {
          discovery:
            usable.length === 0
              ? `No sign-in is set up for ${domain}.`
              : `Several sign-ins match ${domain}; ask your administrator.`,
        };
      }
    }
    const onlyAllowed = allowed?.length === 1 ? allowed[0] : undefined;
    if (onlyAllowed) return { slug: onlyAllowed };
    return { discovery: null };
  }

  @Get(':uid')
  async start(
    @Param('uid') uid: string,
    @Query('email') email: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const details = await this.details(req, res);
    if (!details || details.uid !== uid) return this.expired(res);
    res.setHeader('Cache-Control', 'no-store');
    const params = details.params as Record<string, unknown>;
    const client = await this.clients.find(String(params.client_id));
    if (!client) {
      await finishInteraction(details, res, {
        error: 'access_denied',
        error_description: 'Unknown app',
      });
      return;
    }
    if (details.prompt.name === 'login') {
      const choice = await this.choose(
        params,
        typeof email === 'string' ? email.slice(0, 320) : undefined,
        client.allowedConnections,
      );
      if ('denied' in choice) {
        await finishInteraction(details, res, {
          error: 'access_denied',
          error_description: choice.denied,
        });
        return;
      }
      if ('discovery' in choice) {
        res.type('html').send(discoveryPage(uid, choice.discovery, typeof email === 'string' ? email : ''));
        return;
      }
      // Step-up: acr_values / claims, max_age and prompt=login become ForceAuthn and RequestedAuthnContext.
      const connection = await this.connections.bySlug(choice.slug);
      const stepUp = requestedAuthnFor(
        appAuthnRequest(params, details.prompt.reasons),
        connection ? acrMapOf(connection) : [],
      );
      if ('unmet' in stepUp) {
        await finishInteraction(details, res, {
          error: UNMET_AUTHENTICATION_REQUIREMENTS,
          error_description: stepUp.unmet,
        });
        return;
      }
      const binding = ensureBrowserBinding(req, res, this.config);
      const message = await this.logins.start(
        choice.slug,
        { interaction: uid, clientId: client.clientId },
        binding,
        stepUp.authn,
      );
      sendOutgoing(res, message);
      return;
    }
    // Consent (prompt=consent, or a native app): apps are registered by the bridge's admin, so what they
    // ask for is granted; loadImplicitGrant gives the grant its scopes when the authorization resumes.
    await finishInteraction(details, res, { consent: {} }, { mergeWithLastSubmission: true });
  }

  /**
   * A SAML login that failed in a way the app must hear about: a disabled account is access_denied; an
   * authentication that did not meet what the app required (step-up) is unmet_authentication_requirements.
   */
  @Get(':uid/abort')
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
   * The continue step of the SAML login, the same-site GET the ACS redirects to: the browser that started
   * the login takes the verified login, the user is signed in to the bridge (session cookie: SLO and
   * RP-initiated logout end it), and the interaction finishes, all in this one request.
   */
  @Get(':uid/callback')
  async callback(
    @Param('uid') uid: string,
    @Query('code') code: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const details = await this.details(req, res);
    if (!details || details.uid !== uid) return this.expired(res);
    res.setHeader('Cache-Control', 'no-store');
    // Refusals of the login itself (used, expired, another browser) end on the error page, as the ACS's.
    const login = await this.logins.take(code, readCookie(req, browserCookieName(this.config)));
    if (login.state.interaction !== uid) {
      await finishInteraction(details, res, {
        error: 'access_denied',
        error_description: 'The sign-in did not complete.',
      });
      return;
    }
    let signedIn: Awaited<ReturnType<AppSignInService['signIn']>>;
    try {
      signedIn = await this.signIns.signIn(login, login.state.clientId);
    } catch (err) {
      // Disabled or deprovisioned since the ACS checked: the app hears it, as from the ACS (abort).
      if (!(err instanceof SamlRejection)) throw err;
      if (err.reason !== 'saml_user_disabled' && err.reason !== 'user_deprovisioned') throw err;
      await finishInteraction(details, res, {
        error: 'access_denied',
        error_description: refusalDescription(err.reason),
      });
      return;
    }
    const { user, session, sessionToken } = signedIn;
    setSessionCookie(res, this.config, sessionToken, session.expiresAt);
    const { connection } = login;
    const client = await this.clients.find(String((details.params as Record<string, unknown>).client_id));
    if (!client) {
      await finishInteraction(details, res, {
        error: 'access_denied',
        error_description: 'The account is disabled or unknown.',
      });
      return;
    }
    if (client.allowedConnections && !client.allowedConnections.includes(connection.slug)) {
      await finishInteraction(details, res, {
        error: 'access_denied',
        error_description: `This app may not use the connection "${connection.slug}".`,
      });
      return;
    }
    // acr / amr say what the IdP reported, through the connection's acr map (see step-up.ts).
    const { acr, amr } = idTokenAuthn(
      session.authnContextClassRef,
      acrMapOf(connection),
      appAuthnRequest(details.params as Record<string, unknown>, []).acrValues,
    );
    await finishInteraction(
      details,
      res,
      {
        login: {
          accountId: user.id,
          acr,
          amr,
          ts: Math.floor((session.authnInstant ?? session.createdAt).getTime() / 1000),
        },
        // Consent is implicit (see loadImplicitGrant): answering it with the login saves a round trip.
        consent: {},
      },
      { mergeWithLastSubmission: false },
    );
  }
}
