import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ConnectionsModule } from '../connections/connections.module';
import { OidcModule } from '../oidc/oidc.module';
import { SamlModule } from '../saml/saml.module';
import { UsersModule } from '../users/users.module';
import { DirectoryDeprovisioning } from './directory-deprovisioning';
import { ScimGroupsRepository } from './scim-groups.repository';
import { ScimGroupsService } from './scim-groups.service';
import { ScimAuthGuard } from './scim-auth.guard';
import { ScimTokensController } from './scim-tokens.controller';
import { ScimTokensRepository } from './scim-tokens.repository';
import { ScimTokensService } from './scim-tokens.service';
import { ScimUsersService } from './scim-users.service';
import { ScimController } from './scim.controller';

/** Directory sync: a SCIM 2.0 service provider per connection, and the admin API for its tokens. */
@Module({
  imports: [AuditModule, ConnectionsModule, UsersModule, SamlModule, OidcModule],
  controllers: [ScimTokensController, ScimController],
  providers: [
    ScimTokensRepository,
    ScimTokensService,
    ScimGroupsRepository,
    ScimUsersService,
    ScimGroupsService,
    ScimAuthGuard,
    DirectoryDeprovisioning,
  ],
  exports: [ScimTokensService],
})
export class ScimModule {}
