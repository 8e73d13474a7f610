import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';

/** The repository root (also from a compiled copy of this file, e.g. under dist-bench/). */
function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'src'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('project root not found');
    dir = parent;
  }
  return dir;
}

const ROOT = projectRoot();
const MAIN = join(ROOT, 'dist', 'src', 'main.js');

/**
 * The Node.js options the production command gives the build: package.json's start script is
 * `node <options> dist/src/main.js`, and every bridge process that tests and the benchmark start runs with
 * the same options, so they measure and test what `npm start` runs.
 */
export function productionNodeArgs(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const words = (pkg.scripts?.start ?? '').trim().split(/\s+/);
  if (words.length < 2 || words[0] !== 'node' || words[words.length - 1] !== 'dist/src/main.js') {
    throw new Error(
      `package.json's start script is not "node [options] dist/src/main.js": ${pkg.scripts?.start}`,
    );
  }
  return words.slice(1, -1);
}

/** A free TCP port on loopback. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds the production bundle (`nest build`) when dist/ is missing or older than src/. */
export function ensureProductionBuild(): void {
  if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js'), 'build'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

export interface BridgeProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port> of this instance. */
  base: string;
  port: number;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM and wait (graceful), or SIGKILL. */
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

/** How long to wait for /readyz after start. */
const READY_TIMEOUT_MS = 30_000;

/**
 * Starts the production build as `npm start` does (`node <productionNodeArgs> dist/src/main.js`, then
 * `nodeArgs`, which can override them) as its own process: for tests that kill instances, and for
 * benchmarks. Resolves once `/readyz` answers 200.
 */
export async function startBridgeProcess(options: {
  env: Record<string, string>;
  port?: number;
  nodeArgs?: string[];
  /** The Node.js binary to run it with (default: the one running this process). */
  node?: string;
  stdio?: 'inherit' | 'ignore';
}): Promise<BridgeProcess> {
  const port = options.port ?? (await freeLoopbackPort());
  const child = spawn(
    options.node ?? process.execPath,
    [...productionNodeArgs(), ...(options.nodeArgs ?? []), MAIN],
    {
      cwd: ROOT,
      env: { ...process.env, HOST: '127.0.0.1', ...options.env, PORT: String(port) },
      stdio: ['ignore', options.stdio ?? 'ignore', options.stdio ?? 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exitedEarly = false;
  const markExited = () => (exitedEarly = true);
  exited.then(markExited, markExited);
  while (Date.now() < deadline && !exitedEarly) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) return { child, base, port, exited, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop('SIGKILL');
  throw new Error(`the bridge on port ${port} did not become ready (exit code ${child.exitCode})`);
}
