/**
 * `npm run soak`: the production build on a fresh PostgreSQL database under a steady mixed load at half of
 * its measured maximum, for SOAK_SECONDS (default 600). First measures the maximum of each workload alone
 * (full browser-less logins and client_credentials, closed loop, 10 s each), then runs both open loop at
 * SOAK_FRACTION (default 0.5) of capacity, each taking half. Samples RSS and table sizes every 10 s.
 * Writes bench/results/soak-<date>.json and .md. Fails (exit 1) on any error, or when the mean RSS of the
 * last minute differs from that of the second minute by more than 10 %.
 * SOAK_TERMINATE_SECONDS=60 also terminates every bridge connection to PostgreSQL (pg_terminate_backend, the
 * FATAL 57P01 a restart sends) that often: the bridge must stay up (same PID); requests that fail within
 * 5 s of a termination are counted apart, any other failure still fails the soak.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { LoginClient, type LoginEvidence } from '../test/support/login-client';
import { generateTestKeyPair, TestIdp } from '../test/support/saml-test-idp';
import { adminCall, BASE_URL, createBenchDatabase, cpuMs, rssMb, startBenchBridge } from './bench-bridge';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const FRACTION = Number(process.env.SOAK_FRACTION ?? 0.5);
const PROBE_SECONDS = Number(process.env.SOAK_PROBE_SECONDS ?? 10);
const SAMPLE_MS = 10_000;
const TERMINATE_SECONDS = Number(process.env.SOAK_TERMINATE_SECONDS ?? 0);
/** Failures this soon after a termination are the termination's (a request in flight on a killed backend). */
const TERMINATION_GRACE_MS = 5_000;
const USERS = 500;
const REDIRECT = 'https://app.soak.test/callback';
const TABLES = [
  'users',
  'login_sessions',
  'login_completions',
  'saml_requests',
  'saml_replay_cache',
  'oidc_models',
  'sso_traces',
  'backchannel_deliveries',
];

/** The two workloads of the soak, in the order they are measured and reported. */
type Workload = 'login' | 'client_credentials';

interface Sample {
  t: number;
  rssMb: number;
  cpuS: number;
  done: Record<string, number>;
  errors: number;
  rows: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const db = await createBenchDatabase('soak');
  const bridge = await startBenchBridge(db.url);
  const pid = bridge.child.pid as number;
  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  try {
    const idp = new TestIdp({
      entityId: 'https://idp.soak/metadata',
      keys: await generateTestKeyPair('Soak IdP'),
    });
    const conn = await adminCall<{ sp: { entityId: string; acsUrl: string } }>(
      bridge.base,
      'POST',
      '/api/v1/connections',
      {
        slug: 'soak',
        name: 'Soak',
        metadataXml: idp.metadataXml(),
        domains: ['soak.example'],
      },
    );
    const app = await adminCall<{ clientId: string; clientSecret: string }>(
      bridge.base,
      'POST',
      '/api/v1/clients',
      {
        name: 'Soak app',
        redirectUris: [REDIRECT],
      },
    );
    const svc = await adminCall<{ clientId: string; clientSecret: string }>(
      bridge.base,
      'POST',
      '/api/v1/clients',
      {
        name: 'Soak service',
        grantTypes: ['client_credentials'],
      },
    );
    const client = new LoginClient({
      publicBase: BASE_URL,
      instances: () => [bridge.base],
      connection: { idp, slug: 'soak', spEntityId: conn.sp.entityId, acsUrl: conn.sp.acsUrl },
      client: { ...app, redirectUri: REDIRECT },
    });
    const basic = `Basic ${Buffer.from(`${svc.clientId}:${svc.clientSecret}`).toString('base64')}`;
    let n = 0;
    const errors: string[] = [];
    const done: Record<Workload, number> = { login: 0, client_credentials: 0 };
    const workloads: Record<Workload, () => Promise<void>> = {
      login: async () => {
        const user = `soak-${n++ % USERS}`;
        const evidence: LoginEvidence = { samlResponses: [], continues: [], codes: [] };
        await client.login(user, `${user}@soak.example`, evidence);
      },
      client_credentials: async () => {
        const res = await fetch(`${bridge.base}/oidc/token`, {
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&scope=api',
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`token: HTTP ${res.status}`);
      },
    };
    let lastTermination = -Infinity;
    let duringTermination = 0;
    const attempt = async (name: Workload) => {
      const began = Date.now();
      try {
        await workloads[name]();
        done[name]++;
      } catch (err) {
        if (
          Date.now() - lastTermination < TERMINATION_GRACE_MS ||
          began - lastTermination < TERMINATION_GRACE_MS
        ) {
          duringTermination++;
          return;
        }
        if (errors.length < 50) errors.push(`${name}: ${(err as Error).message}`);
        else errors.push('');
      }
    };

    // 1. Capacity of each workload alone (closed loop).
    const capacity: Record<Workload, number> = { login: 0, client_credentials: 0 };
    for (const [name, concurrency] of [
      ['login', 8],
      ['client_credentials', 32],
    ] as const) {
      const before = done[name];
      const until = Date.now() + PROBE_SECONDS * 1000;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (Date.now() < until) await attempt(name);
        }),
      );
      capacity[name] = (done[name] - before) / PROBE_SECONDS;
      process.stdout.write(`capacity ${name}: ${capacity[name].toFixed(1)}/s\n`);
    }
    if (errors.length) throw new Error(`errors while measuring capacity: ${errors.slice(0, 5).join('; ')}`);
    await sleep(2000);

    // 2. The soak: both workloads open loop, each at FRACTION/2 of its capacity.
    const rates: Record<Workload, number> = {
      login: (capacity.login * FRACTION) / 2,
      client_credentials: (capacity.client_credentials * FRACTION) / 2,
    };
    const counts = async (): Promise<Record<string, number>> => {
      const rows: Record<string, number> = {};
      for (const table of TABLES)
        rows[table] = Number((await pg.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
      // Rows past their expiry by more than a purge period: should stay 0 (the purges keep up).
      for (const [table, column, grace] of [
        ['oidc_models', 'expires_at', '20 minutes'],
        ['saml_replay_cache', 'expires_at', '10 minutes'],
        ['login_sessions', 'expires_at', '70 minutes'],
      ]) {
        const expired = await pg.query(
          `SELECT count(*) AS n FROM ${table} WHERE ${column} < now() - interval '${grace}'`,
        );
        rows[`${table} (expired > ${grace})`] = Number(expired.rows[0].n);
      }
      return rows;
    };
    done.login = 0;
    done.client_credentials = 0;
    const start = Date.now();
    const cpu0 = cpuMs(pid);
    const samples: Sample[] = [];
    const inFlight = new Set<Promise<void>>();
    let dropped = 0;
    const credit: Record<Workload, number> = { login: 0, client_credentials: 0 };
    let nextSample = start;
    let terminations = 0;
    let backendsTerminated = 0;
    let nextTermination = TERMINATE_SECONDS > 0 ? start + TERMINATE_SECONDS * 1000 : Infinity;
    const alive = () => {
      try {
        process.kill(pid, 0);
        return bridge.child.exitCode === null;
      } catch {
        return false;
      }
    };
    // RSS every second (a /proc read): minute means smooth out V8's garbage-collection sawtooth.
    const rssTrace: Array<{ t: number; mb: number }> = [];
    const rssTimer = setInterval(
      () => rssTrace.push({ t: (Date.now() - start) / 1000, mb: rssMb(pid) }),
      1000,
    );
    while (Date.now() - start < SECONDS * 1000) {
      const tickStart = Date.now();
      for (const name of ['login', 'client_credentials'] as const) {
        credit[name] += rates[name] / 10;
        while (credit[name] >= 1) {
          credit[name]--;
          if (inFlight.size >= 256) {
            dropped++;
            continue;
          }
          const p = attempt(name).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
      }
      if (tickStart >= nextTermination) {
        nextTermination += TERMINATE_SECONDS * 1000;
        lastTermination = Date.now();
        const killed = await pg.query(
          `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()`,
        );
        terminations++;
        backendsTerminated += Number(killed.rows[0].n);
        process.stdout.write(
          `t=${Math.round((tickStart - start) / 1000)}s terminated ${killed.rows[0].n} backends\n`,
        );
      }
      if (!alive()) throw new Error(`the bridge (pid ${pid}) died during the soak`);
      if (tickStart >= nextSample) {
        nextSample += SAMPLE_MS;
        const s: Sample = {
          t: Math.round((tickStart - start) / 1000),
          rssMb: rssMb(pid),
          cpuS: Math.round((cpuMs(pid) - cpu0) / 100) / 10,
          done: { ...done },
          errors: errors.length,
          rows: await counts(),
        };
        samples.push(s);
        process.stdout.write(`t=${s.t}s rss=${s.rssMb}MB errors=${s.errors} ${JSON.stringify(s.done)}\n`);
      }
      await sleep(Math.max(0, 100 - (Date.now() - tickStart)));
    }
    await Promise.all(inFlight);
    clearInterval(rssTimer);
    const end = { rssMb: rssMb(pid), rows: await counts() };

    // RSS is flat when the mean of the last minute is within ±10 % of the mean of the second minute (the
    // first is warm-up); RSS is read every second, since single samples swing with garbage collection.
    const steady = rssTrace.filter((r) => r.t >= 60).map((r) => r.mb);
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const mean = avg(steady);
    const minuteMeans = Array.from({ length: Math.floor(SECONDS / 60) }, (_, m) =>
      Math.round(avg(rssTrace.filter((r) => r.t >= m * 60 && r.t < (m + 1) * 60).map((r) => r.mb))),
    );
    const firstMinute = minuteMeans[1] ?? 0;
    const lastMinute = minuteMeans[minuteMeans.length - 1] ?? 0;
    const drift = minuteMeans.length >= 3 ? (lastMinute - firstMinute) / firstMinute : 0;
    const total = Object.values(done).reduce((a, b) => a + b, 0);
    const result = {
      date: new Date().toISOString(),
      seconds: SECONDS,
      fraction: FRACTION,
      capacityPerSecond: capacity,
      ratePerSecond: rates,
      completed: done,
      errors: errors.length,
      firstErrors: errors.filter(Boolean).slice(0, 10),
      dropped,
      terminations,
      backendsTerminated,
      failedDuringTermination: duringTermination,
      bridgeAlive: alive(),
      rss: {
        min: Math.min(...steady),
        max: Math.max(...steady),
        mean: Math.round(mean),
        minuteMeans,
        firstMinuteMean: Math.round(firstMinute),
        lastMinuteMean: Math.round(lastMinute),
        drift,
      },
      serverCpuMsPerRequest: Math.round(((cpuMs(pid) - cpu0) / Math.max(1, total)) * 100) / 100,
      rowsAtStart: samples[0]?.rows,
      rowsAtEnd: end.rows,
      samples,
    };
    mkdirSync('bench/results', { recursive: true });
    const stamp = result.date.replace(/[:.]/g, '-');
    writeFileSync(join('bench/results', `soak-${stamp}.json`), JSON.stringify(result, null, 2));
    const md = [
      `# Soak ${result.date}`,
      '',
      `${SECONDS} s at ${FRACTION * 100} % of measured capacity (login ${capacity.login.toFixed(1)}/s, ` +
        `client_credentials ${capacity.client_credentials.toFixed(1)}/s alone), each workload taking half: ` +
        `login ${rates.login.toFixed(1)}/s, client_credentials ${rates.client_credentials.toFixed(1)}/s.`,
      '',
      `- Completed: ${done.login} logins, ${done.client_credentials} client_credentials grants; errors: ${errors.length}; dropped (over 256 in flight): ${dropped}`,
      steady.length
        ? `- RSS after warm-up: samples ${result.rss.min}–${result.rss.max} MB (mean ${result.rss.mean} MB); ` +
          `means per minute: ${minuteMeans.join(', ')} MB; minute 2 → last minute: ` +
          `${result.rss.firstMinuteMean} → ${result.rss.lastMinuteMean} MB ` +
          `(drift ${(drift * 100).toFixed(1)} %, limit ±10 %)`
        : '- RSS: the run was too short for a steady state (under a minute)',
      `- Server CPU: ${result.serverCpuMsPerRequest} ms per request`,
      ...(TERMINATE_SECONDS > 0
        ? [
            `- Backend terminations: ${terminations} (every ${TERMINATE_SECONDS} s, ${backendsTerminated} connections killed); ` +
              `requests failed within ${TERMINATION_GRACE_MS / 1000} s of one: ${duringTermination}; the bridge ` +
              `${result.bridgeAlive ? `stayed up (pid ${pid} throughout)` : 'DIED'}`,
          ]
        : []),
      '',
      '| table | rows at first sample | rows at end |',
      '|---|---|---|',
      ...Object.keys(end.rows).map((k) => `| ${k} | ${samples[0]?.rows[k] ?? ''} | ${end.rows[k]} |`),
      '',
    ].join('\n');
    writeFileSync(join('bench/results', `soak-${stamp}.md`), md);
    process.stdout.write(`${md}\n`);
    if (errors.length || dropped || Math.abs(drift) > 0.1 || !result.bridgeAlive)
      throw new Error('the soak failed its criteria (see above)');
  } finally {
    await pg.end();
    await bridge.stop();
    await db.drop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`soak failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
