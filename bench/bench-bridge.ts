import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { BridgeProcess, startBridgeProcess } from '../test/support/bridge-process';

export const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
/** The bridge's public URL; the load generator talks to 127.0.0.1 with X-Forwarded-Proto as a proxy does. */
export const BASE_URL = 'https://bench.local';
export const PG_ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A typical Entra ID or Okta response's attributes: a few profile attributes and eight group object ids. */
export function benchProfileAttributes(i: number): Record<string, string | string[]> {
  return {
    email: `user${i}@bench.example`,
    givenName: 'Bench',
    sn: 'User',
    displayName: `Bench User ${i}`,
    department: 'Engineering',
    title: 'Software Engineer',
    employeeNumber: String(100000 + i),
    groups: Array.from(
      { length: 8 },
      (_, g) => `${String(g).padStart(8, '0')}-5b1f-4c2a-9d3e-${String(i).padStart(12, '0')}`,
    ),
  };
}

/** A fresh database on the benchmark's PostgreSQL server: its URL, and how to drop it. */
export async function createBenchDatabase(
  prefix: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `bridge_${prefix}_${Date.now()}`;
  const admin = new Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new Client({ connectionString: PG_ADMIN });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** The value after `--<name>` on this process's command line (bench scripts' options), else `fallback`. */
export function cliOption(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/**
 * The Node.js binary the bench runs the servers with (the bridge and Polis): BENCH_SERVER_NODE, a path, for
 * A/B runs of the runtime; by default the one running the load generator.
 */
export function benchServerNode(): string {
  return process.env.BENCH_SERVER_NODE || process.execPath;
}

/** BENCH_NODE_ARGS (space-separated): Node/V8 options added after the production ones, for A/B runs of them. */
export function benchNodeArgs(): string[] {
  return (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
}

/**
 * The production build on `databaseUrl` (or, without one, on the embedded database in a fresh data
 * directory), as its own process (the load generator is this process).
 */
export function startBenchBridge(databaseUrl?: string, profileDir?: string): Promise<BridgeProcess> {
  // With a profileDir (or BENCH_CPU_PROF=1: bench/results/profiles) the bridge writes a V8 CPU profile of
  // each of its threads there when it exits.
  const dir = profileDir ?? (process.env.BENCH_CPU_PROF === '1' ? 'bench/results/profiles' : undefined);
  const profile = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  // The bridge runs with the production command's options (startBridgeProcess), then BENCH_NODE_ARGS.
  return startBridgeProcess({
    nodeArgs: [...benchNodeArgs(), ...profile],
    node: benchServerNode(),
    stdio: 'inherit',
    env: {
      NODE_ENV: 'production',
      BASE_URL,
      TRUST_PROXY: 'true',
      ...(databaseUrl
        ? { DATABASE_URL: databaseUrl }
        : { DATA_DIR: mkdtempSync(join(tmpdir(), 'bridge-bench-embedded-')) }),
      BRIDGE_SECRET: 'bench-bridge-secret-0123456789abcdef0123',
      ADMIN_API_KEY: ADMIN_KEY,
      // BENCH_LOG_LEVEL=info measures the cost of writing every access-log line (default: errors only).
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
      METADATA_SCHEDULER_SECONDS: '0',
      // The webhook receiver of the bench runs on loopback (production refuses loopback by default).
      OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16',
      // The initial SCIM sync runs well past a directory's usual pace.
      SCIM_RATE_LIMIT_PER_MINUTE: '10000000',
      // Unset: the bridge's default (one worker thread per core, at most 4).
      ...(process.env.SAML_ENGINE_THREADS ? { SAML_ENGINE_THREADS: process.env.SAML_ENGINE_THREADS } : {}),
    },
  });
}

/** An admin API call; throws on an error answer. */
export async function adminCall<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** CPU milliseconds (user + system) the process has used so far. */
export function cpuMs(pid: number): number {
  const afterName = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1];
  if (afterName === undefined) throw new Error(`/proc/${pid}/stat does not read "pid (name) state …"`);
  const fields = afterName.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** CPU milliseconds used so far by each of this machine's PostgreSQL server processes, by pid. */
function postgresCpuByPid(): Map<number, number> {
  const byPid = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres')
        byPid.set(Number(entry), cpuMs(Number(entry)));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return byPid;
}

/**
 * Starts counting the CPU of this machine's PostgreSQL server processes (0 when PostgreSQL runs elsewhere,
 * or in the bridge as the embedded database does). The returned function gives the CPU used since, by the
 * processes alive at its call (a backend that exited meanwhile is not counted: a slight undercount).
 */
export function postgresCpuSince(): () => number {
  const before = postgresCpuByPid();
  return () => {
    let used = 0;
    for (const [pid, ms] of postgresCpuByPid()) used += ms - (before.get(pid) ?? 0);
    return used;
  };
}

/** CPU milliseconds (user + system) this process (the load generator) has used so far. */
export function ownCpuMs(): number {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
}

function statusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

/** Peak resident set size since the process started, or since the last resetPeakRss, MB. */
export const peakRssMb = (pid: number): number => statusMb(pid, 'VmHWM');

/**
 * Starts the kernel's peak-RSS mark again from the current RSS (Linux: `5` to /proc/<pid>/clear_refs), so
 * that a run's peak is its own, not the start-up's (the embedded database's first start, its initdb, peaks
 * at about twice the bridge's RSS under load). False where the system refuses: the peak is then since start.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
/** Current resident set size, MB. */
export const rssMb = (pid: number): number => statusMb(pid, 'VmRSS');
