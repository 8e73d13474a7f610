import { inflateRawSync } from 'node:zlib';
import type { SamlConnectionFixture } from './saml-flow';
import { need } from './defined';

type OidcClient = typeof import('openid-client');

/** A network failure (instance down, connection reset), as opposed to an HTTP answer. */
export class InstanceUnreachable extends Error {}

/** A login that did not end with tokens; the caller may start a new one. */
export class LoginFailed extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** What a finished or failed login left behind, for checking later that none of it can be used again. */
export interface LoginEvidence {
  samlResponses: string[];
  /** Same-site continue URLs (path + query) the ACS handed out, with the cookies the browser had then. */
  continues: Array<{ path: string; cookie: string }>;
  codes: Array<{ code: string; verifier: string }>;
}

export interface LoginTarget {
  /** The public BASE_URL / issuer every instance shares (as behind a load balancer). */
  publicBase: string;
  /**
   * The instances (http://127.0.0.1:<port>) to send a request for `path` to, in order: the first that
   * answers serves it (the others are the load balancer's failover).
   */
  instances: (path: string) => string[];
  connection: Pick<SamlConnectionFixture, 'idp' | 'slug' | 'spEntityId' | 'acsUrl'>;
  client: { clientId: string; clientSecret: string; redirectUri: string };
}

/**
 * A browser-less user agent for the full OIDC → SAML login against several bridge instances: authorize,
 * AuthnRequest, a signed SAML response from the test IdP, ACS, continue, code, token (openid-client). Each
 * request goes to the instances the target names for it, failing over to the next when one is unreachable,
 * like a load balancer with retries.
 */
export class LoginClient {
  private oc?: OidcClient;
  /** Requests that found an instance unreachable and were sent to another one. */
  failovers = 0;

  constructor(private readonly target: LoginTarget) {}

  private async fetchAny(path: string, init: RequestInit): Promise<Response> {
    const instances = this.target.instances(path);
    let last: unknown;
    for (const base of instances) {
      try {
        // As a TLS-terminating load balancer does (the bridge runs with TRUST_PROXY=true).
        const headers = new Headers(init.headers);
        if (this.target.publicBase.startsWith('https:')) headers.set('x-forwarded-proto', 'https');
        return await fetch(`${base}${path}`, {
          ...init,
          headers,
          redirect: 'manual',
          signal: AbortSignal.timeout(15_000),
        });
      } catch (err) {
        last = err;
        this.failovers++;
      }
    }
    throw new InstanceUnreachable(`no instance answered ${path}: ${(last as Error)?.message}`);
  }

  private toPath(location: string): string {
    const u = new URL(location, this.target.publicBase);
    return u.pathname + u.search;
  }

  private discovered?: Promise<import('openid-client').Configuration>;

  /** The app's view of the issuer (discovery once, as apps cache it); requests go through `fetchAny`. */
  private async configuration() {
    this.oc ??= await import('openid-client');
    const oc = this.oc;
    const { client, publicBase } = this.target;
    const customFetch = (url: string, options: RequestInit) => this.fetchAny(this.toPath(url), options);
    this.discovered ??= oc
      .discovery(new URL(publicBase), client.clientId, client.clientSecret, undefined, {
        execute: [oc.allowInsecureRequests],
        [oc.customFetch]: customFetch as never,
      })
      .then((config) => {
        config[oc.customFetch] = customFetch as never;
        return config;
      });
    try {
      return { oc, config: await this.discovered };
    } catch (err) {
      this.discovered = undefined;
      throw err;
    }
  }

  /** A browser: a cookie jar, and requests that keep it up to date. */
  browser(): Browser {
    const jar = new Map<string, string>();
    const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const step = async (path: string, init: RequestInit = {}) => {
      const res = await this.fetchAny(path, {
        ...init,
        headers: { ...(init.headers ?? {}), cookie: cookie() },
      });
      for (const c of res.headers.getSetCookie()) {
        const pair = need(c.split(';')[0], 'a cookie name and value');
        const i = pair.indexOf('=');
        const name = pair.slice(0, i);
        const value = pair.slice(i + 1);
        if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) jar.delete(name);
        else jar.set(name, value);
      }
      await res.arrayBuffer();
      return res;
    };
    return { cookie, step };
  }

  /** An authorization request of the app: URL, PKCE verifier and state. */
  private async authorizationRequest(options: LoginOptions) {
    const { oc, config } = await this.configuration();
    const verifier = oc.randomPKCECodeVerifier();
    const state = oc.randomState();
    const url = oc.buildAuthorizationUrl(config, {
      redirect_uri: this.target.client.redirectUri,
      scope: options.scope ?? 'openid email',
      code_challenge: await oc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      connection: this.target.connection.slug,
      ...(options.prompt ? { prompt: options.prompt } : {}),
    });
    return { url, verifier, state };
  }

  /** Follows same-site redirects until `until(location)`; throws LoginFailed on anything else. */
  private async follow(browser: Browser, location: string, until: (l: string) => boolean, what: string) {
    for (let hop = 0; hop < 10 && !until(location); hop++) {
      location = expectRedirect(await browser.step(this.toPath(location)), what);
    }
    if (!until(location)) throw new LoginFailed(`${what}: too many redirects`);
    return location;
  }

  /** Exchanges the code at the app's redirect URI for tokens (openid-client, PKCE, state). */
  async exchange(callback: URL, verifier: string, state: string) {
    const { oc, config } = await this.configuration();
    return oc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
  }

  /** Refreshes (refresh tokens rotate: use the returned one next). */
  async refresh(refreshToken: string) {
    const { oc, config } = await this.configuration();
    return oc.refreshTokenGrant(config, refreshToken);
  }

  /** The first half of a login: authorize → interaction → the AuthnRequest the browser takes to the IdP. */
  async toIdp(options: LoginOptions = {}): Promise<PendingLogin> {
    const { connection } = this.target;
    const { url, verifier, state } = await this.authorizationRequest(options);
    const browser = options.browser ?? this.browser();
    // authorize → interaction → SAML login → the IdP (another site).
    const first = expectRedirect(await browser.step(url.pathname + url.search), 'authorize');
    const location = await this.follow(
      browser,
      first,
      (l) => l.startsWith(connection.idp.ssoUrl),
      'to the IdP',
    );
    const samlRequest = new URL(location).searchParams.get('SAMLRequest') as string;
    const requestId = /ID="([^"]+)"/.exec(inflateRawSync(Buffer.from(samlRequest, 'base64')).toString())?.[1];
    if (!requestId) throw new LoginFailed('the AuthnRequest has no ID');
    const relayState = new URL(location).searchParams.get('RelayState');
    return { browser, verifier, state, requestId, relayState };
  }

  /**
   * The second half up to the code: the IdP's signed response POSTed cross-site to the ACS, then the
   * interaction callback (the login's continue step) → authorize resume → the app's redirect URI with a code.
   */
  async fromIdp(pending: PendingLogin, nameId: string, email: string, evidence: LoginEvidence): Promise<URL> {
    const { client, connection } = this.target;
    const { browser, requestId, relayState } = pending;
    const xml = connection.idp.responseXml({
      spEntityId: connection.spEntityId,
      acsUrl: connection.acsUrl,
      inResponseTo: requestId,
      nameId,
      attributes: { email },
    }) as string;
    const samlResponse = Buffer.from(xml).toString('base64');
    evidence.samlResponses.push(samlResponse);
    const form = new URLSearchParams({
      SAMLResponse: samlResponse,
      ...(relayState ? { RelayState: relayState } : {}),
    });
    let location = expectRedirect(
      await browser.step(`/saml/${connection.slug}/acs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      }),
      'ACS',
    );
    evidence.continues.push({ path: this.toPath(location), cookie: browser.cookie() });
    location = await this.follow(
      browser,
      location,
      (l) => l.startsWith(client.redirectUri),
      'back to the app',
    );
    const callback = new URL(location);
    const code = callback.searchParams.get('code');
    if (!code) throw new LoginFailed(`no code: ${callback.searchParams.get('error') ?? location}`);
    evidence.codes.push({ code, verifier: pending.verifier });
    return callback;
  }

  /**
   * Logs `nameId` in through the IdP; returns the tokens and the browser (whose bridge session gives
   * further codes without the IdP: `mintCode`). Throws LoginFailed or InstanceUnreachable.
   */
  async login(
    nameId: string,
    email: string,
    evidence: LoginEvidence,
    options: LoginOptions = {},
  ): Promise<{
    idToken: string;
    accessToken: string;
    refreshToken?: string;
    sub: string;
    browser: Browser;
    /** The AuthnRequest ID the IdP answered (the login's `inResponseTo`). */
    requestId: string;
    /** The authorization code these tokens were redeemed for. */
    code: string;
  }> {
    const pending = await this.toIdp(options);
    const callback = await this.fromIdp(pending, nameId, email, evidence);
    const tokens = await this.exchange(callback, pending.verifier, pending.state);
    const claims = tokens.claims();
    if (!claims || claims.email !== email) throw new LoginFailed('the ID token does not carry the email');
    return {
      idToken: tokens.id_token as string,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      sub: claims.sub,
      browser: pending.browser,
      requestId: pending.requestId,
      code: callback.searchParams.get('code') as string,
    };
  }

  /** With a signed-in browser: a new authorization code from the bridge session (SSO, no IdP trip). */
  async mintCode(browser: Browser, options: LoginOptions = {}) {
    const { url, verifier, state } = await this.authorizationRequest(options);
    const first = expectRedirect(await browser.step(url.pathname + url.search), 'authorize');
    const redirectUri = this.target.client.redirectUri;
    const callback = new URL(await this.follow(browser, first, (l) => l.startsWith(redirectUri), 'SSO'));
    if (!callback.searchParams.get('code'))
      throw new LoginFailed(`no code: ${callback.searchParams.get('error') ?? callback.href}`);
    return { callback, verifier, state };
  }
}

/** A login on its way to the IdP: the browser, the app's PKCE verifier and state, the AuthnRequest. */
export interface PendingLogin {
  browser: Browser;
  verifier: string;
  state: string;
  requestId: string;
  relayState: string | null;
}

export interface LoginOptions {
  scope?: string;
  prompt?: string;
  /** Sign in with this browser (default: a new one). */
  browser?: Browser;
}

export interface Browser {
  cookie: () => string;
  step: (path: string, init?: RequestInit) => Promise<Response>;
}

function expectRedirect(res: Response, what: string): string {
  const location = res.headers.get('location');
  if (res.status < 300 || res.status >= 400 || !location)
    throw new LoginFailed(`${what}: HTTP ${res.status}`, res.status);
  return location;
}
