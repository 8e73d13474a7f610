import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ConnectionsModule } from '../connections/connections.module';
import { KeysModule } from '../keys/keys.module';
import { UsersModule } from '../users/users.module';
import { LoginSessionsService } from './login-sessions.service';
import { SamlAdminController } from './saml-admin.controller';
import { SamlEngineFactory } from './saml-engine';
import { SamlHousekeeping } from './saml-housekeeping';
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
    SamlStateService,
    LoginSessionsService,
    SamlHousekeeping,
  ],
  exports: [SamlService, LoginSessionsService, SloService],
})
export class SamlModule {}
