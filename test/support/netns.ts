import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

/**
 * A private network made for one test: a network namespace with one end of a veth pair, the host keeping
 * the other end. The host side is `hostAddress`, the namespace side `nsAddress` (a /30 in 10.213/16, a
 * non-loopback private address like the ones internal apps run on). Needs root and `ip netns`.
 */
export interface PrivateNetwork {
  name: string;
  hostAddress: string;
  nsAddress: string;
  /** Runs a command inside the namespace. */
  spawn(command: string, args: string[]): ChildProcess;
  /** Removes the namespace and the veth pair; safe to call twice. */
  teardown(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** Why a private network cannot be made here, or undefined when it can. */
export function privateNetworkUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (ip netns needs CAP_NET_ADMIN)';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return undefined;
  } catch (err) {
    return `ip netns is not available (${(err as Error).message})`;
  }
}

/** Whether a test that needs a private network must run (CI as root) rather than be skipped. */
export function privateNetworkRequired(): boolean {
  return process.env.REQUIRE_POSTGRES === '1' && process.getuid?.() === 0;
}

export function createPrivateNetwork(): PrivateNetwork {
  const id = process.pid % 60000;
  const name = `sbtest${id}`;
  const hostIf = `sbh${id}`;
  const nsIf = `sbn${id}`;
  const third = id % 250;
  const hostAddress = `10.213.${third}.1`;
  const nsAddress = `10.213.${third}.2`;
  const children: ChildProcess[] = [];
  let down = false;
  const teardown = () => {
    if (down) return;
    down = true;
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    try {
      ip('netns', 'del', name);
    } catch {
      /* not created */
    }
    try {
      ip('link', 'del', hostIf);
    } catch {
      /* removed with the namespace */
    }
  };
  try {
    // Left over by a run that was killed: start clean.
    try {
      ip('netns', 'del', name);
    } catch {
      /* none */
    }
    ip('netns', 'add', name);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', name);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('netns', 'exec', name, 'ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsIf);
    ip('netns', 'exec', name, 'ip', 'link', 'set', nsIf, 'up');
    ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  } catch (err) {
    teardown();
    throw err;
  }
  process.once('exit', teardown);
  return {
    name,
    hostAddress,
    nsAddress,
    spawn: (command, args) => {
      const child = spawn('ip', ['netns', 'exec', name, command, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      return child;
    },
    teardown,
  };
}
