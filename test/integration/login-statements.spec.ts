import type { LoginClient, LoginEvidence } from '../support/login-client';
import { watchStatements } from '../support/pg-statements';
import { appLoginClient, createTestConnection } from '../support/saml-flow';
import { postgresAvailable, startTestApp, type TestApp } from '../support/test-app';

/**
 * What one full login (authorize → ACS → continue (interaction callback and resume) → token) costs the database: every
 * statement each step sends, and every commit (a write outside a transaction, or a COMMIT after writes).
 * Counted at the pg driver, so TypeORM, the `Statements` helper and raw pool queries are all seen. The
 * bounds below are the budget of the login path: a change that adds a statement or a commit to a step
 * must raise them on purpose. LOGIN_STATEMENTS_REPORT=1 prints every statement of each step.
 */
const REDIRECT = 'https://app.example.com/callback';
/** How long a step's background work (the audit group commit, SSO traces) is given to finish. */
const SETTLE_MS = 150;

interface Seen {
  step: string;
  sql: string;
  write: boolean;
}

/**
 * Periodic jobs that run on their own timers, whatever the login does (webhook leases, job claims, the
 * JWT access tokens' sweep, the back-channel logout retry's claim).
 */
const BACKGROUND =
  /^\s*(UPDATE webhook_endpoints w SET lease_until|INSERT INTO scheduled_jobs|UPDATE scheduled_jobs|UPDATE oidc_access_token_jtis j SET revoked_at|DELETE FROM oidc_access_token_jtis WHERE expires_at <=|UPDATE backchannel_deliveries SET next_attempt_at = now\(\) \+ interval)/;

const WRITE = /\b(INSERT|UPDATE|DELETE)\b/i;

/** The step a request belongs to, from its path (the login's hops, as LoginClient sends them). */
function stepOf(url: string): string {
  const path = new URL(url).pathname;
  if (/^\/oidc\/auth\/[^/]+\/continue$/.test(path)) return 'continue';
  if (path.startsWith('/oidc/auth/')) return 'resume';
  if (path === '/oidc/auth') return 'authorize';
  if (path.startsWith('/oidc/interaction/')) return 'authorize';
  if (path.endsWith('/acs')) return 'acs';
  if (path === '/oidc/token') return 'token';
  if (path.startsWith('/.well-known/')) return 'discovery';
  return path;
}

(postgresAvailable() ? describe : describe.skip)('statements and commits of a full login', () => {
  let t: TestApp;
  let login: LoginClient;
  const seen: Seen[] = [];
  let step = 'setup';
  let recording = false;
  let unwatch: (() => void) | undefined;
  const originalFetch = globalThis.fetch;
  const inTransaction = new WeakSet<object>();
  const wroteInTransaction = new WeakSet<object>();
  let commits: Array<{ step: string }> = [];

  beforeAll(async () => {
    // Every statement any pool client sends, with the step it belongs to and whether it commits.
    const record = function (this: object, text: string) {
      const statements = text
        .split(/;\s*(?=\S)/)
        .map((s) => s.trim())
        .filter(Boolean);
      for (const sql of statements) {
        const head = sql.slice(0, 20).toUpperCase();
        const write = WRITE.test(sql) && !/^SELECT\b/i.test(sql);
        if (head.startsWith('BEGIN') || head.startsWith('START TRANSACTION')) inTransaction.add(this);
        else if (head.startsWith('COMMIT')) {
          if (wroteInTransaction.has(this)) commits.push({ step });
          inTransaction.delete(this);
          wroteInTransaction.delete(this);
        } else if (head.startsWith('ROLLBACK')) {
          inTransaction.delete(this);
          wroteInTransaction.delete(this);
        } else if (write) {
          if (inTransaction.has(this)) wroteInTransaction.add(this);
          else commits.push({ step });
        }
        seen.push({ step, sql: sql.replace(/\s+/g, ' ').slice(0, 160), write });
      }
    };
    unwatch = watchStatements((client, text) => {
      if (recording && !BACKGROUND.test(text)) record.call(client, text);
    });
    globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      step = stepOf(url);
      const res = await originalFetch(input, init);
      await res
        .clone()
        .arrayBuffer()
        .catch(() => undefined);
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      return res;
    };

    t = await startTestApp('postgres', {}, undefined, { listen: true });
    const saml = await createTestConnection(t, 'statements-login');
    ({ login } = await appLoginClient(t, saml, 'Statements app', REDIRECT));
  }, 120_000);
  afterAll(async () => {
    unwatch?.();
    globalThis.fetch = originalFetch;
    await t?.close();
  });

  const evidence = (): LoginEvidence => ({ samlResponses: [], continues: [], codes: [] });

  it('stays within its budget of statements and commits per step', async () => {
    // A first login warms up what is cached per process (the connection, the client, signing keys).
    await login.login('warm-up', 'warm-up@example.com', evidence());
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    seen.length = 0;
    commits = [];
    recording = true;
    // A returning user (provisioned before): the common login.
    await login.login('warm-up', 'warm-up@example.com', evidence());
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    recording = false;

    const steps = ['authorize', 'acs', 'continue', 'resume', 'token'];
    const table = steps.map((s) => ({
      step: s,
      statements: seen.filter((x) => x.step === s).length,
      commits: commits.filter((c) => c.step === s).length,
    }));
    const other = seen.filter((x) => !steps.includes(x.step) && x.step !== 'discovery');
    if (process.env.LOGIN_STATEMENTS_REPORT === '1') {
      const lines = steps.flatMap((s) => [
        `## ${s}`,
        ...seen.filter((x) => x.step === s).map((x) => `${x.write ? 'W' : 'R'} ${x.sql}`),
      ]);
      process.stdout.write(`${lines.join('\n')}\n${JSON.stringify(table, null, 1)}\n`);
    }
    expect(other).toEqual([]);
    const total = (k: 'statements' | 'commits') => table.reduce((sum, r) => sum + r[k], 0);
    // The budget: 15 statements and 11 commits (the audit append after a known head is one statement).
    expect(total('statements')).toBeLessThanOrEqual(15);
    expect(total('commits')).toBeLessThanOrEqual(11);
    // The ACS reads the pending request and the user, and writes once when every check passed: the
    // request taken, the assertion ID remembered and the login stored in one statement, one commit.
    const acs = table.find((r) => r.step === 'acs');
    expect(acs?.statements).toBeLessThanOrEqual(3);
    expect(acs?.commits).toBe(1);
    // The continue step (interaction callback and authorization resume in one request): the audit event
    // and its public events in one statement, not five; oidc-provider's writes (interaction destroyed;
    // session, grant, code saved) in one commit; the user provisioned and their session opened in one
    // statement; the account the resume asks for is the user just signed in, not read back.
    const step = table.find((r) => r.step === 'continue');
    expect(step?.statements).toBeLessThanOrEqual(6);
    expect(step?.commits).toBeLessThanOrEqual(5);
    // No separate resume hop.
    expect(table.find((r) => r.step === 'resume')?.statements).toBe(0);
    // The token endpoint reads the code with its grant, its session and its user in one statement (not
    // four), consumes it, and records the JWT access token's jti.
    expect(table.find((r) => r.step === 'token')?.statements).toBeLessThanOrEqual(3);
  }, 60_000);

  it('keeps the token endpoint within its budget with refresh tokens (code exchange, then rotation)', async () => {
    const tokenStep = (what: string) => {
      const mine = seen.filter((x) => x.step === 'token');
      const row = {
        step: what,
        statements: mine.length,
        commits: commits.filter((c) => c.step === 'token').length,
      };
      if (process.env.LOGIN_STATEMENTS_REPORT === '1') {
        const lines = [`## ${what}`, ...mine.map((x) => `${x.write ? 'W' : 'R'} ${x.sql}`)];
        process.stdout.write(`${lines.join('\n')}\n${JSON.stringify(row)}\n`);
      }
      seen.length = 0;
      commits = [];
      return row;
    };
    seen.length = 0;
    commits = [];
    recording = true;
    const { refreshToken } = await login.login('warm-up', 'warm-up@example.com', evidence(), {
      scope: 'openid email offline_access',
      prompt: 'consent',
    });
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const exchange = tokenStep('token (code exchange with a refresh token)');
    const refreshed = await login.refresh(refreshToken as string);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    recording = false;
    const rotation = tokenStep('token (refresh, rotated)');
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(refreshToken);
    // The code read with its grant, session and user (one statement), consumed (its own conditional
    // update), then the refresh token saved with the response.
    expect(exchange.statements).toBeLessThanOrEqual(4);
    expect(exchange.commits).toBeLessThanOrEqual(3);
    // The old refresh token read with its grant, session and user, consumed (the conditional update), then
    // the new one saved with the response.
    expect(rotation.statements).toBeLessThanOrEqual(4);
    expect(rotation.commits).toBeLessThanOrEqual(3);
  }, 60_000);
});
