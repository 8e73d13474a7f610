import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ConnectionsModule } from '../connections/connections.module';
import { KeysModule } from '../keys/keys.module';
import { MetricsService } from '../metrics/metrics.service';
import { UsersModule } from '../users/users.module';
import { AppSessionConsumer } from './app-session/app-session.consumer';
import { AppSignInService } from './app-session/app-sign-in.service';
import { SignInRepository } from './app-session/sign-in.repository';
import { LoginConsumers, LoginFailures } from './login-consumers';
import { LoginSessionsRepository } from './login-sessions.repository';
import { LoginSessionsService } from './login-sessions.service';
import { LoginPort } from './login.port';
import { SamlAdminController } from './saml-admin.controller';
import { SamlEngineFactory } from './saml-engine';
import { SamlEnginePool } from './saml-engine-pool';
import { SamlHousekeeping } from './saml-housekeeping';
import { SamlAcsStrategy, SamlSloStrategy } from './saml-passport';
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
    LoginConsumers,
    LoginFailures,
    LoginPort,
    AppSignInService,
    SignInRepository,
    AppSessionConsumer,
    SamlAcsStrategy,
    SamlSloStrategy,
  ],
  // Consumers of SAML logins use the login port (and sign users in to the bridge with AppSignInService).
  // LoginConsumers: the SAML page filter of every module that uses it asks the login's consumer.
  exports: [LoginPort, LoginConsumers, AppSignInService, LoginSessionsService, SloService],
})
export class SamlModule {}
