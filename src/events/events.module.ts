import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ConnectionsModule } from '../connections/connections.module';
import { KeysModule } from '../keys/keys.module';
import { EventsController } from './events.controller';
import { EventsRepository } from './events.repository';
import { EventsService } from './events.service';

/** The event stream (written with the audit log), certificate-expiry and audit-chain checks, retention. */
@Module({
  imports: [AuditModule, ConnectionsModule, KeysModule],
  controllers: [EventsController],
  providers: [EventsRepository, EventsService],
  exports: [EventsService],
})
export class EventsModule {}
