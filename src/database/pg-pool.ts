import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * The pg pool under a TypeORM data source (the postgres driver's `master`), for code that talks to pg
 * directly; undefined before the data source is initialized.
 */
export function pgPoolOf(dataSource: DataSource): Pool | undefined {
  return (dataSource.driver as unknown as { master?: Pool }).master;
}
