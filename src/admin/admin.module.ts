import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditModule } from '../audit/audit.module';
import { AdminApiKeysController } from './admin-api-keys.controller';
import { AdminApiKeysService } from './admin-api-keys.service';
import { AdminAuthGuard } from './admin-auth.guard';

@Module({
  imports: [AuditModule],
  controllers: [AdminApiKeysController],
  providers: [AdminApiKeysService, { provide: APP_GUARD, useClass: AdminAuthGuard }],
  exports: [AdminApiKeysService],
})
export class AdminModule {}
