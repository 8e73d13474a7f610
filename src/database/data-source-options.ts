import type { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export interface DatabaseTarget {
  /** A postgres:// URL; or host/port for the embedded server. */
  url?: string;
  host?: string;
  port?: number;
  embedded: boolean;
}

/**
 * The one place that builds TypeORM options, shared by the app, the migration CLI and `ormconfig.ts`.
 * Explicit migrations only (`synchronize: false`).
 */
export function buildDataSourceOptions(target: DatabaseTarget): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'all' as const,
    synchronize: false,
    migrationsRun: false,
    uuidExtension: 'pgcrypto' as const,
    installExtensions: false,
    applicationName: 'saml-bridge',
    connectTimeoutMS: 5000,
  };
  if (target.embedded) {
    return {
      ...common,
      host: target.host,
      port: target.port,
      username: 'postgres',
      password: 'postgres',
      database: 'postgres',
      // PGlite is one session: pglite-socket interleaves the extended-protocol messages of concurrent
      // connections (under load: "bind message supplies 1 parameters, but prepared statement requires 2",
      // then a desynchronised protocol). One pooled connection makes the driver queue every query and
      // transaction in order; waiting for it counts against connectionTimeoutMillis, hence the longer bound.
      extra: { max: 1, query_timeout: 15000, connectionTimeoutMillis: 15000 },
    };
  }
  return {
    ...common,
    url: target.url,
    extra: { max: 20, query_timeout: 15000, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30000 },
  };
}
