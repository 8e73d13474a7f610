import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { BridgeProcess, ensureProductionBuild, startBridgeProcess } from '../support/bridge-process';
import { freeLoopbackPort } from '../support/bridge-process';
import { PrivatePostgres, postgresBinDir } from '../support/private-postgres';
import { InstanceUnreachable, LoginClient, LoginEvidence, LoginFailed } from '../support/login-client';
import { generateTestKeyPair, TestIdp } from '../support/saml-test-idp';
import { createTestDatabase, postgresAvailable } from '../support/test-app';
import { need } from '../support/defined';

const PUBLIC_BASE = 'https://bridge.faults.test';
const ADMIN_KEY = 'faults-admin-key-0123456789abcdef';
const REDIRECT = 'https://app.faults.test/callback';

/** The environment of every instance: production mode behind a TLS-terminating load balancer. */
function instanceEnv(databaseUrl: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    BASE_URL: PUBLIC_BASE,
    TRUST_PROXY: 'true',
    DATABASE_URL: databaseUrl,
    BRIDGE_SECRET: 'faults-bridge-secret-0123456789abcdef0123',
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'fatal',
    METADATA_SCHEDULER_SECONDS: '0',
  };
}

async function admin(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      'content-type': 'application/json',
      'x-forwarded-proto': 'https',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * The faults tests' connection (on A) and app (on B), and a login client behind a round-robin load balancer
 * that retries on the other instance when one does not answer.
 */
async function seedLogins(
  a: BridgeProcess,
  b: BridgeProcess,
): Promise<{ app: Record<string, unknown>; client: LoginClient }> {
  const idp = new TestIdp({
    entityId: 'https://idp.faults.test/metadata',
    keys: await generateTestKeyPair('IdP'),
  });
  const conn = await admin(a.base, 'POST', '/api/v1/connections', {
    slug: 'faults',
    name: 'Faults',
    metadataXml: idp.metadataXml(),
    domains: ['faults.test'],
  });
  const sp = conn.sp as { entityId: string; acsUrl: string };
  const app = await admin(b.base, 'POST', '/api/v1/clients', {
    name: 'Faults app',
    redirectUris: [REDIRECT],
  });
  const client = new LoginClient({
    publicBase: PUBLIC_BASE,
    instances: () => (Math.random() < 0.5 ? [a.base, b.base] : [b.base, a.base]),
    connection: { idp, slug: 'faults', spEntityId: sp.entityId, acsUrl: sp.acsUrl },
    client: {
      clientId: app.clientId as string,
      clientSecret: app.clientSecret as string,
      redirectUri: REDIRECT,
    },
  });
  return { app, client };
}

/** One statement on a connection of its own (so that a restart of the server cannot leave it broken). */
async function sql<R = Record<string, unknown>>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const c = new Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query(text, values)).rows as R[];
  } finally {
    await c.end().catch(() => undefined);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `done()` holds, checking every 100 ms; throws `what` after `ms`. */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Runs `count` jobs with at most `concurrency` in flight. */
async function pool(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

(postgresAvailable() ? describe : describe.skip)('faults (production build, separate processes)', () => {
  beforeAll(() => ensureProductionBuild(), 240_000);

  describe('kill -9 of one of two instances during a login load', () => {
    const USERS = 24;
    const LOGINS = 120;
    const KILL_AFTER = 40;
    let db: Awaited<ReturnType<typeof createTestDatabase>>;
    let a: BridgeProcess;
    let b: BridgeProcess;
    let ds: DataSource;

    beforeAll(async () => {
      db = await createTestDatabase();
      [a, b] = await Promise.all([
        startBridgeProcess({ env: instanceEnv(db.url) }),
        startBridgeProcess({ env: instanceEnv(db.url) }),
      ]);
      ds = await new DataSource({ type: 'postgres', url: db.url }).initialize();
    }, 60_000);
    afterAll(async () => {
      await a?.stop('SIGKILL');
      await b?.stop();
      await ds?.destroy();
      await db?.drop();
    });

    it('loses no user, creates no duplicate, and lets no login complete twice', async () => {
      // The load balancer keeps sending to both until its health check notices: failover on connection errors.
      const { app, client } = await seedLogins(a, b);
      const evidence: LoginEvidence = { samlResponses: [], continues: [], codes: [] };
      const subs = new Map<string, Set<string>>();
      let completed = 0;
      let restarted = 0;
      let killedAt = -1;
      await pool(LOGINS, 8, async (i) => {
        const nameId = `user-${i % USERS}`;
        for (let attempt = 1; ; attempt++) {
          try {
            const tokens = await client.login(nameId, `${nameId}@faults.test`, evidence);
            if (!subs.has(nameId)) subs.set(nameId, new Set());
            subs.get(nameId)?.add(tokens.sub);
            break;
          } catch (err) {
            if (!(err instanceof LoginFailed || err instanceof InstanceUnreachable) && attempt > 1) throw err;
            if (attempt >= 5) throw err;
            restarted++; // the user clicks "sign in" again
          }
        }
        if (++completed === KILL_AFTER) {
          killedAt = completed;
          a.child.kill('SIGKILL');
        }
      });

      expect(killedAt).toBe(KILL_AFTER);
      expect(await a.exited).toBeNull(); // killed by a signal
      expect(completed).toBe(LOGINS);
      // Every user exists exactly once and always got the same subject.
      expect([...subs.values()].every((s) => s.size === 1)).toBe(true);
      expect(subs.size).toBe(USERS);
      const [{ users, subjects }] = await ds.query(
        `SELECT count(*)::int AS users, count(DISTINCT subject)::int AS subjects FROM users`,
      );
      expect({ users, subjects }).toEqual({ users: USERS, subjects: USERS });

      // Nothing the browsers saw can be used again on the survivor.
      const replay = (path: string, init: RequestInit = {}) =>
        fetch(`${b.base}${path}`, {
          ...init,
          redirect: 'manual',
          headers: { ...(init.headers as Record<string, string>), 'x-forwarded-proto': 'https' },
        });
      let accepted = 0;
      await pool(evidence.samlResponses.length, 8, async (i) => {
        const res = await replay('/saml/faults/acs', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ SAMLResponse: need(evidence.samlResponses[i]) }).toString(),
        });
        if (res.status < 400) accepted++;
        await res.arrayBuffer();
      });
      await pool(evidence.continues.length, 8, async (i) => {
        const { path, cookie } = need(evidence.continues[i]);
        const res = await replay(path, { headers: { cookie } });
        if (res.status < 400) accepted++;
        await res.arrayBuffer();
      });
      const basic = Buffer.from(`${app.clientId as string}:${app.clientSecret as string}`).toString('base64');
      await pool(evidence.codes.length, 8, async (i) => {
        const res = await replay('/oidc/token', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code: need(evidence.codes[i]).code,
            code_verifier: need(evidence.codes[i]).verifier,
            redirect_uri: REDIRECT,
          }).toString(),
        });
        const body = (await res.json()) as { error?: string };
        if (res.status < 400 || body.error !== 'invalid_grant') accepted++;
      });
      expect(evidence.samlResponses.length).toBeGreaterThanOrEqual(LOGINS);
      expect(evidence.codes.length).toBeGreaterThanOrEqual(LOGINS);
      expect(accepted).toBe(0);
      // The kill really hit the load: requests found A gone and went to B.
      expect(client.failovers).toBeGreaterThan(0);
      process.stdout.write(
        `kill -9: ${LOGINS} logins (${USERS} users), A killed after ${KILL_AFTER}, ${client.failovers} requests failed over, ${restarted} logins restarted, ` +
          `${evidence.samlResponses.length + evidence.continues.length + evidence.codes.length} replays refused\n`,
      );
    }, 180_000);
  });

  /** Needs PostgreSQL's server binaries (on CI: the machine's own packages) to run a database of its own. */
  (postgresBinDir() || process.env.REQUIRE_POSTGRES === '1' ? describe : describe.skip)(
    'PostgreSQL restarted, its backends terminated, or stopped for 30 s, under a login load on two instances',
    () => {
      const USERS = 12;
      const CONCURRENCY = 4;
      let pg: PrivatePostgres;
      let a: BridgeProcess;
      let b: BridgeProcess;
      let pids: number[];
      let client: LoginClient;
      let app: Record<string, unknown>;
      let svc: Record<string, unknown>;
      /** Every user's subject, across all the runs: one per user or a duplicate was made. */
      const subs = new Map<string, Set<string>>();
      /** The AuthnRequest ID of every login that ended with tokens. */
      const completed: string[] = [];
      /** The codes that were exchanged for tokens. */
      const redeemedCodes = new Set<string>();

      beforeAll(async () => {
        pg = PrivatePostgres.create(await freeLoopbackPort());
        [a, b] = await Promise.all([
          startBridgeProcess({ env: instanceEnv(pg.url()) }),
          startBridgeProcess({ env: instanceEnv(pg.url()) }),
        ]);
        pids = [a.child.pid as number, b.child.pid as number];
        ({ app, client } = await seedLogins(a, b));
        svc = await admin(a.base, 'POST', '/api/v1/clients', {
          name: 'Service',
          grantTypes: ['client_credentials'],
        });
      }, 90_000);
      afterAll(async () => {
        await a?.stop();
        await b?.stop();
        pg?.destroy();
      });

      const alive = () =>
        [a, b].map((p) => ({ pid: p.child.pid, exitCode: p.child.exitCode, signal: p.child.signalCode }));

      /**
       * Logs users in continuously on both instances while `fault` runs; returns once both instances are
       * ready again and logins started after that have completed. Counts the logins that failed.
       */
      async function underLoad(fault: (evidence: LoginEvidence) => Promise<void>) {
        const evidence: LoginEvidence = { samlResponses: [], continues: [], codes: [] };
        const logins: Array<{ startedAt: number; ok: boolean; why?: string; status?: number }> = [];
        const ready: Array<{ instance: number; at: number; status: number }> = [];
        let running = true;
        let n = 0;
        const workers = Array.from({ length: CONCURRENCY }, async () => {
          while (running) {
            const nameId = `user-${n++ % USERS}`;
            const startedAt = Date.now();
            try {
              const tokens = await client.login(nameId, `${nameId}@faults.test`, evidence);
              if (!subs.has(nameId)) subs.set(nameId, new Set());
              subs.get(nameId)?.add(tokens.sub);
              completed.push(tokens.requestId);
              redeemedCodes.add(tokens.code);
              logins.push({ startedAt, ok: true });
            } catch (err) {
              // A failed login is what the user sees as an error page: they click "sign in" again.
              logins.push({
                startedAt,
                ok: false,
                why: (err as Error).message,
                status: err instanceof LoginFailed ? err.status : undefined,
              });
              await sleep(100);
            }
          }
        });
        const monitor = (async () => {
          while (running) {
            await Promise.all(
              [a, b].map(async (p, instance) => {
                const at = Date.now();
                const status = await fetch(`${p.base}/readyz`, { signal: AbortSignal.timeout(5000) })
                  .then(async (res) => (await res.arrayBuffer(), res.status))
                  .catch(() => -1);
                ready.push({ instance, at, status });
              }),
            );
            await sleep(100);
          }
        })();
        const ok = () => logins.filter((l) => l.ok).length;
        await until(() => ok() >= 8, 60_000, 'logins before the fault');
        const faultAt = Date.now();
        await fault(evidence);
        const faultEndedAt = Date.now();
        // Both instances ready again (a 200 from each after the fault ended).
        await until(
          () =>
            [0, 1].every((i) =>
              ready.some((r) => r.instance === i && r.at > faultEndedAt && r.status === 200),
            ),
          30_000,
          'both instances ready again',
        );
        const readyAt = Date.now();
        await until(
          () => logins.filter((l) => l.ok && l.startedAt > readyAt).length >= 8,
          60_000,
          'logins after recovery',
        );
        running = false;
        await Promise.all([...workers, monitor]);
        return { evidence, logins, ready, faultAt, faultEndedAt, readyAt };
      }

      /** The change feeds listen again: one LISTEN connection per instance (reconnected with backoff). */
      async function expectListening(): Promise<void> {
        const listeners = async () =>
          need(
            (
              await sql<{ n: number }>(
                pg.url(),
                `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'saml-bridge-changes'`,
              )
            )[0],
          ).n;
        let listening = await listeners();
        for (let i = 0; i < 150 && listening < 2; i++) {
          await sleep(100);
          listening = await listeners();
        }
        expect(listening).toBe(2);
      }

      /** What must hold after every fault: nothing lost, nothing twice, the audit chain intact. */
      async function checkIntegrity(run: Awaited<ReturnType<typeof underLoad>>): Promise<void> {
        const { evidence } = run;
        // The same processes, still running.
        expect(alive()).toEqual(pids.map((pid) => ({ pid, exitCode: null, signal: null })));
        // Logins failed only while the database was away, and as "unavailable", never as the user's fault.
        expect(run.logins.filter((l) => l.startedAt > run.readyAt && !l.ok)).toEqual([]);
        expect(run.logins.filter((l) => l.status !== undefined && l.status >= 400 && l.status < 500)).toEqual(
          [],
        );
        await expectListening();
        // Every user exists exactly once and always got the same subject.
        expect([...subs.values()].every((s) => s.size === 1)).toBe(true);
        const [counts] = await sql<{ users: number; subjects: number }>(
          pg.url(),
          `SELECT count(*)::int AS users, count(DISTINCT subject)::int AS subjects FROM users`,
        );
        const { users, subjects } = need(counts);
        expect({ users, subjects }).toEqual({ users: subs.size, subjects: subs.size });
        // No code is redeemed twice: those exchanged for tokens are refused; one whose exchange failed
        // during the fault (the login failed there) may be redeemed now, but only once.
        const basic = Buffer.from(`${app.clientId as string}:${app.clientSecret as string}`).toString(
          'base64',
        );
        const redeem = async (code: { code: string; verifier: string }) => {
          const res = await fetch(`${a.base}/oidc/token`, {
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              authorization: `Basic ${basic}`,
              'x-forwarded-proto': 'https',
            },
            body: new URLSearchParams({
              grant_type: 'authorization_code',
              code: code.code,
              code_verifier: code.verifier,
              redirect_uri: REDIRECT,
            }).toString(),
          });
          const body = (await res.json()) as { error?: string };
          return res.status < 400 || body.error !== 'invalid_grant';
        };
        let twice = 0;
        await pool(evidence.codes.length, 4, async (i) => {
          const code = need(evidence.codes[i]);
          if (redeemedCodes.has(code.code)) {
            if (await redeem(code)) twice++;
          } else {
            await redeem(code);
            if (await redeem(code)) twice++;
          }
        });
        expect(twice).toBe(0);
        // Every completed login is in the audit log, and the chain verifies. An event whose append met the
        // fault waits in its instance's memory and is appended on a retry (backoff of at most 15 s).
        const unaudited = async () => {
          const audited = await sql<{ id: string }>(
            pg.url(),
            `SELECT data->>'inResponseTo' AS id FROM audit_events WHERE type = 'login.succeeded'`,
          );
          const ids = new Set(audited.map((r) => r.id));
          return completed.filter((id) => !ids.has(id));
        };
        for (let waited = 0; (await unaudited()).length > 0 && waited < 20_000; waited += 500)
          await sleep(500);
        expect(await unaudited()).toEqual([]);
        const verify = await admin(b.base, 'GET', '/api/v1/audit/verify');
        expect(verify).toMatchObject({ ok: true });
      }

      function report(what: string, run: Awaited<ReturnType<typeof underLoad>>): void {
        const during = run.logins.filter((l) => l.startedAt <= run.readyAt);
        const failed = run.logins.filter((l) => !l.ok);
        process.stdout.write(
          `${what}: ${run.logins.length} logins, ${failed.length} failed (all started before both instances were ready again: ` +
            `${failed.every((l) => l.startedAt <= run.readyAt)}); fault took ${run.faultEndedAt - run.faultAt} ms, ` +
            `both ready ${run.readyAt - run.faultEndedAt} ms after it; ${during.length} logins started until then\n` +
            (failed.length
              ? `  first failures: ${[...new Set(failed.map((l) => l.why))].slice(0, 5).join(' | ')}\n`
              : ''),
        );
      }

      it('survives a real restart (pg_ctl restart -m fast): same processes, ready again, logins resume', async () => {
        const run = await underLoad(async () => {
          // Under load some transactions are always in flight: hold the audit chain's head lock for a
          // moment so that the instances' audit appends are waiting in theirs when the restart hits.
          const holder = new Client({ connectionString: pg.url() });
          holder.on('error', () => undefined);
          await holder.connect();
          await holder.query('BEGIN');
          await holder.query('SELECT * FROM audit_chain_head WHERE id = 1 FOR UPDATE');
          await sleep(500);
          pg.restart();
          await holder.end().catch(() => undefined);
        });
        report('pg_ctl restart', run);
        expect(alive()).toEqual(pids.map((pid) => ({ pid, exitCode: null, signal: null })));
        // Logins started once both instances were ready again all completed.
        expect(run.logins.filter((l) => l.startedAt > run.readyAt && !l.ok)).toEqual([]);
        await checkIntegrity(run);
      }, 180_000);

      it('survives pg_terminate_backend of every bridge connection', async () => {
        const run = await underLoad(async () => {
          const killed = await sql<{ pid: number }>(
            pg.url(),
            `SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'saml-bridge%' AND pg_terminate_backend(pid)`,
          );
          // The pools (both instances) and the change feeds' LISTEN connections.
          expect(killed.length).toBeGreaterThanOrEqual(4);
        });
        report('pg_terminate_backend', run);
        expect(alive()).toEqual(pids.map((pid) => ({ pid, exitCode: null, signal: null })));
        expect(run.logins.filter((l) => l.startedAt > run.readyAt && !l.ok)).toEqual([]);
        await checkIntegrity(run);
      }, 180_000);

      it('answers 503 with Retry-After while PostgreSQL is stopped for 30 s, then recovers by itself', async () => {
        const basic = Buffer.from(`${svc.clientId as string}:${svc.clientSecret as string}`).toString(
          'base64',
        );
        const probes: Array<{ what: string; status: number; retryAfter: string | null; body: string }> = [];
        const probe = async (what: string, base: string, path: string, init: RequestInit = {}) => {
          const res = await fetch(`${base}${path}`, {
            ...init,
            redirect: 'manual',
            headers: { ...(init.headers as Record<string, string>), 'x-forwarded-proto': 'https' },
            signal: AbortSignal.timeout(15_000),
          });
          probes.push({
            what,
            status: res.status,
            retryAfter: res.headers.get('retry-after'),
            body: await res.text(),
          });
        };
        const run = await underLoad(async (evidence) => {
          pg.stop();
          await sleep(2000);
          for (const p of [a, b]) {
            await probe('token', p.base, '/oidc/token', {
              method: 'POST',
              headers: {
                authorization: `Basic ${basic}`,
                'content-type': 'application/x-www-form-urlencoded',
              },
              body: 'grant_type=client_credentials&scope=api',
            });
            await probe('api', p.base, '/api/v1/connections', {
              headers: { authorization: `Bearer ${ADMIN_KEY}` },
            });
            const auth = new URLSearchParams({
              client_id: app.clientId as string,
              response_type: 'code',
              scope: 'openid',
              redirect_uri: REDIRECT,
              code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
              code_challenge_method: 'S256',
            });
            await probe('browser', p.base, `/oidc/auth?${auth.toString()}`);
            await probe('readyz', p.base, '/readyz');
            // The browser steps of a login in progress: the IdP's POST to the ACS, and the continue step.
            await probe('browser', p.base, '/saml/faults/acs', {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({ SAMLResponse: need(evidence.samlResponses[0]) }).toString(),
            });
            await probe('browser', p.base, need(evidence.continues[0]).path, {
              headers: { cookie: need(evidence.continues[0]).cookie },
            });
          }
          await sleep(28_000);
          pg.start();
        });
        report('PostgreSQL stopped for 30 s', run);
        expect(alive()).toEqual(pids.map((pid) => ({ pid, exitCode: null, signal: null })));
        // Each instance said "not ready" while the database was away.
        for (const instance of [0, 1]) {
          const down = run.ready.filter(
            (r) => r.instance === instance && r.at > run.faultAt + 2000 && r.at < run.faultAt + 25_000,
          );
          expect(down.length).toBeGreaterThan(0);
          expect(down.filter((r) => r.status !== 503)).toEqual([]);
        }
        // API, token and readiness answers say when to retry; browser pages show the reason code.
        expect(probes.map((p) => [p.what, p.status, p.what === 'browser' || p.retryAfter !== null])).toEqual(
          [0, 1].flatMap(() => [
            ['token', 503, true],
            ['api', 503, true],
            ['browser', 503, true],
            ['readyz', 503, true],
            ['browser', 503, true],
            ['browser', 503, true],
          ]),
        );
        // oidc-provider's own answer, or the bridge's when the client lookup itself found the database away.
        for (const p of probes.filter((x) => x.what === 'token'))
          expect([JSON.parse(p.body).error, JSON.parse(p.body).code]).toContainEqual(
            expect.stringMatching(/^(temporarily_unavailable|database_unavailable)$/),
          );
        for (const p of probes.filter((x) => x.what === 'api'))
          expect(JSON.parse(p.body)).toMatchObject({ code: 'database_unavailable' });
        for (const p of probes.filter((x) => x.what === 'browser'))
          expect(p.body).toContain('database_unavailable');
        expect(run.logins.filter((l) => l.startedAt > run.readyAt && !l.ok)).toEqual([]);
        await checkIntegrity(run);
      }, 180_000);
    },
  );

  /** Needs PostgreSQL's server binaries (on CI: the machine's own packages) to run a database of its own. */
  (postgresBinDir() || process.env.REQUIRE_POSTGRES === '1' ? describe : describe.skip)(
    'PostgreSQL restart during load',
    () => {
      let pg: PrivatePostgres;
      let bridge: BridgeProcess;
      beforeAll(async () => {
        pg = PrivatePostgres.create(await freeLoopbackPort());
        bridge = await startBridgeProcess({ env: instanceEnv(pg.url()) });
      }, 60_000);
      afterAll(async () => {
        await bridge?.stop();
        pg?.destroy();
      });

      it('answers 503 fast while the database is down, never crashes, and recovers by itself within 10 s', async () => {
        const svc = await admin(bridge.base, 'POST', '/api/v1/clients', {
          name: 'Service',
          grantTypes: ['client_credentials'],
        });
        const basic = Buffer.from(`${svc.clientId as string}:${svc.clientSecret as string}`).toString(
          'base64',
        );
        const samples: Array<{ at: number; path: string; status: number; ms: number; code?: string }> = [];
        const hit = async (path: string, init: RequestInit = {}) => {
          const started = Date.now();
          let status: number;
          let code: string | undefined;
          try {
            const res = await fetch(`${bridge.base}${path}`, {
              ...init,
              headers: { ...(init.headers as Record<string, string>), 'x-forwarded-proto': 'https' },
              signal: AbortSignal.timeout(20_000),
            });
            status = res.status;
            const body = (await res.json().catch(() => ({}))) as { code?: string; error?: string };
            code = body.code ?? body.error;
          } catch {
            status = -1; // no answer: a hang or a crash
          }
          samples.push({ at: started, path, status, ms: Date.now() - started, code });
        };
        const token = () =>
          hit('/oidc/token', {
            method: 'POST',
            headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
            body: 'grant_type=client_credentials&scope=api',
          });
        const apiList = () =>
          hit('/api/v1/connections', { headers: { authorization: `Bearer ${ADMIN_KEY}` } });

        let running = true;
        const loops = [
          ...Array.from({ length: 3 }, async () => {
            while (running) await token();
          }),
          (async () => {
            while (running) await apiList();
          })(),
          (async () => {
            while (running) {
              await hit('/readyz');
              await new Promise((r) => setTimeout(r, 100));
            }
          })(),
        ];
        const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
        await sleep(1500);
        const downAt = Date.now();
        pg.stop();
        await sleep(3000);
        pg.start();
        const upAt = Date.now();
        // Wait for the first ready answer, then keep the load on for 2 s more.
        let readyAt = 0;
        while (!readyAt && Date.now() - upAt < 15_000) {
          await sleep(100);
          readyAt = samples.find((s) => s.path === '/readyz' && s.at > upAt && s.status === 200)?.at ?? 0;
        }
        await sleep(2000);
        running = false;
        await Promise.all(loops);

        expect(bridge.child.exitCode).toBeNull(); // never crashed
        expect(samples.filter((s) => s.status === -1)).toEqual([]); // every request got an answer
        expect(samples.filter((s) => s.status >= 500 && s.status !== 503)).toEqual([]); // no 500s
        const outage = samples.filter((s) => s.at > downAt + 200 && s.at + s.ms < upAt);
        expect(outage.filter((s) => s.path === '/readyz').every((s) => s.status === 503)).toBe(true);
        expect(outage.filter((s) => s.status === 503).length).toBeGreaterThan(10);
        // Fail fast: no request waits on the missing database for long.
        const slowest = Math.max(...outage.map((s) => s.ms));
        expect(slowest).toBeLessThan(6000);
        const api503 = outage.filter((s) => s.path === '/api/v1/connections');
        expect(api503.length).toBeGreaterThan(0);
        expect(api503.every((s) => s.status === 503 && s.code === 'database_unavailable')).toBe(true);
        const tokens503 = outage.filter((s) => s.path === '/oidc/token');
        expect(tokens503.length).toBeGreaterThan(0);
        expect(
          tokens503.every(
            (s) =>
              s.status === 503 && (s.code === 'temporarily_unavailable' || s.code === 'database_unavailable'),
          ),
        ).toBe(true);
        // Recovery within 10 s of the database being back, and then everything succeeds.
        expect(readyAt).toBeGreaterThan(0);
        const recoveryMs = readyAt - upAt;
        expect(recoveryMs).toBeLessThan(10_000);
        const after = samples.filter((s) => s.at > readyAt + 1000);
        expect(after.length).toBeGreaterThan(10);
        expect(after.filter((s) => s.status !== 200)).toEqual([]);
        process.stdout.write(
          `PostgreSQL restart: ${samples.length} requests, ${outage.length} during the outage ` +
            `(slowest ${slowest} ms), ready ${recoveryMs} ms after the database returned\n`,
        );
      }, 60_000);
    },
  );
});
