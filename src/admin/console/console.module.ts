import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditModule } from '../../audit/audit.module';
import { ConnectionsModule } from '../../connections/connections.module';
import { KeysModule } from '../../keys/keys.module';
import { OidcModule } from '../../oidc/oidc.module';
import { SamlModule } from '../../saml/saml.module';
import { UsersModule } from '../../users/users.module';
import { AdminModule } from '../admin.module';
import { ScimModule } from '../../scim/scim.module';
import { WebhooksModule } from '../../webhooks/webhooks.module';
import { EventsModule } from '../../events/events.module';
import { SetupLinksModule } from '../setup-links/setup-links.module';
import { TestLoginModule } from '../test-login/test-login.module';
import { ConsoleAppsController } from './console-apps.controller';
import { ConsoleAuditController } from './console-audit.controller';
import { ConsoleAuthController } from './console-auth.controller';
import { ConsoleEventsController } from './console-events.controller';
import { ConsoleConnectionsController } from './console-connections.controller';
import { ConsoleKeysController } from './console-keys.controller';
import { ConsoleSessionsRepository } from './console-sessions.repository';
import { ConsoleSessionsService } from './console-sessions.service';
import { ConsoleScimController } from './console-scim.controller';
import { ConsoleSsoController } from './console-sso.controller';
import { ConsoleUploadMiddleware } from './console-upload.middleware';
import { ConsoleUsersController } from './console-users.controller';
import { ConsoleWebhooksController } from './console-webhooks.controller';
import { ConsoleSessionGuard } from './console.guard';
import { ConsoleSsoConsumer } from './console-sso.consumer';

/** The web admin console at /admin: server-rendered pages over the bridge's services. */
@Module({
  imports: [
    AdminModule,
    AuditModule,
    ConnectionsModule,
    KeysModule,
    UsersModule,
    SamlModule,
    OidcModule,
    SetupLinksModule,
    TestLoginModule,
    ScimModule,
    WebhooksModule,
    EventsModule,
  ],
  controllers: [
    ConsoleAuthController,
    ConsoleConnectionsController,
    ConsoleAppsController,
    ConsoleUsersController,
    ConsoleKeysController,
    ConsoleSsoController,
    ConsoleAuditController,
    ConsoleScimController,
    ConsoleWebhooksController,
    ConsoleEventsController,
  ],
  providers: [
    ConsoleSessionsService,
    ConsoleSsoConsumer,
    ConsoleSessionsRepository,
    { provide: APP_GUARD, useClass: ConsoleSessionGuard },
  ],
  exports: [ConsoleSessionsService],
})
export class ConsoleModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ConsoleUploadMiddleware).forRoutes(ConsoleConnectionsController);
  }
}
