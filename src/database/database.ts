import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { Pool, type PoolConfig } from 'pg';
import { DataSource } from 'typeorm';
import type { BridgeConfig } from '../config/bridge-config';
import { buildDataSourceOptions } from './data-source-options';
import { EmbeddedPostgres } from './embedded-postgres';
import { handleConnectionLoss, pgPoolOf } from './pg-pool';

/** Advisory-lock key that serialises migrations across instances starting together. */
const MIGRATION_LOCK_KEY = 727_001;
/** At most one warning about lost connections this often. */
const LOSS_LOG_MS = 5000;

export interface Readiness {
  /** The database answered within the timeout. */
  reachable: boolean;
  /** Why it did not, when it did not. */
  reason?: string;
  /** Migrations of this build not applied to the database (unknown, so empty, when unreachable). */
  pending: string[];
  /** How many migrations are applied. */
  applied: number;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The bridge's database: a PostgreSQL server (DATABASE_URL) or the embedded one, opened with a TypeORM
 * DataSource, migrated, and closed on shutdown.
 */
export class Database implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private readonly expectedMigrations: string[];
  /** Connections lost since the last warning about it (one warning per LOSS_LOG_MS, with the count). */
  private lostSinceLog = 0;
  private lostLoggedAt = 0;
  private ephemeral?: Pool;

  private constructor(
    readonly dataSource: DataSource,
    readonly mode: 'postgres' | 'embedded',
    private readonly embedded?: EmbeddedPostgres,
  ) {
    this.expectedMigrations = dataSource.migrations.map((m) => m.name ?? m.constructor.name);
    const pool = pgPoolOf(dataSource);
    if (pool) handleConnectionLoss(pool, (err) => this.connectionLost(err));
  }

  /**
   * A pooled connection died (server restart, failover, `pg_terminate_backend`, network): the pool replaces
   * it on demand, requests meanwhile fail as `database_unavailable`. Logged, never thrown.
   */
  private connectionLost(err: Error): void {
    this.lostSinceLog++;
    const now = Date.now();
    if (now - this.lostLoggedAt < LOSS_LOG_MS) return;
    const code = (err as { code?: string }).code;
    this.logger.warn(
      `Lost ${this.lostSinceLog} database connection(s) (${err.message}${code ? `, ${code}` : ''}); ` +
        'they are replaced on demand',
    );
    this.lostSinceLog = 0;
    this.lostLoggedAt = now;
  }

  /**
   * The pool for writes of state that lives for one hop of a login and is never worth a WAL flush of its
   * own (see `Statements.rows`' `ephemeral`): the same server and database, on a few connections whose
   * commits do not wait for the WAL to reach the disk (`synchronous_commit = off`). Such a commit is
   * visible to every instance at once, as any commit; only a server crash in the following fraction of a
   * second (3 × wal_writer_delay at most) can lose it, and the next ordinary commit on the server flushes
   * it with its own. Undefined on the embedded database (one session: nothing to gain).
   */
  ephemeralPool(): Pool | undefined {
    if (this.mode !== 'postgres') return undefined;
    if (!this.ephemeral) {
      const base = pgPoolOf(this.dataSource);
      if (!base) return undefined;
      const options = (base as unknown as { options: PoolConfig }).options;
      this.ephemeral = new Pool({
        ...options,
        max: Math.min(4, options.max ?? 4),
        options: `${options.options ?? ''} -c synchronous_commit=off`.trim(),
      });
      handleConnectionLoss(this.ephemeral, (err) => this.connectionLost(err));
      // An idle connection the server dropped: the pool replaces it and re-emits the connection's 'error',
      // which the listener above counted already; heard here only so that it is never unhandled.
      this.ephemeral.on('error', () => undefined);
    }
    return this.ephemeral;
  }

  /** Opens the database (starting the embedded server when there is no DATABASE_URL), with retries. */
  static async open(
    config: Pick<BridgeConfig, 'databaseUrl' | 'dataDir'>,
    options: { migrate?: boolean; connectAttempts?: number } = {},
  ): Promise<Database> {
    const logger = new Logger('Database');
    let embedded: EmbeddedPostgres | undefined;
    let dataSource: DataSource;
    if (config.databaseUrl) {
      dataSource = new DataSource(buildDataSourceOptions({ url: config.databaseUrl, embedded: false }));
    } else {
      embedded = new EmbeddedPostgres(config.dataDir);
      const started = Date.now();
      const address = await embedded.start();
      logger.log(
        `Embedded PostgreSQL (PGlite) ready in ${Date.now() - started} ms, data in ${config.dataDir}`,
      );
      dataSource = new DataSource(buildDataSourceOptions({ ...address, embedded: true }));
    }
    const attempts = options.connectAttempts ?? 10;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await dataSource.initialize();
          break;
        } catch (err) {
          if (attempt >= attempts) throw err;
          const wait = Math.min(500 * attempt, 3000);
          logger.warn(`Database not reachable (${(err as Error).message}); retrying in ${wait} ms`);
          await new Promise((r) => setTimeout(r, wait));
        }
      }
      const database = new Database(dataSource, embedded ? 'embedded' : 'postgres', embedded);
      if (options.migrate !== false) await database.migrate();
      return database;
    } catch (err) {
      if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
      await embedded?.stop();
      throw err;
    }
  }

  /** Applies pending migrations; concurrent instances wait for each other (advisory lock). */
  async migrate(): Promise<string[]> {
    const runner = this.dataSource.createQueryRunner();
    try {
      if (this.mode === 'postgres') await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      const applied = await this.dataSource.runMigrations({ transaction: 'all' });
      for (const m of applied) this.logger.log(`Applied migration ${m.name}`);
      return applied.map((m) => m.name);
    } finally {
      if (this.mode === 'postgres') {
        await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
      }
      await runner.release();
    }
  }

  /** Whether the database answers within the timeout, and which migrations of this build it lacks. */
  async readiness(timeoutMs = 2000): Promise<Readiness> {
    try {
      const rows = await withTimeout<Array<{ name: string }>>(
        this.dataSource.query('SELECT name FROM schema_migrations'),
        timeoutMs,
        'Database check',
      );
      const applied = new Set(rows.map((r) => r.name));
      const pending = this.expectedMigrations.filter((m) => !applied.has(m));
      return { reachable: true, pending, applied: applied.size };
    } catch (err) {
      return { reachable: false, reason: (err as Error).message, pending: [], applied: 0 };
    }
  }

  async close(): Promise<void> {
    const ephemeral = this.ephemeral;
    this.ephemeral = undefined;
    await ephemeral?.end().catch(() => undefined);
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.embedded?.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
