import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Where the embedded server can be reached by the `pg` driver. */
export interface EmbeddedPostgresAddress {
  host: string;
  port: number;
}

export class DataDirectoryLockedError extends Error {}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock on the data directory (PGlite has none of its own: two processes on one directory
 * silently lose writes). The lock file holds the owner's pid; a lock left by a dead process is taken over.
 */
export class DataDirectoryLock {
  private held = false;
  constructor(private readonly file: string) {}

  acquire(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.file, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        this.held = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = Number.parseInt(readFileSync(this.file, 'utf8').trim(), 10);
        if (Number.isInteger(owner) && owner !== process.pid && processAlive(owner)) {
          throw new DataDirectoryLockedError(
            `The data directory ${this.file.replace(/\/[^/]+$/, '')} is in use by another bridge process (pid ${owner}). ` +
              'Stop it, or give this instance its own DATA_DIR, or use DATABASE_URL to share a PostgreSQL server.',
          );
        }
        rmSync(this.file, { force: true });
      }
    }
    throw new DataDirectoryLockedError(`Could not lock ${this.file}`);
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    rmSync(this.file, { force: true });
  }
}

interface PGliteLike {
  close(): Promise<void>;
  waitReady: Promise<void>;
}
interface SocketServerLike {
  start(): Promise<void>;
  stop(): Promise<void>;
  getServerConn(): string;
}

/**
 * The embedded database: PostgreSQL compiled to WASM (PGlite), persisted in `<dataDir>/pgdata`, served
 * over the PostgreSQL wire protocol on loopback (pglite-socket) so the ordinary `pg` driver and the same
 * migrations work unchanged.
 */
export class EmbeddedPostgres {
  private db?: PGliteLike;
  private server?: SocketServerLike;
  private readonly lock: DataDirectoryLock;

  constructor(
    private readonly dataDir: string,
    private readonly maxConnections = 16,
  ) {
    this.lock = new DataDirectoryLock(join(dataDir, 'bridge.lock'));
  }

  async start(): Promise<EmbeddedPostgresAddress> {
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    this.lock.acquire();
    try {
      const { PGlite } = await import('@electric-sql/pglite');
      const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
      const db = new PGlite(join(this.dataDir, 'pgdata'));
      this.db = db;
      await db.waitReady;
      const server = new PGLiteSocketServer({
        db,
        host: '127.0.0.1',
        port: 0,
        maxConnections: this.maxConnections,
      });
      this.server = server;
      await server.start();
      const address = server.getServerConn();
      const [host, port] = address.split(':');
      if (host === undefined || port === undefined) {
        throw new Error(`The PGlite socket server reports the address "${address}", not host:port`);
      }
      return { host, port: Number(port) };
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    try {
      await this.server?.stop();
      await this.db?.close();
    } finally {
      this.server = undefined;
      this.db = undefined;
      this.lock.release();
    }
  }
}
