import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Client, type Notification, type PoolClient } from 'pg';
import type { EntitySubscriberInterface, QueryRunner } from 'typeorm';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { Database } from './database';
import { ANNOUNCED_TABLES } from './migrations/1764800000000-change-notifications';
import { pgPoolOf } from './pg-pool';

export type AnnouncedTable = (typeof ANNOUNCED_TABLES)[number];

const CHANNEL = 'bridge_changes';
/** The payload prefix of `caughtUp`'s markers: they announce no table. */
const MARKER = 'marker:';

const announced = (name: string): AnnouncedTable | undefined => ANNOUNCED_TABLES.find((t) => t === name);
const RETRY_MAX_MS = 10_000;

/**
 * Tells this instance when rows it may have cached changed, on any instance: a dedicated PostgreSQL
 * connection LISTENs to the notifications the tables' triggers send on commit (migration
 * ChangeNotifications). Each table has a stamp that moves on every change; while the connection is down
 * there is no stamp, and callers read the database directly. A reconnect moves every stamp, since
 * notifications may have been missed. On the embedded database every connection shares one PGlite session:
 * one LISTEN covers them all, and a commit's notifications come back to the connection that committed,
 * with its answer (see `followEmbedded`).
 */
@Injectable()
export class ChangeFeed implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('ChangeFeed');
  private readonly stamps = new Map<AnnouncedTable, number>(ANNOUNCED_TABLES.map((t) => [t, 0]));
  private client?: Client;
  private listening = false;
  private stopped = false;
  private retryMs = 500;
  private retryTimer?: NodeJS.Timeout;
  /** `caughtUp`'s markers not heard yet, with what to do when they are (or when listening stops). */
  private readonly markers = new Map<string, () => void>();

  constructor(
    private readonly database: Database,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.database.mode === 'embedded') return this.followEmbedded();
    if (!this.config.databaseUrl) return;
    this.followOwnWrites();
    await this.connect();
  }

  private readonly heard = (msg: Notification): void => {
    if (msg.channel !== CHANNEL) return;
    if (msg.payload?.startsWith(MARKER)) {
      this.markers.get(msg.payload)?.();
      return;
    }
    const table = announced(msg.payload ?? '');
    // An unknown payload (a newer instance's table) moves every stamp: never keep a stale row.
    this.bump(table ? [table] : ANNOUNCED_TABLES);
  };

  /**
   * The embedded database: this process is its only user (the data directory is locked), and its pool's
   * connections share one PGlite session. One LISTEN on that session hears every commit; PGlite answers a
   * commit's notifications to the connection that committed, before the commit's own result, so each pooled
   * connection passes them on and a write is seen by the caches before its caller continues.
   */
  private async followEmbedded(): Promise<void> {
    const pool = pgPoolOf(this.database.dataSource);
    if (!pool) return;
    const following = new WeakSet<PoolClient>();
    const follow = (client: PoolClient) => {
      if (following.has(client)) return;
      following.add(client);
      client.on('notification', this.heard);
    };
    pool.on('connect', follow);
    // The connections the pool opened before this (migrations, start-up reads).
    for (const client of (pool as unknown as { _clients?: PoolClient[] })._clients ?? []) follow(client);
    await pool.query(`LISTEN ${CHANNEL}`);
    this.bump(ANNOUNCED_TABLES);
    this.listening = true;
  }

  /**
   * Read-your-writes on this instance: its own writes through TypeORM move the stamps at once and again on
   * commit, without waiting for their notification to come back over the LISTEN connection (a request
   * right after a change must not be served the cached row).
   */
  private followOwnWrites(): void {
    // The announced tables a transaction wrote, kept on its query runner until it ends.
    type Noted = { bridgeChanged?: Set<AnnouncedTable> };
    const wrote = (event: { metadata: { tableName: string }; queryRunner: QueryRunner }): void => {
      const table = announced(event.metadata.tableName);
      if (!table) return;
      this.bump([table]);
      if (event.queryRunner.isTransactionActive)
        ((event.queryRunner.data as Noted).bridgeChanged ??= new Set()).add(table);
    };
    const ended = (runner: QueryRunner): Set<AnnouncedTable> | undefined => {
      const data = runner.data as Noted;
      const changed = data.bridgeChanged;
      delete data.bridgeChanged;
      return changed;
    };
    const subscriber: EntitySubscriberInterface = {
      afterInsert: wrote,
      afterUpdate: wrote,
      afterRemove: wrote,
      afterSoftRemove: wrote,
      afterRecover: wrote,
      afterTransactionCommit: ({ queryRunner }) => {
        const changed = ended(queryRunner);
        if (changed) this.bump([...changed]);
      },
      afterTransactionRollback: ({ queryRunner }) => void ended(queryRunner),
    };
    (this.database.dataSource.subscribers as EntitySubscriberInterface[]).push(subscriber);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.listening = false;
    this.releaseMarkers();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** Whether changes are being received (caching is safe). */
  get live(): boolean {
    return this.listening;
  }

  /**
   * A number that changes whenever a row of any of `tables` may have changed; undefined when changes are
   * not being received (do not cache).
   */
  stamp(tables: readonly AnnouncedTable[]): number | undefined {
    if (!this.listening) return undefined;
    let sum = 0;
    for (const t of tables) sum += this.stamps.get(t) ?? 0;
    return sum;
  }

  /**
   * Resolves once this instance has heard every change committed anywhere before the call. Another
   * instance's commit reaches this one's caches when its notification arrives, usually well under a
   * millisecond later, never before the commit; this is the barrier for a caller that must know it has
   * arrived. It sends a marker on the channel and waits to hear it back: PostgreSQL delivers notifications
   * in commit order. When not listening there is nothing to wait for: nothing is cached.
   */
  async caughtUp(): Promise<void> {
    if (!this.listening) return;
    const marker = `${MARKER}${randomUUID()}`;
    const heard = new Promise<void>((resolve) => this.markers.set(marker, resolve));
    try {
      await this.database.dataSource.query('SELECT pg_notify($1, $2)', [CHANNEL, marker]);
      await heard;
    } finally {
      this.markers.delete(marker);
    }
  }

  /** Listening stopped: every stamp moved and caches are bypassed, so no marker needs to arrive. */
  private releaseMarkers(): void {
    for (const release of this.markers.values()) release();
  }

  private bump(tables: readonly AnnouncedTable[]): void {
    for (const t of tables) this.stamps.set(t, (this.stamps.get(t) ?? 0) + 1);
  }

  private async connect(): Promise<void> {
    // Stopped, or the application's own database was closed (e.g. a start that failed): nothing to follow.
    if (this.stopped || !this.database.dataSource.isInitialized) return;
    const client = new Client({
      connectionString: this.config.databaseListenUrl,
      application_name: 'saml-bridge-changes',
      keepAlive: true,
      connectionTimeoutMillis: 5000,
    });
    client.on('notification', this.heard);
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      this.retry(err as Error);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    // Anything cached before this connection may have missed a change.
    this.bump(ANNOUNCED_TABLES);
    this.listening = true;
    this.retryMs = 500;
  }

  private lost(client: Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.listening = false;
    this.bump(ANNOUNCED_TABLES);
    this.releaseMarkers();
    client.end().catch(() => undefined);
    this.retry(err ?? new Error('connection ended'));
  }

  private retry(err: Error): void {
    if (this.stopped) return;
    this.logger.warn(
      `Not receiving change notifications (${err.message}); caches are bypassed, retrying in ${this.retryMs} ms`,
    );
    this.retryTimer = setTimeout(() => void this.connect().catch((e: Error) => this.retry(e)), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }
}

/** Deep-freezes a cached value so that no caller can change the shared copy. */
function freeze<V>(value: V): V {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) freeze(v);
  }
  return value;
}

/**
 * Values read from announced tables, cached per key while the ChangeFeed says they cannot have changed
 * (and at most `ttlMs`, a backstop). Concurrent reads of one key share one load. Cached values are frozen.
 */
export class ChangeCache<V> {
  private readonly entries = new Map<string, { stamp: number; at: number; value: Promise<V> }>();

  constructor(
    private readonly feed: ChangeFeed,
    private readonly tables: readonly AnnouncedTable[],
    private readonly options: { maxEntries: number; ttlMs: number } = { maxEntries: 10_000, ttlMs: 60_000 },
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const stamp = this.feed.stamp(this.tables);
    if (stamp === undefined) {
      this.entries.clear();
      return load();
    }
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.stamp === stamp && now - hit.at < this.options.ttlMs) return hit.value;
    this.entries.delete(key);
    if (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    const value = load().then(freeze);
    // The stamp was taken before the read: a change committed meanwhile makes this entry stale at once.
    this.entries.set(key, { stamp, at: now, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }
}
