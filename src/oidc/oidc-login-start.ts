import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Request, Response } from 'express';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ConnectionLookup } from '../connections/connection-lookup';
import { acrMapOf } from '../connections/connection-presets';
import type { OutgoingMessage } from '../saml/login.port';
import type { RequestedAuthn } from '../saml/requested-authn';
import { ensureBrowserBinding } from '../saml/session-cookie';
import { OidcClientsService } from './oidc-clients.service';
import { OidcLoginConsumer } from './oidc-login.consumer';
import { interactionPath, OidcProviderHost } from './oidc-provider.host';
import { appAuthnRequest, requestedAuthnFor, UNMET_AUTHENTICATION_REQUIREMENTS } from './step-up';

export type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;
export type InteractionResult = Parameters<Provider['interactionFinished']>[2];
type Choice = { slug: string } | { discovery: string | null } | { denied: string };

/** What the start of an interaction does. */
export type StartPlan =
  /** Finish the interaction with this result (a refusal, or consent, which is implicit). */
  | { finish: InteractionResult; merge: boolean }
  /** Ask for the user's work email (home-realm discovery), with this message (null: none yet). */
  | { discovery: string | null }
  /** Sign in at this connection, asking the IdP for `authn` (step-up). */
  | { login: { slug: string; clientId: string; authn?: RequestedAuthn } };

/**
 * The start of an OIDC interaction: which connection (parameter, login_hint domain, or the home-realm
 * discovery page), what the app's step-up asks of the IdP, and the SAML login's AuthnRequest. Used by the
 * interaction page (`/oidc/interaction/:uid`) and, for the common case, by the authorization request
 * itself: when the authorization needs a login and the connection is known, the answer to `/oidc/auth` is
 * the AuthnRequest (one hop fewer), not a redirect to the interaction page. Anything else (discovery,
 * refusals, consent) still goes to the interaction page, which renders it.
 */
@Injectable()
export class OidcLoginStart implements OnModuleInit {
  private readonly logger = new Logger('OidcLoginStart');

  constructor(
    private readonly host: OidcProviderHost,
    private readonly logins: OidcLoginConsumer,
    private readonly clients: OidcClientsService,
    private readonly connections: ConnectionLookup,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  onModuleInit(): void {
    this.host.use((provider) => provider.use((ctx, next) => this.startAtAuthorization(ctx, next)));
  }

  /** What starting `interaction` does, `email` being what the discovery page asked (undefined: not asked). */
  async plan(interaction: Interaction, email: string | undefined): Promise<StartPlan> {
    const params = interaction.params as Record<string, unknown>;
    const client = await this.clients.find(String(params.client_id));
    if (!client) return { finish: { error: 'access_denied', error_description: 'Unknown app' }, merge: true };
    // Consent (prompt=consent, or a native app): apps are registered by the bridge's admin, so what they
    // ask for is granted; loadImplicitGrant gives the grant its scopes when the authorization resumes.
    if (interaction.prompt.name !== 'login') return { finish: { consent: {} }, merge: true };
    const choice = await this.choose(params, email, client.allowedConnections);
    if ('denied' in choice) {
      return { finish: { error: 'access_denied', error_description: choice.denied }, merge: true };
    }
    if ('discovery' in choice) return choice;
    // Step-up: acr_values / claims, max_age and prompt=login become ForceAuthn and RequestedAuthnContext.
    const connection = await this.connections.bySlug(choice.slug);
    const stepUp = requestedAuthnFor(
      appAuthnRequest(params, interaction.prompt.reasons),
      connection ? acrMapOf(connection) : [],
    );
    if ('unmet' in stepUp) {
      return {
        finish: { error: UNMET_AUTHENTICATION_REQUIREMENTS, error_description: stepUp.unmet },
        merge: true,
      };
    }
    return { login: { slug: choice.slug, clientId: client.clientId, authn: stepUp.authn } };
  }

  /** The connection for the app's request: its `connection` parameter, the email's domain, or the only one allowed. */
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

  /** The AuthnRequest of a planned login, bound to this browser (its binding cookie, set if new). */
  send(
    interaction: Interaction,
    login: { slug: string; clientId: string; authn?: RequestedAuthn },
    req: Request,
    res: Response,
  ): Promise<OutgoingMessage> {
    const binding = ensureBrowserBinding(req, res, this.config);
    return this.logins.start(
      login.slug,
      { interaction: interaction.uid, clientId: login.clientId },
      binding,
      login.authn,
    );
  }

  /**
   * After oidc-provider answered an authorization request with "go to the interaction page": when that
   * page would only send the browser on to the IdP, the AuthnRequest is this request's answer instead.
   * Any other plan, or any failure, leaves oidc-provider's answer as it is (the interaction page renders
   * it). The response is still koa's: it is written after every middleware, the adapter's writes included.
   */
  private async startAtAuthorization(
    ctx: Parameters<Parameters<Provider['use']>[0]>[0],
    next: () => Promise<unknown>,
  ) {
    await next();
    const oidc = (ctx as unknown as KoaContextWithOIDC).oidc;
    const interaction = oidc?.entities?.Interaction as Interaction | undefined;
    if (oidc?.route !== 'authorization' || ctx.status !== 303 || !interaction) return;
    if (ctx.response.get('Location') !== interactionPath(interaction.uid)) return;
    try {
      const plan = await this.plan(interaction, undefined);
      if (!('login' in plan)) return;
      const message = await this.send(interaction, plan.login, ctx.req as Request, ctx.res as Response);
      ctx.set('Cache-Control', 'no-store');
      if (message.kind === 'redirect') {
        ctx.redirect(message.url);
        ctx.status = 303;
        return;
      }
      ctx.status = 200;
      ctx.set('Content-Security-Policy', message.csp);
      ctx.type = 'html';
      ctx.body = message.html;
    } catch (err) {
      // The interaction page starts the login again, and shows what went wrong if it does again.
      this.logger.warn(`Login start at the authorization request deferred: ${(err as Error).message}`);
    }
  }
}
