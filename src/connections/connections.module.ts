import { Module } from '@nestjs/common';
import { ConnectionsController } from './connections.controller';
import { ConnectionsService } from './connections.service';
import { MetadataFetcher } from './metadata/metadata-fetcher';
import { MetadataRefreshScheduler } from './metadata-refresh.scheduler';

@Module({
  controllers: [ConnectionsController],
  providers: [ConnectionsService, MetadataFetcher, MetadataRefreshScheduler],
  exports: [ConnectionsService],
})
export class ConnectionsModule {}
