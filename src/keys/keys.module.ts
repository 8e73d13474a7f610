import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { SpKeysRepository } from './sp-keys.repository';
import { SpKeysService } from './sp-keys.service';

/** SP key storage; its admin API (SpKeysController) is served by ConnectionsModule, which owns connections. */
@Module({ imports: [AuditModule], providers: [SpKeysService, SpKeysRepository], exports: [SpKeysService] })
export class KeysModule {}
