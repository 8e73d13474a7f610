import { DataSource } from 'typeorm';
import { BridgeProcess, ensureProductionBuild, startBridgeProcess } from '../support/bridge-process';
import { freeLoopbackPort } from '../support/bridge-process';
import { PrivatePostgres, postgresBinDir } from '../support/private-postgres';
import { InstanceUnreachable, LoginClient, LoginEvidence, LoginFailed } from '../support/login-client';
import { generateTestKeyPair, TestIdp } from '../support/saml-test-idp';
import { createTestDatabase, postgresAvailable } from '../support/test-app';

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

      // The load balancer keeps sending to both until its health check notices: failover on connection errors.
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
          body: new URLSearchParams({ SAMLResponse: evidence.samlResponses[i] }).toString(),
        });
        if (res.status < 400) accepted++;
        await res.arrayBuffer();
      });
      await pool(evidence.continues.length, 8, async (i) => {
        const { path, cookie } = evidence.continues[i];
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
            code: evidence.codes[i].code,
            code_verifier: evidence.codes[i].verifier,
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
