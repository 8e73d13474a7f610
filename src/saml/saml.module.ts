import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ConnectionsModule } from '../connections/connections.module';
import { KeysModule } from '../keys/keys.module';
import { MetricsService } from '../metrics/metrics.service';
import { UsersModule } from '../users/users.module';
import { LoginSessionsRepository } from './login-sessions.repository';
import { LoginSessionsService } from './login-sessions.service';
import { SamlAdminController } from './saml-admin.controller';
import { SamlEngineFactory } from './saml-engine';
import { SamlEnginePool } from './saml-engine-pool';
import { SamlHousekeeping } from './saml-housekeeping';
import { SamlStateRepository } from './saml-state.repository';
import { SamlStateService } from './saml-state.service';
import { SamlController } from './saml.controller';
import { SamlService } from './saml.service';
import { SloService } from './slo.service';

@Module({
  imports: [ConnectionsModule, KeysModule, UsersModule, AuditModule],
  controllers: [SamlController, SamlAdminController],
  providers: [
    SamlService,
    SloService,
    SamlEngineFactory,
    {
      provide: SamlEnginePool,
      useFactory: (config: BridgeConfig, metrics: MetricsService) => {
        const pool = new SamlEnginePool({ threads: config.samlEngineThreads });
        metrics.trackThreadCpu('saml_engine', () => pool.cpuSeconds());
        return pool;
      },
      inject: [BRIDGE_CONFIG, MetricsService],
    },
    SamlStateService,
    SamlStateRepository,
    LoginSessionsService,
    LoginSessionsRepository,
    SamlHousekeeping,
  ],
  exports: [SamlService, LoginSessionsService, SloService],
})
export class SamlModule {}
