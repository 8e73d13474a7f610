import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { EventsRepository } from '../events/events.repository';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhooksController } from './webhooks.controller';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/** Signed webhooks: endpoints (admin API, console) and the dispatcher that delivers events to them. */
@Module({
  imports: [AuditModule],
  controllers: [WebhooksController],
  // EventsRepository: the dispatcher appends `webhook.endpoint_disabled` in the transaction that disables.
  providers: [WebhooksRepository, EventsRepository, WebhooksService, WebhookDispatcher],
  exports: [WebhooksService],
})
export class WebhooksModule {}
