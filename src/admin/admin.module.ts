import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditModule } from '../audit/audit.module';
import { AdminApiKeysController } from './admin-api-keys.controller';
import { AdminApiKeysRepository } from './admin-api-keys.repository';
import { AdminApiKeysService } from './admin-api-keys.service';
import { AdminAuthGuard } from './admin-auth.guard';

@Module({
  imports: [AuditModule],
  controllers: [AdminApiKeysController],
  providers: [AdminApiKeysService, AdminApiKeysRepository, { provide: APP_GUARD, useClass: AdminAuthGuard }],
  exports: [AdminApiKeysService],
})
export class AdminModule {}
