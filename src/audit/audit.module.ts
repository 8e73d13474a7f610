import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';
import { SsoTracesRepository } from './sso-traces.repository';
import { SsoTracesService } from './sso-traces.service';

@Module({
  controllers: [AuditController],
  providers: [SsoTracesService, SsoTracesRepository, AuditRepository, AuditService],
  exports: [SsoTracesService, AuditService],
})
export class AuditModule {}
