// Where a V8 .cpuprofile spends its time: the functions with the most self time, self time per package
// (node_modules/<pkg>, node internals, our dist/ code) and total time under each package's frames.
//   node dist-bench/bench/top-frames.js <file> [n] [--last <seconds>]   (--last: only the profile's final
//   seconds, i.e. the load run without the start-up and seeding)
// The benchmark uses the same summary for its profiled pass, over each run's own window.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** The parts of V8's .cpuprofile format this reads. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame; children?: number[] }>;
  /** Microseconds on the machine's monotonic clock (the one `process.hrtime` reads), in any process. */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Shares of the sampled time (0–1), largest first. */
export type Shares = Array<{ name: string; share: number }>;

/** Shares are of the thread's busy time: V8's `(idle)` samples (waiting for I/O) are counted apart. */
export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  /** Self time by function (`name file:line`). */
  functions: Shares;
  /** Self time by package: node_modules/<pkg>, `node (internal)`, `bridge (dist/)`, or V8's own. */
  packages: Shares;
  /** Time under each package's frames, anywhere on the stack (inclusive; shares overlap). */
  packagesInclusive: Shares;
}

function packageOf({ url, functionName }: CallFrame): string {
  const pkg = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg !== undefined) return pkg;
  if (url.startsWith('node:')) return 'node (internal)';
  if (/\/dist\//.test(url)) return 'bridge (dist/)';
  return functionName.startsWith('(') ? functionName : `native: ${functionName}`;
}

const frameOf = ({ functionName, url, lineNumber }: CallFrame): string =>
  `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${lineNumber + 1}`;

/** The profile's samples taken in [fromUs, toUs] (default: all of it), summarised. */
export function summarizeProfile(
  profile: CpuProfile,
  window: { fromUs?: number; toUs?: number } = {},
): ProfileSummary {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const from = window.fromUs ?? -Infinity;
  const to = window.toUs ?? Infinity;
  const self = new Map<string, number>();
  const selfPkg = new Map<string, number>();
  const totalPkg = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, v: number) => map.set(key, (map.get(key) ?? 0) + v);
  let total = 0;
  let idle = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    // A sample stands for the time until the next one.
    const v = profile.timeDeltas[i + 1] ?? 0;
    const sample = profile.samples[i];
    const leaf = sample === undefined ? undefined : nodes.get(sample);
    if (!leaf) continue;
    if (leaf.callFrame.functionName === '(idle)') {
      idle += v;
      continue;
    }
    total += v;
    add(self, frameOf(leaf.callFrame), v);
    add(selfPkg, packageOf(leaf.callFrame), v);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const node = nodes.get(id);
      // Every sample is under V8's root: it tells nothing.
      if (node && node.callFrame.functionName !== '(root)') seen.add(packageOf(node.callFrame));
    }
    for (const pkg of seen) add(totalPkg, pkg, v);
  }
  const shares = (map: Map<string, number>): Shares =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, v]) => ({ name, share: total ? v / total : 0 }));
  return {
    busyMs: total / 1000,
    idleMs: idle / 1000,
    functions: shares(self),
    packages: shares(selfPkg),
    packagesInclusive: shares(totalPkg),
  };
}

/** `name 12.3 %, …` for the first `n`. */
export function topShares(shares: Shares, n: number): string {
  return shares
    .slice(0, n)
    .map((s) => `${s.name} ${(100 * s.share).toFixed(1)} %`)
    .join(', ');
}

/** The main thread's profile in a --cpu-prof-dir (files are CPU.<date>.<time>.<pid>.<thread>.<seq>). */
export function mainThreadProfile(dir: string): CpuProfile | undefined {
  const file = readdirSync(dir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  return file ? (JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile) : undefined;
}

function main(argv: string[]): void {
  const args = [...argv];
  const lastAt = args.indexOf('--last');
  const lastS = lastAt >= 0 ? Number(args.splice(lastAt, 2)[1]) : undefined;
  const [file, n = '25'] = args;
  if (!file) {
    process.stderr.write('usage: node dist-bench/bench/top-frames.js <file.cpuprofile> [n] [--last <s>]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const summary = summarizeProfile(
    profile,
    lastS === undefined ? {} : { fromUs: profile.endTime - lastS * 1e6 },
  );
  const print = (title: string, shares: Shares, count: number) => {
    process.stdout.write(`${title}\n`);
    for (const s of shares.slice(0, count))
      process.stdout.write(`${(100 * s.share).toFixed(1).padStart(5)}%  ${s.name}\n`);
  };
  process.stdout.write(
    `${(summary.busyMs / 1000).toFixed(1)} s busy, ${(summary.idleMs / 1000).toFixed(1)} s idle (shares are of the busy time)\n`,
  );
  print('Self time by function:', summary.functions, Number(n));
  print('\nSelf time by package:', summary.packages, 20);
  print('\nTotal time under each package (inclusive):', summary.packagesInclusive, 25);
}

if (require.main === module) main(process.argv.slice(2));
