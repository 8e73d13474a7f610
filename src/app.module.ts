import { DynamicModule, Module } from '@nestjs/common';
import { AdminModule } from './admin/admin.module';
import { AuditModule } from './audit/audit.module';
import { ConsoleModule } from './admin/console/console.module';
import { SetupLinksModule } from './admin/setup-links/setup-links.module';
import { ClockModule } from './common/clock';
import type { BridgeConfig } from './config/bridge-config';
import { ConfigModule } from './config/config.module';
import { ConnectionsModule } from './connections/connections.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { OidcModule } from './oidc/oidc.module';
import { OutboundModule } from './platform/http/outbound.module';
import { SamlModule } from './saml/saml.module';
import { ScimModule } from './scim/scim.module';
import { EventsModule } from './events/events.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { UsersModule } from './users/users.module';

@Module({})
export class AppModule {
  static forRoot(config?: BridgeConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule,
        DatabaseModule.forRoot(),
        MetricsModule,
        OutboundModule,
        AuditModule,
        AdminModule,
        HealthModule,
        ConnectionsModule,
        UsersModule,
        SamlModule,
        OidcModule,
        ConsoleModule,
        SetupLinksModule,
        ScimModule,
        EventsModule,
        WebhooksModule,
      ],
    };
  }
}
