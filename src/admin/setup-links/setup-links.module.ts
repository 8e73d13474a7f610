import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module';
import { ConnectionsModule } from '../../connections/connections.module';
import { KeysModule } from '../../keys/keys.module';
import { ScimModule } from '../../scim/scim.module';
import { TestLoginModule } from '../test-login/test-login.module';
import { ConsoleUploadMiddleware } from '../console/console-upload.middleware';
import { SetupLinksController } from './setup-links.controller';
import { SetupLinksRepository } from './setup-links.repository';
import { SetupLinksService } from './setup-links.service';
import { SetupPageController } from './setup-page.controller';

/** Customer setup links: the admin API and the customer's setup pages at /setup. */
@Module({
  imports: [AuditModule, ConnectionsModule, KeysModule, TestLoginModule, ScimModule],
  controllers: [SetupLinksController, SetupPageController],
  providers: [SetupLinksService, SetupLinksRepository],
  exports: [SetupLinksService],
})
export class SetupLinksModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // Metadata uploads are parsed before the handler checks the link, its CSRF token and the origin.
    consumer.apply(ConsoleUploadMiddleware).forRoutes(SetupPageController);
  }
}
