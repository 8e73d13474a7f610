import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

type OidcClient = typeof import('openid-client');
type Jose = typeof import('jose');

/**
 * A small internal app built with openid-client (code + PKCE, refresh, back-channel logout receiver), as a
 * company's developer would write it against the bridge.
 */
export class RelyingParty {
  readonly logoutTokens: Array<Record<string, unknown>> = [];
  tokens?: {
    access_token: string;
    refresh_token?: string;
    id_token?: string;
    claims?: Record<string, unknown>;
  };
  refreshed = 0;
  /** The `state` of each return to the post-logout URI. */
  readonly signedOutAt: string[] = [];
  private server?: Server;
  baseUrl = '';

  private constructor(
    private readonly oc: OidcClient,
    private readonly jose: Jose,
    private readonly issuer: string,
    private readonly connection: string,
  ) {}

  static async start(issuer: string, connection: string): Promise<RelyingParty> {
    const rp = new RelyingParty(await import('openid-client'), await import('jose'), issuer, connection);
    await rp.listen();
    return rp;
  }

  private async listen(): Promise<void> {
    const app = express();
    const pending = new Map<string, string>();
    let config: Awaited<ReturnType<OidcClient['discovery']>> | undefined;
    const oc = this.oc;
    const discover = async () => {
      config ??= await oc.discovery(new URL(this.issuer), this.clientId, this.clientSecret, undefined, {
        execute: [oc.allowInsecureRequests],
      });
      return config;
    };
    app.get('/login', async (_req, res, next) => {
      try {
        const verifier = oc.randomPKCECodeVerifier();
        const state = oc.randomState();
        pending.set(state, verifier);
        const url = oc.buildAuthorizationUrl(await discover(), {
          redirect_uri: `${this.baseUrl}/callback`,
          scope: 'openid email profile groups offline_access',
          code_challenge: await oc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          prompt: 'consent',
          state,
          connection: this.connection,
        });
        res.redirect(url.toString());
      } catch (err) {
        next(err);
      }
    });
    app.get('/callback', async (req, res, next) => {
      try {
        const current = new URL(req.originalUrl, this.baseUrl);
        const state = current.searchParams.get('state') ?? '';
        const tokens = await oc.authorizationCodeGrant(await discover(), current, {
          pkceCodeVerifier: pending.get(state),
          expectedState: state,
        });
        pending.delete(state);
        this.tokens = { ...tokens, claims: tokens.claims() as Record<string, unknown> | undefined };
        res.type('html').send(`<h1>Hello</h1><p id="email">${String(tokens.claims()?.email)}</p>`);
      } catch (err) {
        next(err);
      }
    });
    app.get('/refresh', async (_req, res, next) => {
      try {
        const tokens = await oc.refreshTokenGrant(await discover(), this.tokens?.refresh_token as string);
        this.tokens = {
          ...this.tokens,
          access_token: tokens.access_token,
          refresh_token: tokens.refresh_token,
          id_token: tokens.id_token,
        };
        this.refreshed++;
        res.type('html').send('<p id="refreshed">refreshed</p>');
      } catch (err) {
        next(err);
      }
    });
    // RP-initiated logout with the ID token as hint, back to the app's registered post-logout URI.
    app.get('/logout', async (_req, res, next) => {
      try {
        const url = oc.buildEndSessionUrl(await discover(), {
          id_token_hint: this.tokens?.id_token as string,
          post_logout_redirect_uri: `${this.baseUrl}/`,
          state: 'rp-logout',
        });
        res.redirect(url.toString());
      } catch (err) {
        next(err);
      }
    });
    app.get('/', (req, res) => {
      this.signedOutAt.push(String(req.query.state ?? ''));
      res.type('html').send('<h1>Signed out</h1><p id="signed-out">signed out</p>');
    });
    app.post('/backchannel-logout', express.urlencoded({ extended: false }), async (req, res) => {
      try {
        const jwks = this.jose.createRemoteJWKSet(new URL(`${this.issuer}/oidc/jwks`));
        const { payload } = await this.jose.jwtVerify(String(req.body.logout_token), jwks, {
          issuer: this.issuer,
          audience: this.clientId,
          typ: 'logout+jwt',
        });
        this.logoutTokens.push(payload);
        res.status(200).end();
      } catch {
        res.status(400).end();
      }
    });
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      void _next;
      const code = (err as Error & { error?: string }).error;
      res
        .status(500)
        .type('text')
        .send(`RP error: ${code ?? ''} ${err.message}`);
    });
    await new Promise<void>((resolve) => {
      this.server = app.listen(0, '127.0.0.1', () => resolve());
    });
    this.baseUrl = `http://localhost:${(this.server?.address() as AddressInfo).port}`;
  }

  clientId = '';
  clientSecret = '';

  /** What to register at the bridge for this app. */
  registration(name: string): Record<string, unknown> {
    return {
      name,
      redirectUris: [`${this.baseUrl}/callback`],
      postLogoutRedirectUris: [`${this.baseUrl}/`],
      backchannelLogoutUri: `${this.baseUrl}/backchannel-logout`,
    };
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}
