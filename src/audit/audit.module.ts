import { Module } from '@nestjs/common';
import { SsoTracesService } from './sso-traces.service';

@Module({ providers: [SsoTracesService], exports: [SsoTracesService] })
export class AuditModule {}
