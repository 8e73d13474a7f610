import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { hkdfSync, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { sha256 } from '../common/sha256';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ACR_MFA, ACR_SFA } from '../connections/connection-presets';
import { isDatabaseUnavailable } from '../database/database-errors';
import { PeriodicJobs } from '../database/periodic-jobs';
import { MetricsService } from '../metrics/metrics.service';
import { OutboundHttp } from '../platform/http/outbound';
import { addLogContext } from '../logging/logger';
import { errorPage, messagePage, messagePageWith } from '../saml/html';
import { html, render, trusted } from '../web/html';
import { groupsClaim } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { loadImplicitGrant } from './implicit-grant';
import { JwtAccessTokens, JWT_ACCESS_TOKEN_AUDIENCE } from './jwt-access-tokens';
import { JwtUserinfo } from './jwt-userinfo';
import { confirmByGet, confirmLocation, hintMatchesSession } from './logout-without-script';
import { signedInAccount } from './signed-in-account';
import { accountFetchedAhead, createOidcAdapter, UnsavedOidcWrites, withRequestWrites } from './oidc-adapter';
import { OidcStorageRepository } from './oidc-storage.repository';
import type { ClientLifetimes } from './oidc-client.entity';
import { OidcClientsService } from './oidc-clients.service';
import { OidcReplayReporter } from './oidc-replays';
import { OidcSigningKeysService } from './oidc-signing-keys.service';
import { runInBackground } from '../common/background';
import { displayNameOf } from '../users/display-name';

const DATABASE_UNAVAILABLE = 'The service is temporarily unavailable (database). Retry shortly.';

/** The audience of access tokens (RFC 8707 resource) that internal apps and their APIs accept. */
export const API_RESOURCE = JWT_ACCESS_TOKEN_AUDIENCE;
/** The scope of that resource (the only one it has). */
export const API_SCOPE = 'api';
/** How often an instance checks whether the signing keys changed (rotation on another instance). */
export const KEYS_CHECK_MS = 10_000;

/** The revocation list of JWT access tokens (a Nest route, not oidc-provider's; see RevokedJtisController). */
export const REVOKED_JTIS_PATH = '/oidc/revoked-jtis';

/**
 * The SAML login's continue step (the same-site GET the ACS sends the browser to), under the authorization
 * resume's path so that the browser sends oidc-provider's resume cookie with it: the interaction callback
 * finishes the interaction and the authorization resumes in the same request (OidcInteractionController).
 */
export const LOGIN_CONTINUE_PATH = /^\/oidc\/auth\/[^/]+\/continue$/;

/** The interaction page oidc-provider sends the browser to (`interactions.url`), a Nest route. */
export function interactionPath(uid: string): string {
  return `/oidc/interaction/${uid}`;
}

export const OIDC_ROUTES = {
  authorization: '/oidc/auth',
  token: '/oidc/token',
  jwks: '/oidc/jwks',
  userinfo: '/oidc/me',
  introspection: '/oidc/token/introspection',
  revocation: '/oidc/token/revocation',
  end_session: '/oidc/session/end',
  backchannel_authentication: '/oidc/backchannel',
  code_verification: '/oidc/device',
  device_authorization: '/oidc/device/auth',
  pushed_authorization_request: '/oidc/request',
  registration: '/oidc/reg',
  challenge: '/oidc/challenge',
} as const;

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Answers a retryable 503 (the database is unavailable): an error page for a page, JSON for an API. */
function databaseUnavailable(ctx: KoaContextWithOIDC): void {
  const page = typeof ctx.body === 'string';
  ctx.status = 503;
  ctx.set('Retry-After', '2');
  addLogContext(ctx.res, { outcome: 'database_unavailable' });
  if (page) ctx.type = 'html';
  ctx.body = page
    ? errorPage({
        title: 'Service unavailable',
        message: DATABASE_UNAVAILABLE,
        reason: 'database_unavailable',
      })
    : { error: 'temporarily_unavailable', error_description: DATABASE_UNAVAILABLE };
}

/** What an app's JWT access tokens are signed with (its setting; RS256 unless it chose ES256). */
const accessTokenSigningAlg = (client: { [key: string]: unknown }): 'RS256' | 'ES256' =>
  client['urn:saml-bridge:access_token_signing_alg'] === 'ES256' ? 'ES256' : 'RS256';

const lifetimes = (client: { [key: string]: unknown } | undefined): ClientLifetimes =>
  ((client?.['urn:saml-bridge:lifetimes'] as ClientLifetimes | undefined) ?? {}) as ClientLifetimes;

/**
 * Hosts oidc-provider inside the Nest app: builds it from the database (clients, signing keys, storage),
 * rebuilds it when the signing keys change (rotation on any instance, noticed within KEYS_CHECK_MS),
 * and serves its routes (discovery, JWKS, authorize, token, userinfo, introspection, revocation, logout).
 */
@Injectable()
export class OidcProviderHost implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('OidcProvider');
  private provider?: Provider;
  private handler?: Handler;
  private keysVersion = '';
  private checkedAt = 0;
  private building?: Promise<Provider>;
  private readonly plugins: Array<(provider: Provider) => void> = [];

  constructor(
    private readonly storage: OidcStorageRepository,
    private readonly keys: OidcSigningKeysService,
    private readonly clients: OidcClientsService,
    private readonly users: UsersService,
    private readonly jobs: PeriodicJobs,
    private readonly metrics: MetricsService,
    private readonly replays: OidcReplayReporter,
    private readonly outbound: OutboundHttp,
    private readonly jwtTokens: JwtAccessTokens,
    private readonly jwtUserinfo: JwtUserinfo,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.keys.ensureKeys();
    await this.current();
  }

  onApplicationBootstrap(): void {
    this.jobs.schedule({
      name: 'oidc-purge',
      periodMs: 15 * 60_000,
      run: () => this.storage.deleteExpired(),
    });
    // Revoked-jti list: tokens of grants ended mid-issuance revoked, expired tokens' rows dropped.
    this.jobs.schedule({ name: 'oidc-jwt-sweep', periodMs: 60_000, run: () => this.jwtTokens.sweep() });
    if (this.config.oidcKeyRotationDays > 0) {
      this.jobs.schedule({
        name: 'oidc-key-rotation',
        periodMs: this.config.oidcKeyRotationDays * 86_400_000,
        startImmediately: false,
        run: async () => {
          await this.keys.rotate();
          await this.current(true);
        },
      });
    }
  }

  /** Adds behaviour to the provider (Koa middleware, events); applied now and to every rebuilt provider. */
  use(plugin: (provider: Provider) => void): void {
    this.plugins.push(plugin);
    if (this.provider) {
      plugin(this.provider);
      // Koa composes its middleware when the callback is made.
      this.handler = this.provider.callback() as Handler;
    }
  }

  /** The provider for the current key set (rebuilt after a rotation). */
  async current(force = false): Promise<Provider> {
    const now = Date.now();
    if (this.provider && !force && now - this.checkedAt < KEYS_CHECK_MS) return this.provider;
    if (this.building) return this.building;
    this.building = (async () => {
      try {
        const version = await this.keys.version();
        this.checkedAt = Date.now();
        if (!this.provider || version !== this.keysVersion) {
          this.provider = await this.build();
          this.handler = this.provider.callback() as Handler;
          this.keysVersion = version;
        }
        return this.provider;
      } finally {
        this.building = undefined;
      }
    })();
    return this.building;
  }

  /** Express middleware: the provider's routes go to oidc-provider, everything else to Nest. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const path = req.path;
      const mine =
        path === '/.well-known/openid-configuration' ||
        (path.startsWith('/oidc/') &&
          !path.startsWith('/oidc/interaction/') &&
          path !== REVOKED_JTIS_PATH &&
          !LOGIN_CONTINUE_PATH.test(path));
      if (!mine) return next();
      this.current()
        .then(async (provider) => {
          // userinfo with the API's JWT access token (the default apps' token): see JwtUserinfo.
          const auth = req.headers.authorization;
          if (path === OIDC_ROUTES.userinfo && auth?.startsWith('Bearer ')) {
            const standIn = await this.jwtUserinfo.standIn(provider, auth.slice(7).trim());
            if (standIn) req.headers.authorization = `Bearer ${standIn}`;
          }
          (this.handler as Handler)(req, res);
        })
        .catch((err: unknown) => next(err));
    };
  }

  /**
   * Hands a request to the provider at `url` (one of its own routes), from a Nest route that did its part
   * first: the provider answers it, as if the browser had asked for `url` (same cookies, same response).
   */
  async handOver(req: Request, res: Response, url: string): Promise<void> {
    await this.current();
    req.url = url;
    // Koa answers every outcome itself (oidc-provider's error handler included) and resolves when done.
    await (this.handler as Handler)(req, res);
  }

  private async build(): Promise<Provider> {
    const { default: ProviderClass, errors } = await import('oidc-provider');
    /** The provider being built (the adapter's hooks run once it serves requests). */
    const built: { provider?: Provider } = {};
    /** Requests whose redemption lost a race: their grant.revoked is not a sequential replay. */
    const lostRaces = new WeakSet<object>();
    const jwks = await this.keys.privateJwks();
    this.jwtTokens.useKeys(jwks);
    const users = this.users;
    const storage = this.storage;
    const accountsByRequest = new WeakMap<object, Map<string, ReturnType<UsersService['findActive']>>>();
    // Cookie keys: the first signs; the previous secret's key still verifies while BRIDGE_SECRET rotates.
    const cookieKeys = [this.config.bridgeSecret, this.config.bridgeSecretPrevious]
      .filter((secret): secret is string => secret !== undefined)
      .map((secret) =>
        Buffer.from(
          hkdfSync('sha256', Buffer.from(secret), Buffer.alloc(0), 'saml-bridge:oidc-cookies', 32),
        ).toString('base64url'),
      );

    const secure = this.config.baseUrl.startsWith('https:');
    const domain = this.config.cookieDomain ? { domain: this.config.cookieDomain } : {};
    const configuration: Configuration = {
      adapter: createOidcAdapter(this.storage, (id) => this.clients.find(id), {
        lostRedemptionError: (model) =>
          new errors.InvalidGrant(
            model === 'RefreshToken' ? 'refresh token already used' : 'authorization code already consumed',
          ),
        lostRedemption: async (lost) => {
          const ctx = ProviderClass.ctx as KoaContextWithOIDC | undefined;
          await this.replays.lost(lost, ctx?.oidc?.client?.clientId ?? null);
          // The grant is revoked as oidc-provider's own revoke() would: tell its listeners (session fan-out).
          if (ctx && lost.grantId) {
            lostRaces.add(ctx);
            built.provider?.emit('grant.revoked', ctx, lost.grantId);
          }
        },
      }) as unknown as Configuration['adapter'],
      jwks: { keys: jwks as unknown as NonNullable<Configuration['jwks']>['keys'] },
      cookies: {
        keys: cookieKeys,
        long: { httpOnly: true, sameSite: 'lax', secure, ...domain },
        short: { httpOnly: true, sameSite: 'lax', secure, ...domain },
      },
      routes: OIDC_ROUTES,
      // Its outgoing requests (apps' jwks_uri, back-channel logout after RP-initiated logout) go through the
      // bridge's outbound policy, not oidc-provider's own special-use-address guard (which refuses the private
      // networks internal apps run on, and cannot be installed under every runtime).
      fetch: this.outbound.providerFetch() as unknown as Configuration['fetch'],
      scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
      claims: {
        acr: null,
        amr: null,
        auth_time: null,
        sid: null,
        iss: null,
        // acr / amr / auth_time from the SAML login go into every ID token (not only when requested).
        openid: ['sub', 'acr', 'amr', 'auth_time'],
        email: ['email', 'email_verified'],
        profile: ['name', 'given_name', 'family_name'],
        groups: ['groups'],
      },
      conformIdTokenClaims: false,
      // The acr values the connection presets map (acr_values_supported); a connection's own map may add more.
      acrValues: [ACR_MFA, ACR_SFA],
      // Extra discovery metadata (oidc-provider adds these keys to its own).
      discovery: { revoked_jtis_endpoint: `${this.config.issuer}${REVOKED_JTIS_PATH}` },
      formats: {
        customizers: {
          // JWT access tokens issued under a grant are recorded (jti, grant, exp), so that ending the grant
          // revokes them. client_credentials tokens have no grant: nothing is written on that path.
          jwt: async (_ctx, token, parts) => {
            const { grantId, accountId, clientId } = token as {
              grantId?: string;
              accountId?: string;
              clientId?: string;
            };
            if (token.kind !== 'AccessToken' || !grantId || !accountId || !clientId) return;
            await this.jwtTokens.record({
              jti: String(parts.payload.jti),
              grantId,
              accountId,
              clientId,
              exp: Number(parts.payload.exp),
            });
          },
        },
      },
      extraParams: ['connection'],
      extraClientMetadata: {
        properties: [
          'urn:saml-bridge:access_token_format',
          'urn:saml-bridge:access_token_signing_alg',
          'urn:saml-bridge:allowed_connections',
          'urn:saml-bridge:lifetimes',
        ],
      },
      pkce: { required: () => true },
      rotateRefreshToken: true,
      features: {
        devInteractions: { enabled: false },
        // Step-up: an essential acr is asked with claims={"id_token":{"acr":{"essential":true,…}}}.
        claimsParameter: { enabled: true },
        clientCredentials: { enabled: true },
        // An app may introspect its own tokens; a service app (client_credentials, e.g. an API) any token.
        introspection: {
          enabled: true,
          allowedPolicy: async (_ctx, client, token) =>
            token.clientId === client.clientId || Boolean(client.grantTypes?.includes('client_credentials')),
        },
        // An app may revoke only the tokens issued to it.
        revocation: {
          enabled: true,
          allowedPolicy: async (
            _ctx: KoaContextWithOIDC,
            client: { clientId: string },
            token: { clientId?: string },
          ) => token.clientId === client.clientId,
        },
        rpInitiatedLogout: {
          enabled: true,
          // The app named this user and session with id_token_hint: sign out at once, without a page or a
          // script (a 303 to the confirmation, see logout-without-script.ts). Otherwise the user confirms.
          logoutSource: async (ctx: KoaContextWithOIDC, form: string) => {
            const confirm = hintMatchesSession(ctx) ? confirmLocation(ctx) : undefined;
            if (confirm) {
              ctx.status = 303;
              ctx.redirect(confirm);
              return;
            }
            ctx.set(
              'Content-Security-Policy',
              `default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'`,
            );
            ctx.type = 'html';
            // `form` is oidc-provider's own logout form (its markup, with its XSRF token).
            ctx.body = render(
              messagePageWith(
                'Sign out',
                html`${trusted(form)}<p>Sign out of every app that uses this sign-in?</p><p><button autofocus type="submit" form="op.logoutForm" value="yes" name="logout" id="yes">Sign out</button> <button type="submit" form="op.logoutForm">Stay signed in</button></p>`,
              ),
            );
          },
          postLogoutSuccessSource: async (ctx: KoaContextWithOIDC) => {
            ctx.type = 'html';
            ctx.body = messagePage('Signed out', 'You are signed out.');
          },
        },
        backchannelLogout: { enabled: true },
        resourceIndicators: {
          enabled: true,
          // JWT-format apps get RFC 9068 access tokens for the API (verified offline); opaque-format apps get
          // tokens for userinfo and introspection.
          defaultResource: (_ctx: KoaContextWithOIDC, client: { [key: string]: unknown }) =>
            client['urn:saml-bridge:access_token_format'] === 'opaque' ? undefined : API_RESOURCE,
          useGrantedResource: () => true,
          getResourceServerInfo: (
            _ctx: KoaContextWithOIDC,
            resource: string,
            client: { [key: string]: unknown },
          ) => {
            if (resource !== API_RESOURCE) throw new errors.InvalidTarget();
            const format = client['urn:saml-bridge:access_token_format'] === 'opaque' ? 'opaque' : 'jwt';
            return {
              scope: API_SCOPE,
              audience: API_RESOURCE,
              accessTokenTTL: lifetimes(client).accessTokenSeconds ?? 3600,
              accessTokenFormat: format,
              ...(format === 'jwt' ? { jwt: { sign: { alg: accessTokenSigningAlg(client) } } } : {}),
            };
          },
        },
      },
      ttl: {
        AuthorizationCode: 60,
        AccessToken: (_ctx, _token, client) =>
          lifetimes(client as unknown as { [key: string]: unknown }).accessTokenSeconds ?? 3600,
        ClientCredentials: (_ctx, _token, client) =>
          lifetimes(client as unknown as { [key: string]: unknown }).accessTokenSeconds ?? 3600,
        IdToken: (_ctx, _token, client) =>
          lifetimes(client as unknown as { [key: string]: unknown }).idTokenSeconds ?? 3600,
        RefreshToken: (_ctx, _token, client) =>
          lifetimes(client as unknown as { [key: string]: unknown }).refreshTokenSeconds ?? 14 * 86400,
        Interaction: 600,
        Session: 14 * 86400,
        Grant: 14 * 86400,
      },
      interactions: { url: (_ctx, interaction) => interactionPath(interaction.uid) },
      // Consent is implicit: the grant is created or topped up before the interaction policy runs.
      loadExistingGrant: loadImplicitGrant,
      findAccount: async (ctx, sub) => {
        // oidc-provider asks for the same account several times while answering one request: read it once.
        let perRequest = ctx ? accountsByRequest.get(ctx) : undefined;
        if (ctx && !perRequest) accountsByRequest.set(ctx, (perRequest = new Map()));
        let pending = perRequest?.get(sub);
        if (!pending) {
          // The user just signed in (the continue step), or read with the code or token this request
          // presents (the token endpoint, userinfo: the same statement), or else read now.
          const known = signedInAccount(ctx?.req, sub);
          const ahead = known ? undefined : accountFetchedAhead(storage, sub);
          if (known) pending = Promise.resolve(known);
          else if (ahead !== undefined) pending = Promise.resolve(users.activeFromJson(ahead));
          else pending = users.findActive(sub);
          perRequest?.set(sub, pending);
        }
        const user = await pending;
        if (!user) return undefined;
        return {
          accountId: sub,
          claims: async () => ({
            sub,
            email: user.email ?? undefined,
            email_verified: user.email ? user.emailVerified : undefined,
            name: displayNameOf(user) ?? undefined,
            given_name: user.givenName ?? undefined,
            family_name: user.familyName ?? undefined,
            groups: groupsClaim(user),
          }),
        };
      },
      renderError: async (ctx, out, error) => {
        ctx.type = 'html';
        // The authorization endpoint renders after its server_error event: keep that 503's reason.
        if (isDatabaseUnavailable(error)) {
          ctx.status = 503;
          ctx.set('Retry-After', '2');
          ctx.body = errorPage({
            title: 'Service unavailable',
            message: DATABASE_UNAVAILABLE,
            reason: 'database_unavailable',
          });
          return;
        }
        ctx.body = errorPage({
          title: 'Sign-in failed',
          message: String(out.error_description ?? out.error),
          reason: String(out.error),
        });
      },
    };
    const provider = new ProviderClass(this.config.issuer, configuration);
    built.provider = provider;
    provider.proxy = this.config.trustProxy;
    // Client secrets are stored as SHA-256 hashes: compare the hash of what the app presents.
    provider.Client.prototype.compareClientSecret = function (
      this: { clientSecret?: string },
      actual: string,
    ) {
      const expected = Buffer.from(this.clientSecret ?? '', 'hex');
      const given = Buffer.from(sha256(String(actual)), 'hex');
      return Promise.resolve(expected.length === given.length && timingSafeEqual(expected, given));
    };
    // Every ID token carries the session id (sid), so any app can match a later logout to its session.
    provider.Client.prototype.includeSid = () => true;
    provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
      const grantType = String(ctx.oidc.params?.grant_type ?? 'unknown');
      this.metrics.tokenGrants.inc({ grant_type: grantType });
      addLogContext(ctx.res, { client: ctx.oidc.client?.clientId, grant: grantType, outcome: 'success' });
    });
    // On the token endpoint oidc-provider revokes a grant only for a replay (a used code or refresh token).
    provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
      // A lost race was reported by the adapter already (as concurrent).
      if (ctx.oidc.route !== 'token' || lostRaces.has(ctx)) return;
      runInBackground(
        'Replay report',
        this.replays.report({
          artefact: OidcReplayReporter.artefact(String(ctx.oidc.params?.grant_type ?? 'unknown')),
          timing: 'sequential',
          grantId,
          clientId: ctx.oidc.client?.clientId ?? null,
        }),
      );
    });
    // Outermost: one unit of work per request for the adapter's writes, written in one statement before the
    // response (one commit per step on the login path; see withRequestWrites). When they cannot be written,
    // nothing of them is and the answer is the database's 503, without the redirect or cookies it would
    // have sent for them.
    provider.use(async (ctx, next) => {
      try {
        await withRequestWrites(this.storage, next);
      } catch (err) {
        if (!(err instanceof UnsavedOidcWrites)) throw err;
        if (isDatabaseUnavailable(err))
          this.logger.warn({ err: err.cause }, `${err.message}: database unavailable`);
        else this.logger.error({ err: err.cause }, err.message);
        ctx.remove('Location');
        ctx.remove('Set-Cookie');
        databaseUnavailable(ctx as unknown as KoaContextWithOIDC);
      }
    });
    // Discovery's scopes_supported lists the OpenID scopes; the API's own scope (RFC 8707 resource
    // `urn:saml-bridge:api`, e.g. `scope=api` with client_credentials) is a scope apps ask for too.
    provider.use(async (ctx, next) => {
      await next();
      const body = ctx.body as { scopes_supported?: string[] } | undefined;
      if ((ctx as unknown as KoaContextWithOIDC).oidc?.route !== 'discovery' || !body?.scopes_supported)
        return;
      if (!body.scopes_supported.includes(API_SCOPE)) body.scopes_supported.push(API_SCOPE);
    });
    // Sign-out without a script: the confirmation may come as a GET (see logout-without-script.ts); with no
    // user signed in there is nothing to confirm, so oidc-provider's self-submitting form becomes a 303.
    provider.use((ctx, next) =>
      confirmByGet(ctx as unknown as KoaContextWithOIDC, next, `${OIDC_ROUTES.end_session}/confirm`),
    );
    provider.use(async (ctx, next) => {
      await next();
      const oidc = (ctx as unknown as KoaContextWithOIDC).oidc;
      if (oidc?.route !== 'end_session' || ctx.status !== 200 || oidc.session?.accountId) return;
      const confirm = confirmLocation(ctx as unknown as KoaContextWithOIDC);
      if (!confirm) return;
      ctx.status = 303;
      ctx.redirect(confirm);
    });
    // Introspection and revocation of JWT access tokens, which oidc-provider refuses (unsupported_token_type)
    // after it has authenticated the app: the bridge answers instead, with the same policies as for opaque
    // tokens (an app its own tokens; a service app any token at introspection).
    const structured = new WeakSet<object>();
    const markStructured = (ctx: KoaContextWithOIDC, err: unknown) => {
      if (err instanceof errors.UnsupportedTokenType) structured.add(ctx);
    };
    provider.on('introspection.error', markStructured);
    provider.on('revocation.error', markStructured);
    provider.use(async (ctx, next) => {
      await next();
      if (!structured.has(ctx)) return;
      const oidc = (ctx as unknown as KoaContextWithOIDC).oidc;
      const client = oidc.client;
      const token = (oidc.params as { token?: unknown } | undefined)?.token;
      if (!client || typeof token !== 'string') return;
      const claims = await this.jwtTokens.verify(token);
      const own = claims?.client_id === client.clientId;
      ctx.status = 200;
      if (oidc.route === 'revocation') {
        // RFC 7009: an invalid token, or another app's, is answered 200 and left alone.
        if (claims && own) await this.jwtTokens.revoke(claims);
        ctx.body = '';
        return;
      }
      const allowed = own || Boolean(client.grantTypes?.includes('client_credentials'));
      ctx.body = claims && allowed ? await this.jwtTokens.introspection(claims) : { active: false };
    });
    provider.on('grant.error', (ctx: KoaContextWithOIDC, err: Error & { error?: string }) =>
      addLogContext(ctx.res, { client: ctx.oidc.client?.clientId, outcome: err.error ?? 'error' }),
    );
    provider.on('server_error', (ctx: KoaContextWithOIDC, err: unknown) => {
      if (!isDatabaseUnavailable(err)) {
        this.logger.error({ err }, 'OpenID Provider error');
        return;
      }
      // The database is down (restart, failover): a retryable 503, not a 500 (emitted after the body is set).
      this.logger.warn({ err: (err as Error).message }, 'OpenID Provider: database unavailable');
      databaseUnavailable(ctx);
    });
    for (const plugin of this.plugins) plugin(provider);
    this.logger.log(`OpenID Provider ready (issuer ${this.config.issuer}, ${jwks.length} signing keys)`);
    return provider;
  }
}
