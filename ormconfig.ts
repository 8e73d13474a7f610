import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './src/database/data-source-options';

/**
 * DataSource for the TypeORM CLI (e.g. `npx typeorm migration:show -d dist/ormconfig.js`). Needs
 * DATABASE_URL; the embedded database is migrated by the bridge itself or `npm run migrate`.
 */
export default new DataSource(
  buildDataSourceOptions({
    url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    embedded: false,
  }),
);
