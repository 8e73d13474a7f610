import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const PG_ROOT = '/usr/lib/postgresql';

/** The newest installed PostgreSQL server binaries (Debian layout), or undefined. */
export function postgresBinDir(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT)
    .filter(
      (v) => existsSync(join(PG_ROOT, v, 'bin', 'pg_ctl')) && existsSync(join(PG_ROOT, v, 'bin', 'initdb')),
    )
    .sort((x, y) => Number(y) - Number(x));
  const [newest] = versions;
  return newest === undefined ? undefined : join(PG_ROOT, newest, 'bin');
}

/**
 * A throwaway PostgreSQL server of the test's own (initdb into a temp dir, its own port), so that a test
 * can stop and restart the database under load without touching the machine's server. As root, the server
 * runs as the `postgres` user (PostgreSQL refuses to run as root).
 */
export class PrivatePostgres {
  private constructor(
    private readonly bin: string,
    readonly dir: string,
    private currentPort: number,
  ) {}

  /** The server's port (another one when the one asked for was taken by the time the server bound it). */
  get port(): number {
    return this.currentPort;
  }

  static create(port: number): PrivatePostgres {
    const bin = postgresBinDir();
    if (!bin) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql');
    const dir = mkdtempSync(join(tmpdir(), 'bridge-pg-'));
    const pg = new PrivatePostgres(bin, dir, port);
    if (userInfo().uid === 0) {
      const ids = execFileSync('id', ['-u', 'postgres']).toString().trim();
      const gid = execFileSync('id', ['-g', 'postgres']).toString().trim();
      chownSync(dir, Number(ids), Number(gid));
    }
    pg.run('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
    // The free port the caller found can be taken by another process before the server binds it (tests run
    // in parallel): then start on another one.
    for (let attempt = 1; ; attempt++) {
      try {
        pg.start();
        return pg;
      } catch (err) {
        const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '';
        if (
          attempt >= 5 ||
          !/could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(log)
        )
          throw err;
        pg.currentPort = 20_000 + Math.floor(Math.random() * 40_000);
      }
    }
  }

  private run(tool: string, args: string[]): void {
    const cmd = join(this.bin, tool);
    const [file, argv] =
      userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    execFileSync(file, argv, { stdio: 'ignore', cwd: this.dir });
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  private get options(): string {
    return `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  }

  start(): void {
    this.run('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-o',
      this.options,
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-t',
      '120',
      'start',
    ]);
  }

  /**
   * `pg_ctl restart` in fast mode, as an operator or a minor-version upgrade does: every backend gets
   * FATAL 57P01 ("terminating connection due to administrator command"), then the server starts again.
   */
  restart(): void {
    this.run('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-o',
      this.options,
      '-l',
      join(this.dir, 'log'),
      '-m',
      'fast',
      '-w',
      'restart',
    ]);
  }

  /** Stops the server (fast: disconnects every client, as a restart or failover does). */
  stop(): void {
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }

  destroy(): void {
    try {
      this.stop();
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
