import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { KeysModule } from '../keys/keys.module';
import { SpKeysController } from '../keys/sp-keys.controller';
import { ConnectionsController } from './connections.controller';
import { ConnectionsService } from './connections.service';
import { MetadataFetcher } from './metadata/metadata-fetcher';
import { MetadataRefreshScheduler } from './metadata-refresh.scheduler';

@Module({
  imports: [KeysModule, AuditModule],
  controllers: [ConnectionsController, SpKeysController],
  providers: [ConnectionsService, MetadataFetcher, MetadataRefreshScheduler],
  exports: [ConnectionsService],
})
export class ConnectionsModule {}
