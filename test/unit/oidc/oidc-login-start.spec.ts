import type { BridgeConfig } from '../../../src/config/bridge-config';
import type { ConnectionLookup } from '../../../src/connections/connection-lookup';
import type { OidcClientsService } from '../../../src/oidc/oidc-clients.service';
import { OidcLoginStart } from '../../../src/oidc/oidc-login-start';
import type { OidcLoginConsumer } from '../../../src/oidc/oidc-login.consumer';
import type { OidcProviderHost } from '../../../src/oidc/oidc-provider.host';
import type { OutgoingMessage } from '../../../src/saml/login.port';

type Middleware = (ctx: FakeContext, next: () => Promise<unknown>) => Promise<unknown>;

interface FakeContext {
  status: number;
  body?: unknown;
  type?: string;
  headers: Record<string, string>;
  response: { get: (name: string) => string | undefined };
  set: (name: string, value: string) => void;
  redirect: (url: string) => void;
  oidc: { route: string; entities: { Interaction?: unknown } };
  req: { headers: Record<string, string> };
  res: { cookie: jest.Mock };
}

const ACME = { slug: 'acme', enabled: true, preset: 'generic', options: {} };

/** The start at the authorization request, with fakes for the provider host, the login port and lookups. */
function setup(start: () => Promise<OutgoingMessage>) {
  let middleware: Middleware | undefined;
  const host = {
    use: (plugin: (provider: unknown) => void) => plugin({ use: (m: Middleware) => (middleware = m) }),
  } as unknown as OidcProviderHost;
  const logins = { start: jest.fn(start) };
  const clients = {
    find: jest.fn(async () => ({ clientId: 'app', allowedConnections: null })),
  } as unknown as OidcClientsService;
  const connections = {
    bySlug: jest.fn(async (slug: string) => (slug === 'acme' ? ACME : null)),
    enabledWithDomain: jest.fn(async () => [ACME]),
  } as unknown as ConnectionLookup;
  const config = { baseUrl: 'https://bridge.example.com' } as unknown as BridgeConfig;
  const starts = new OidcLoginStart(
    host,
    logins as unknown as OidcLoginConsumer,
    clients,
    connections,
    config,
  );
  starts.onModuleInit();
  /** oidc-provider's answer to an authorization request: "go to the interaction page". */
  const context = (params: Record<string, unknown>, prompt = 'login'): FakeContext => {
    const headers: Record<string, string> = { location: '/oidc/interaction/u-1' };
    const ctx: FakeContext = {
      status: 303,
      headers,
      response: { get: (name) => headers[name.toLowerCase()] },
      set: (name, value) => (headers[name.toLowerCase()] = value),
      redirect: (url) => (headers.location = url),
      oidc: {
        route: 'authorization',
        entities: {
          Interaction: {
            uid: 'u-1',
            params: { client_id: 'app', ...params },
            prompt: { name: prompt, reasons: [] },
          },
        },
      },
      req: { headers: {} },
      res: { cookie: jest.fn() },
    };
    return ctx;
  };
  const run = async (ctx: FakeContext) => {
    if (!middleware) throw new Error('no middleware registered');
    await middleware(ctx, async () => undefined);
  };
  return { logins, context, run };
}

describe('OidcLoginStart at the authorization request', () => {
  it('answers with the AuthnRequest when the connection is named, binding the browser', async () => {
    const { logins, context, run } = setup(async () => ({
      kind: 'redirect',
      url: 'https://idp.example.com/sso?SAMLRequest=x',
    }));
    const ctx = context({ connection: 'acme' });
    await run(ctx);
    expect(ctx.status).toBe(303);
    expect(ctx.headers.location).toBe('https://idp.example.com/sso?SAMLRequest=x');
    expect(ctx.headers['cache-control']).toBe('no-store');
    expect(logins.start).toHaveBeenCalledWith(
      'acme',
      { interaction: 'u-1', clientId: 'app' },
      expect.any(String),
      { forceAuthn: false, required: false },
    );
    expect(ctx.res.cookie).toHaveBeenCalledWith(
      '__Host-bridge_browser',
      expect.any(String),
      expect.objectContaining({ httpOnly: true, sameSite: 'lax', secure: true }),
    );
  });

  it('answers with the POST binding page and its own CSP', async () => {
    const { context, run } = setup(
      async () => ({ kind: 'post', html: '<form>…</form>', csp: "default-src 'none'" }) as OutgoingMessage,
    );
    const ctx = context({ connection: 'acme' });
    await run(ctx);
    expect(ctx.status).toBe(200);
    expect(ctx.body).toBe('<form>…</form>');
    expect(ctx.headers['content-security-policy']).toBe("default-src 'none'");
  });

  it('leaves the redirect to the interaction page for discovery, refusals and consent', async () => {
    const { logins, context, run } = setup(async () => ({
      kind: 'redirect',
      url: 'https://idp.example.com/sso',
    }));
    for (const ctx of [
      context({}),
      context({ connection: 'nobody' }),
      context({ connection: 'acme' }, 'consent'),
    ]) {
      await run(ctx);
      expect(ctx.status).toBe(303);
      expect(ctx.headers.location).toBe('/oidc/interaction/u-1');
    }
    expect(logins.start).not.toHaveBeenCalled();
  });

  it('leaves the redirect to the interaction page when starting the login fails (it shows the error there)', async () => {
    const { context, run } = setup(async () => {
      throw new Error('Connection terminated unexpectedly');
    });
    const ctx = context({ connection: 'acme' });
    await run(ctx);
    expect(ctx.status).toBe(303);
    expect(ctx.headers.location).toBe('/oidc/interaction/u-1');
  });

  it('touches nothing but the authorization route’s redirect to its own interaction', async () => {
    const { logins, context, run } = setup(async () => ({
      kind: 'redirect',
      url: 'https://idp.example.com/sso',
    }));
    const other = context({ connection: 'acme' });
    other.oidc.route = 'resume';
    await run(other);
    const elsewhere = context({ connection: 'acme' });
    elsewhere.headers.location = 'https://app.example.com/cb?code=1';
    await run(elsewhere);
    expect(logins.start).not.toHaveBeenCalled();
    expect(elsewhere.headers.location).toBe('https://app.example.com/cb?code=1');
  });
});
