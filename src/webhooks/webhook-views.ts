import { ApiProperty } from '@nestjs/swagger';
import type { WebhookDelivery, WebhookEndpoint } from './webhooks.repository';

/** What the API and the console show of an endpoint and its deliveries. */

export class WebhookView {
  @ApiProperty() id!: string;
  @ApiProperty() url!: string;
  @ApiProperty({ type: [String] }) events!: string[];
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ nullable: true, type: String, description: 'Why it was disabled (a day of failures)' })
  disabledReason!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Failing since (null when the last delivery worked)',
  })
  failingSince!: string | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
}

export class CreatedWebhookView extends WebhookView {
  @ApiProperty({ description: 'The signing secret (whsec_…): shown once, sealed at rest' }) secret!: string;
}

export class WebhookListView {
  @ApiProperty({ type: [WebhookView] }) items!: WebhookView[];
}

export class WebhookDeliveryView {
  @ApiProperty() id!: string;
  @ApiProperty({ description: 'The event id (webhook-id evt_<id>)' }) eventId!: string;
  @ApiProperty() eventType!: string;
  @ApiProperty({ enum: ['pending', 'delivered', 'failed'] }) status!: string;
  @ApiProperty() attempts!: number;
  @ApiProperty({ nullable: true, type: Number }) lastStatus!: number | null;
  @ApiProperty({ nullable: true, type: String }) lastError!: string | null;
  @ApiProperty({ nullable: true, type: String }) lastAttemptAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) nextAttemptAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) deliveredAt!: string | null;
  @ApiProperty() createdAt!: string;
}

export class WebhookDeliveryListView {
  @ApiProperty({ type: [WebhookDeliveryView] }) items!: WebhookDeliveryView[];
}

export function webhookView(e: WebhookEndpoint): WebhookView {
  return {
    id: e.id,
    url: e.url,
    events: e.eventTypes,
    description: e.description,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    failingSince: e.failingSince?.toISOString() ?? null,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

export function deliveryView(d: WebhookDelivery): WebhookDeliveryView {
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null,
    nextAttemptAt: d.status === 'pending' ? d.nextAttemptAt.toISOString() : null,
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
    createdAt: d.createdAt.toISOString(),
  };
}
