import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';
import { SsoTracesService } from './sso-traces.service';

@Module({
  controllers: [AuditController],
  providers: [SsoTracesService, AuditService],
  exports: [SsoTracesService, AuditService],
})
export class AuditModule {}
