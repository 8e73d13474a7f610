import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { SamlModule } from '../saml/saml.module';
import { UsersModule } from '../users/users.module';
import { OidcClientsController } from './oidc-clients.controller';
import { OidcClientsService } from './oidc-clients.service';
import { OidcInteractionController } from './oidc-interaction.controller';
import { OidcLoginStart } from './oidc-login-start';
import { OidcLoginConsumer } from './oidc-login.consumer';
import { OidcKeysController } from './oidc-keys.controller';
import { OidcLogoutService } from './oidc-logout.service';
import { OidcStorageRepository } from './oidc-storage.repository';
import { OidcProviderHost } from './oidc-provider.host';
import { OidcReplayReporter } from './oidc-replays';
import { OidcSigningKeysService } from './oidc-signing-keys.service';
import { AccessTokenJtisRepository } from './access-token-jtis.repository';
import { JwtAccessTokens } from './jwt-access-tokens';
import { JwtUserinfo } from './jwt-userinfo';
import { LogoutDeliveriesRepository } from './logout-deliveries.repository';
import { OidcClientsRepository } from './oidc-clients.repository';
import { OidcSessionsRepository } from './oidc-sessions.repository';
import { OidcSigningKeysRepository } from './oidc-signing-keys.repository';
import { RevokedJtisController } from './revoked-jtis.controller';
import { ConnectionsModule } from '../connections/connections.module';

@Module({
  imports: [UsersModule, SamlModule, AuditModule, ConnectionsModule],
  controllers: [OidcClientsController, OidcInteractionController, OidcKeysController, RevokedJtisController],
  providers: [
    OidcLoginConsumer,
    OidcLoginStart,
    OidcClientsService,
    OidcSigningKeysService,
    OidcProviderHost,
    OidcStorageRepository,
    OidcLogoutService,
    OidcReplayReporter,
    JwtAccessTokens,
    JwtUserinfo,
    OidcClientsRepository,
    OidcSigningKeysRepository,
    OidcSessionsRepository,
    LogoutDeliveriesRepository,
    AccessTokenJtisRepository,
  ],
  exports: [OidcProviderHost, OidcClientsService, OidcSigningKeysService, OidcLogoutService, JwtAccessTokens],
})
export class OidcModule {}
