import { Module } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module';
import { SamlModule } from '../../saml/saml.module';
import { UsersModule } from '../../users/users.module';
import { TestLoginConsumer } from './test-login.consumer';
import { TestLoginController } from './test-login.controller';

/** Test logins of a connection (a consumer of the SAML login port), for the console and the setup pages. */
@Module({
  imports: [SamlModule, UsersModule, AuditModule],
  controllers: [TestLoginController],
  providers: [TestLoginConsumer],
  exports: [TestLoginConsumer],
})
export class TestLoginModule {}
