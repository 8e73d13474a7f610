import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';
import { SsoTracesRepository } from './sso-traces.repository';
import { SsoTracesService } from './sso-traces.service';

@Module({
  controllers: [AuditController],
  providers: [SsoTracesService, SsoTracesRepository, AuditService],
  exports: [SsoTracesService, AuditService],
})
export class AuditModule {}
