import type { AuditService } from '../../src/audit/audit.service';
import type { SsoTracesService } from '../../src/audit/sso-traces.service';
import { sha256 } from '../../src/common/sha256';
import type { ConnectionLookup } from '../../src/connections/connection-lookup';
import type { ConnectionEntity } from '../../src/connections/connection.entity';
import type { MappedUser } from '../../src/mapping/attribute-mapping';
import { LoginConsumers, LoginFailures } from '../../src/saml/login-consumers';
import { type LoginConsumer, LoginPort } from '../../src/saml/login.port';
import type { LoginCompletion, SamlStateService } from '../../src/saml/saml-state.service';
import type { PendingLogin, SamlService } from '../../src/saml/saml.service';

const CONNECTION = {
  id: 'c0000000-0000-4000-8000-000000000001',
  slug: 'acme',
  enabled: true,
} as ConnectionEntity;
const MAPPED = { subject: 'ada-0001', email: 'ada@example.com', groups: [] } as unknown as MappedUser;
const BROWSER = 'b'.repeat(43);

/** The completions table: single use, taken only by the consumer it was stored for (as the SQL does). */
class FakeState {
  readonly completions = new Map<string, LoginCompletion>();

  store(code: string, consumer: string, browserBinding: string | null, state: Record<string, unknown> = {}) {
    this.completions.set(code, {
      connectionId: CONNECTION.id,
      login: {
        mapped: MAPPED,
        attributes: { email: ['ada@example.com'] },
        assertionId: '_a1',
        inResponseTo: browserBinding ? '_r1' : undefined,
        session: { nameId: 'ada-0001', authnInstant: '2026-01-01T00:00:00.000Z' },
      },
      browserBinding: browserBinding ? sha256(browserBinding) : null,
      consumer,
      state,
      expiresAt: new Date(Date.now() + 60_000),
    });
  }

  async takeCompletion(code: string, consumer: string): Promise<LoginCompletion | null> {
    const found = this.completions.get(code);
    if (!found || found.consumer !== consumer) return null;
    this.completions.delete(code);
    return found;
  }
}

function consumer(id: string, extra: Partial<LoginConsumer> = {}): LoginConsumer {
  return { id, continueUrl: (code) => `/${id}/continue?code=${code}`, ...extra };
}

function setup() {
  const consumers = new LoginConsumers();
  const state = new FakeState();
  const started: Array<{ slug: string; login: PendingLogin }> = [];
  const saml = {
    startLogin: async (slug: string, login: PendingLogin) => {
      started.push({ slug, login });
      return { kind: 'redirect' as const, url: 'https://idp.example/sso' };
    },
  };
  const traces: Array<Record<string, unknown>> = [];
  const audits: Array<Record<string, unknown>> = [];
  const failures = new LoginFailures(
    {
      record: async (t: Record<string, unknown>) => {
        traces.push(t);
        return `trace-${traces.length}`;
      },
    } as unknown as SsoTracesService,
    {
      recordSafely: async (e: Record<string, unknown>) => {
        audits.push(e);
      },
    } as unknown as AuditService,
  );
  const lookup = {
    byId: async (id: string) => (id === CONNECTION.id ? CONNECTION : null),
  } as unknown as ConnectionLookup;
  const port = new LoginPort(
    consumers,
    saml as unknown as SamlService,
    state as unknown as SamlStateService,
    lookup,
    failures,
  );
  return { consumers, state, started, port, traces, audits };
}

describe('login consumers (registry)', () => {
  it('finds the consumer a pending request names, and the app session for a login nobody started', () => {
    const { consumers } = setup();
    const app = consumer('app-session');
    const oidc = consumer('oidc-interaction');
    consumers.register(app, { takesIdpInitiated: true });
    consumers.register(oidc);
    expect(consumers.forRequest({ consumer: 'oidc-interaction', state: { interaction: 'u1' } })).toEqual({
      consumer: oidc,
      state: { interaction: 'u1' },
    });
    expect(consumers.forRequest(undefined)).toEqual({ consumer: app, state: {} });
    expect(consumers.forRequest({})).toEqual({ consumer: app, state: {} });
    expect(consumers.takesIdpInitiated(app)).toBe(true);
    expect(consumers.takesIdpInitiated(oidc)).toBe(false);
  });

  it('refuses a second consumer with the same id, and a second taker of IdP-initiated logins', () => {
    const { consumers } = setup();
    const first = consumer('console');
    consumers.register(first);
    consumers.register(first);
    expect(() => consumers.register(consumer('console'))).toThrow(/already registered/);
    consumers.register(consumer('app-session'), { takesIdpInitiated: true });
    expect(() => consumers.register(consumer('other'), { takesIdpInitiated: true })).toThrow(
      /already takes IdP-initiated/,
    );
  });

  it('refuses a pending login whose consumer is not registered (a clear 400, not a crash)', () => {
    const { consumers } = setup();
    consumers.register(consumer('app-session'), { takesIdpInitiated: true });
    expect(() => consumers.forRequest({ consumer: 'gone', state: {} })).toThrow(
      expect.objectContaining({ reason: 'saml_login_not_found', kind: 'invalid' }),
    );
  });
});

describe('LoginPort', () => {
  it("starts a login for a registered consumer only, with the consumer's id, state and browser binding", async () => {
    const { port, started } = setup();
    const test = consumer('test-login');
    await expect(port.start('acme', { consumer: test, state: {}, browserBinding: BROWSER })).rejects.toThrow(
      /not registered/,
    );
    port.register(test);
    await port.start('acme', {
      consumer: test,
      state: { backTo: '/setup' },
      browserBinding: BROWSER,
      returnTo: '/setup',
    });
    expect(started).toEqual([
      {
        slug: 'acme',
        login: {
          consumer: 'test-login',
          state: { backTo: '/setup' },
          browserBinding: BROWSER,
          returnTo: '/setup',
        },
      },
    ]);
  });

  it("lets a consumer take only its own logins; another consumer's attempt leaves it in place", async () => {
    const { port, state, audits } = setup();
    const oidc = consumer('oidc-interaction');
    const console = consumer('admin-console');
    port.register(oidc);
    port.register(console);
    state.store('code-1', 'oidc-interaction', BROWSER, { interaction: 'u1', clientId: 'app' });
    await expect(port.take('code-1', BROWSER, console)).rejects.toMatchObject({
      reason: 'saml_login_not_found',
      traceId: 'trace-1',
    });
    expect(audits[0]).toMatchObject({ type: 'login.failed', data: { stage: 'continue' } });
    const login = await port.take('code-1', BROWSER, oidc);
    expect(login).toMatchObject({
      connection: CONNECTION,
      identity: MAPPED,
      nameId: 'ada-0001',
      authnInstant: new Date('2026-01-01T00:00:00.000Z'),
      state: { interaction: 'u1', clientId: 'app' },
    });
    // Single use.
    await expect(port.take('code-1', BROWSER, oidc)).rejects.toMatchObject({
      reason: 'saml_login_not_found',
    });
  });

  it('needs the browser that started the login, and audits the refusal with the subject', async () => {
    const { port, state, audits } = setup();
    const test = consumer('test-login');
    port.register(test);
    state.store('code-2', 'test-login', BROWSER);
    await expect(port.take('code-2', 'c'.repeat(43), test)).rejects.toMatchObject({
      reason: 'saml_browser_mismatch',
      kind: 'forbidden', // 403 (common/error-status)
    });
    expect(audits[0]).toMatchObject({
      type: 'login.failed',
      connectionId: CONNECTION.id,
      data: { stage: 'continue', reason: 'saml_browser_mismatch', connection: 'acme', subject: 'ada-0001' },
    });
    state.store('code-3', 'test-login', BROWSER);
    await expect(port.take('code-3', undefined, test)).rejects.toMatchObject({
      reason: 'saml_browser_mismatch',
    });
  });

  it('gives a login bound to no browser (IdP-initiated) only to the consumer of IdP-initiated logins', async () => {
    const { port, state } = setup();
    const app = consumer('app-session');
    const test = consumer('test-login');
    port.register(app, { takesIdpInitiated: true });
    port.register(test);
    state.store('code-4', 'test-login', null);
    await expect(port.take('code-4', BROWSER, test)).rejects.toMatchObject({
      reason: 'saml_login_not_found',
    });
    state.store('code-5', 'app-session', null);
    await expect(port.take('code-5', undefined, app)).resolves.toMatchObject({ inResponseTo: undefined });
  });

  it('refuses a login of a connection disabled since the ACS', async () => {
    const { port, state } = setup();
    const app = consumer('app-session');
    port.register(app, { takesIdpInitiated: true });
    state.store('code-6', 'app-session', BROWSER);
    (CONNECTION as { enabled: boolean }).enabled = false;
    try {
      await expect(port.take('code-6', BROWSER, app)).rejects.toMatchObject({
        reason: 'saml_connection_disabled',
        kind: 'forbidden', // 403 (common/error-status)
      });
    } finally {
      (CONNECTION as { enabled: boolean }).enabled = true;
    }
  });
});
