import { Controller, Get, Inject, Param, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type Provider from 'oidc-provider';
import { DataSource } from 'typeorm';
import { Public } from '../common/public.decorator';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ConnectionLookup } from '../connections/connection-lookup';
import { isDatabaseUnavailable } from '../database/database-errors';
import { messagePage, messagePageWith } from '../saml/html';
import { html, render } from '../web/html';
import { LoginSessionsService } from '../saml/login-sessions.service';
import { SamlPageFilter } from '../saml/saml-page.filter';
import { SamlService, sendOutgoing } from '../saml/saml.service';
import { ensureBrowserBinding, readCookie, sessionCookieName } from '../saml/session-cookie';
import { UsersService } from '../users/users.service';
import { OidcClientsService } from './oidc-clients.service';
import { OidcProviderHost } from './oidc-provider.host';

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
 * home-realm discovery page), runs the SAML login, and finishes the interaction from the same-site GET
 * the SAML continue step redirects to. Consent is implicit: apps are registered by the admin.
 */
@ApiExcludeController()
@Public()
@UseFilters(SamlPageFilter)
@Controller('oidc/interaction')
export class OidcInteractionController {
  constructor(
    private readonly host: OidcProviderHost,
    private readonly saml: SamlService,
    private readonly sessions: LoginSessionsService,
    private readonly users: UsersService,
    private readonly clients: OidcClientsService,
    private readonly dataSource: DataSource,
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
      const matches: Array<{ slug: string }> = await this.dataSource.query(
        `SELECT slug FROM connections WHERE enabled AND $1 = ANY(domains) ORDER BY slug`,
        [domain],
      );
      const usable = matches.filter((m) => permitted(m.slug));
      if (usable.length === 1) return { slug: usable[0].slug };
      if (email !== undefined) {
        return {
          discovery:
            usable.length === 0
              ? `No sign-in is set up for ${domain}.`
              : `Several sign-ins match ${domain}; ask your administrator.`,
        };
      }
    }
    if (allowed && allowed.length === 1) return { slug: allowed[0] };
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
      const binding = ensureBrowserBinding(req, res, this.config);
      const message = await this.saml.startLogin(choice.slug, `/oidc/interaction/${uid}/callback`, binding, {
        interaction: uid,
        clientId: client.clientId,
      });
      sendOutgoing(res, message);
      return;
    }
    // Consent (prompt=consent, or a native app): apps are registered by the bridge's admin, so what they
    // ask for is granted; loadImplicitGrant gives the grant its scopes when the authorization resumes.
    await finishInteraction(details, res, { consent: {} }, { mergeWithLastSubmission: true });
  }

  /** A SAML login that failed in a way the app must hear about (e.g. a disabled account): access_denied. */
  @Get(':uid/abort')
  async abort(
    @Param('uid') uid: string,
    @Query('reason') reason: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const details = await this.details(req, res);
    if (!details || details.uid !== uid) return this.expired(res);
    await finishInteraction(details, res, {
      error: 'access_denied',
      error_description:
        reason === 'saml_user_disabled'
          ? 'The account is disabled.'
          : reason === 'user_deprovisioned'
            ? 'The account was deprovisioned by the directory.'
            : 'The sign-in failed.',
    });
  }

  /** The same-site GET the SAML login returns to: the bridge session becomes the OIDC login. */
  @Get(':uid/callback')
  async callback(@Param('uid') uid: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const details = await this.details(req, res);
    if (!details || details.uid !== uid) return this.expired(res);
    res.setHeader('Cache-Control', 'no-store');
    const session = await this.sessions.findActive(readCookie(req, sessionCookieName(this.config)));
    const user = session ? await this.users.findActive(session.userId) : null;
    const client = await this.clients.find(String((details.params as Record<string, unknown>).client_id));
    const connection = session ? await this.connections.byId(session.connectionId) : null;
    if (!session || !user || !client || !connection) {
      await finishInteraction(details, res, {
        error: 'access_denied',
        error_description: !session ? 'The sign-in did not complete.' : 'The account is disabled or unknown.',
      });
      return;
    }
    if (
      !connection.enabled ||
      (client.allowedConnections && !client.allowedConnections.includes(connection.slug))
    ) {
      await finishInteraction(details, res, {
        error: 'access_denied',
        error_description: `This app may not use the connection "${connection.slug}".`,
      });
      return;
    }
    await finishInteraction(
      details,
      res,
      {
        login: {
          accountId: user.id,
          acr: session.authnContextClassRef ?? undefined,
          amr: ['ext'],
          ts: Math.floor((session.authnInstant ?? session.createdAt).getTime() / 1000),
        },
        // Consent is implicit (see loadImplicitGrant): answering it with the login saves a round trip.
        consent: {},
      },
      { mergeWithLastSubmission: false },
    );
  }
}
