import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * The pg pool under a TypeORM data source (the postgres driver's `master`), for code that talks to pg
 * directly; undefined before the data source is initialized.
 */
export function pgPoolOf(dataSource: DataSource): Pool | undefined {
  return (dataSource.driver as unknown as { master?: Pool }).master;
}

const handled = new WeakSet<PoolClient>();

/**
 * Gives every connection of the pool, for its whole life, a listener for `error`. pg-pool listens only
 * while a connection is idle in the pool, and TypeORM only while one of its query runners holds it; a
 * connection checked out by `pool.connect()` (the audit log's group commit) has no listener at all. A
 * server restart or `pg_terminate_backend` sends FATAL 57P01 and closes the socket: the query in flight
 * fails with that error, and then the client emits `error` ("Connection terminated unexpectedly"), which
 * without a listener crashes the process. With this listener the loss is reported to `lost`; the client is
 * no longer queryable, so whoever holds it gets errors and the pool discards it when it comes back (pg-pool
 * never reuses a client that is not queryable), and the pool opens a new one on the next request.
 */
export function handleConnectionLoss(pool: Pool, lost: (err: Error) => void): void {
  const guard = (client: PoolClient) => {
    if (handled.has(client)) return;
    handled.add(client);
    client.on('error', lost);
  };
  pool.on('connect', guard);
  // The connections the pool opened before this (TypeORM's first connection, start-up reads).
  for (const client of (pool as unknown as { _clients?: PoolClient[] })._clients ?? []) guard(client);
}
