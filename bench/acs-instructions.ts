/**
 * `npm run bench:instructions`: the ACS's XML work per response in CPU instructions, a figure this
 * machine's speed does not move. It runs `bench/acs-xml.js --mode inline` (the real ACS checks and node-saml
 * in one thread, the database faked) under valgrind's callgrind with V8 made deterministic
 * (`--predictable --single-threaded`), twice per kind with the same test keys: with --n1 and with --n2
 * responses. Their difference over n2 − n1 is the instructions of one warm response (start-up, key loading
 * and warm-up cancel). Repeated runs of one build agree to about 0.05 %; use it for A/B runs of changes to
 * the ACS's XML path or its dependencies, whose effect on the CPU time the machine's drift (±20 %) hides.
 *
 *   npm run bench:instructions [-- --kind assertion-signed,encrypted,login --n1 10 --n2 40]
 *
 * Needs valgrind (Debian: `apt-get install valgrind`). BENCH_SERVER_NODE runs it on another Node.js.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchServerNode, cliOption as option } from './bench-bridge';

const KINDS = option('kind', 'assertion-signed,encrypted').split(',');
const N1 = Number(option('n1', '10'));
const N2 = Number(option('n2', '40'));

/** Instructions callgrind counted for one inline run of `n` responses of `kind`. */
function instructions(kind: string, n: number, keys: string): number {
  const run = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      benchServerNode(),
      '--predictable',
      '--single-threaded',
      join(__dirname, 'acs-xml.js'),
      ...['--mode', 'inline', '--kind', kind, '--warmup', '0', '--n', String(n), '--keys', keys],
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const collected = /Collected : (\d+)/.exec(run.stderr);
  if (run.status !== 0 || !collected?.[1]) {
    throw new Error(
      `callgrind run of ${kind} × ${n} failed (exit ${run.status}): ${run.stderr.slice(-2000)}`,
    );
  }
  return Number(collected[1]);
}

function main(): void {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    process.stderr.write('bench:instructions needs valgrind (Debian: apt-get install valgrind)\n');
    process.exit(2);
  }
  if (!(N2 > N1 && N1 >= 0)) throw new Error(`--n2 (${N2}) must exceed --n1 (${N1}) ≥ 0`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-instructions-'));
  try {
    const keys = join(dir, 'keys.json');
    // The keys first, outside the count: both counted runs then load the same file.
    execFileSync(
      benchServerNode(),
      [join(__dirname, 'acs-xml.js'), '--mode', 'inline', '--n', '1', '--warmup', '0', '--keys', keys],
      { stdio: 'ignore' },
    );
    const node = execFileSync(benchServerNode(), ['-v'], { encoding: 'utf8' }).trim();
    for (const kind of KINDS) {
      const first = instructions(kind, N1, keys);
      const second = instructions(kind, N2, keys);
      process.stdout.write(
        `${JSON.stringify({
          kind,
          node,
          [`instructionsAt${N1}`]: first,
          [`instructionsAt${N2}`]: second,
          instructionsPerResponse: Math.round((second - first) / (N2 - N1)),
        })}\n`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
