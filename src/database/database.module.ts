import { DynamicModule, Global, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ChangeFeed } from './change-feed';
import { Database } from './database';
import { PeriodicJobs } from './periodic-jobs';
import { Statements } from './statements';
import { Transactions } from './transactions';

@Global()
@Module({})
export class DatabaseModule {
  /** Opens the configured database (PostgreSQL or embedded) and migrates it. */
  static forRoot(): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: Database,
          inject: [BRIDGE_CONFIG],
          useFactory: (config: BridgeConfig) => Database.open(config),
        },
        { provide: DataSource, inject: [Database], useFactory: (db: Database) => db.dataSource },
        PeriodicJobs,
        ChangeFeed,
        Statements,
        Transactions,
      ],
      exports: [Database, DataSource, PeriodicJobs, ChangeFeed, Statements, Transactions],
    };
  }
}
