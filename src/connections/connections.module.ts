import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { KeysModule } from '../keys/keys.module';
import { SpKeysController } from '../keys/sp-keys.controller';
import { ConnectionsController } from './connections.controller';
import { ConnectionLookup } from './connection-lookup';
import { ConnectionsService } from './connections.service';
import { MetadataFetcher } from './metadata/metadata-fetcher';
import { MetadataRefreshScheduler } from './metadata-refresh.scheduler';

@Module({
  imports: [KeysModule, AuditModule],
  controllers: [ConnectionsController, SpKeysController],
  providers: [ConnectionsService, ConnectionLookup, MetadataFetcher, MetadataRefreshScheduler],
  exports: [ConnectionsService, ConnectionLookup],
})
export class ConnectionsModule {}
