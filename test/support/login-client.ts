import { inflateRawSync } from 'node:zlib';
import type { SamlConnectionFixture } from './saml-flow';

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

  /** Logs `nameId` in; returns the token response. Throws LoginFailed or InstanceUnreachable. */
  async login(
    nameId: string,
    email: string,
    evidence: LoginEvidence,
  ): Promise<{ idToken: string; accessToken: string; sub: string }> {
    this.oc ??= await import('openid-client');
    const oc = this.oc;
    const { client, connection, publicBase } = this.target;
    const customFetch = (url: string, options: RequestInit) => this.fetchAny(this.toPath(url), options);
    const config = await oc.discovery(new URL(publicBase), client.clientId, client.clientSecret, undefined, {
      execute: [oc.allowInsecureRequests],
      [oc.customFetch]: customFetch as never,
    });
    config[oc.customFetch] = customFetch as never;
    const verifier = oc.randomPKCECodeVerifier();
    const state = oc.randomState();
    const url = oc.buildAuthorizationUrl(config, {
      redirect_uri: client.redirectUri,
      scope: 'openid email',
      code_challenge: await oc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      connection: connection.slug,
    });

    const jar = new Map<string, string>();
    const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const step = async (path: string, init: RequestInit = {}) => {
      const res = await this.fetchAny(path, {
        ...init,
        headers: { ...(init.headers ?? {}), cookie: cookie() },
      });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const i = pair.indexOf('=');
        const name = pair.slice(0, i);
        const value = pair.slice(i + 1);
        if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) jar.delete(name);
        else jar.set(name, value);
      }
      await res.arrayBuffer();
      return res;
    };
    const expectRedirect = (res: Response, what: string) => {
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location)
        throw new LoginFailed(`${what}: HTTP ${res.status}`, res.status);
      return location;
    };

    // authorize → interaction → SAML login → the IdP (another site).
    let location = expectRedirect(await step(url.pathname + url.search), 'authorize');
    for (let hop = 0; hop < 5 && !location.startsWith(connection.idp.ssoUrl); hop++) {
      location = expectRedirect(await step(this.toPath(location)), 'to the IdP');
    }
    if (!location.startsWith(connection.idp.ssoUrl)) throw new LoginFailed('never reached the IdP');
    const samlRequest = new URL(location).searchParams.get('SAMLRequest') as string;
    const requestId = /ID="([^"]+)"/.exec(inflateRawSync(Buffer.from(samlRequest, 'base64')).toString())?.[1];
    const relayState = new URL(location).searchParams.get('RelayState');

    // The IdP answers with a signed response, POSTed cross-site to the ACS.
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
    location = expectRedirect(
      await step(`/saml/${connection.slug}/acs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      }),
      'ACS',
    );
    evidence.continues.push({ path: this.toPath(location), cookie: cookie() });

    // continue → interaction callback → authorize resume → the app's redirect URI with a code.
    for (let hop = 0; hop < 8 && !location.startsWith(client.redirectUri); hop++) {
      location = expectRedirect(await step(this.toPath(location)), 'back to the app');
    }
    const callback = new URL(location);
    const code = callback.searchParams.get('code');
    if (!code) throw new LoginFailed(`no code: ${callback.searchParams.get('error') ?? location}`);
    evidence.codes.push({ code, verifier });
    const tokens = await oc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const claims = tokens.claims();
    if (!claims || claims.email !== email) throw new LoginFailed('the ID token does not carry the email');
    return { idToken: tokens.id_token as string, accessToken: tokens.access_token, sub: claims.sub };
  }
}
