import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { KeysModule } from '../keys/keys.module';
import { UsersModule } from '../users/users.module';
import { SpKeysController } from '../keys/sp-keys.controller';
import { ConnectionsController } from './connections.controller';
import { ConnectionLookup } from './connection-lookup';
import { ConnectionsRepository } from './connections.repository';
import { ConnectionsService } from './connections.service';
import { MetadataFetcher } from './metadata/metadata-fetcher';
import { MetadataRefreshScheduler } from './metadata-refresh.scheduler';

@Module({
  imports: [KeysModule, AuditModule, UsersModule],
  controllers: [ConnectionsController, SpKeysController],
  providers: [
    ConnectionsService,
    ConnectionsRepository,
    ConnectionLookup,
    MetadataFetcher,
    MetadataRefreshScheduler,
  ],
  exports: [ConnectionsService, ConnectionLookup],
})
export class ConnectionsModule {}
