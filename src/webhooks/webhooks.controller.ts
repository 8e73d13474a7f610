import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { EVENT_TYPES } from '../events/event-catalog';
import type { WebhookDelivery, WebhookEndpoint } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://ops.example.com/hooks/saml-bridge' })
  @IsString()
  @MaxLength(2000)
  url!: string;

  @ApiProperty({ type: [String], description: `Event types to send, or ["*"]: ${EVENT_TYPES.join(', ')}` })
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  events!: string[];

  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(2000) url?: string;
  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  events?: string[];
  @ApiPropertyOptional({ maxLength: 500 }) @IsOptional() @IsString() @MaxLength(500) description?: string;
  @ApiPropertyOptional({ description: 'false pauses deliveries; true resumes a disabled endpoint' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

export class DeliveriesQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

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

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('api/v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiOperation({ summary: 'Subscribe an endpoint to events (Standard Webhooks signatures)' })
  @ApiCreatedResponse({ type: CreatedWebhookView })
  async create(@Body() body: CreateWebhookDto): Promise<CreatedWebhookView> {
    const { endpoint, secret } = await this.webhooks.create(body);
    return { ...webhookView(endpoint), secret };
  }

  @Get()
  @ApiOkResponse({ type: WebhookListView })
  async list(): Promise<WebhookListView> {
    return { items: (await this.webhooks.list()).map(webhookView) };
  }

  @Get(':id')
  @ApiOkResponse({ type: WebhookView })
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<WebhookView> {
    return webhookView(await this.webhooks.get(id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change the URL, events or description; enable or pause it' })
  @ApiOkResponse({ type: WebhookView })
  async update(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: UpdateWebhookDto,
  ): Promise<WebhookView> {
    return webhookView(await this.webhooks.update(id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  async delete(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    await this.webhooks.delete(id);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: "The endpoint's deliveries, newest first" })
  @ApiOkResponse({ type: WebhookDeliveryListView })
  async deliveries(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query() q: DeliveriesQuery,
  ): Promise<WebhookDeliveryListView> {
    return { items: (await this.webhooks.deliveries(id, q.limit ?? 50)).map(deliveryView) };
  }

  @Post(':id/deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send the event of a delivery again (same webhook-id)' })
  @ApiAcceptedResponse({ type: WebhookDeliveryView })
  async redeliver(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('deliveryId', new ParseUUIDPipe()) deliveryId: string,
  ): Promise<WebhookDeliveryView> {
    return deliveryView(await this.webhooks.redeliver(id, deliveryId));
  }

  @Post(':id/test')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a webhook.test event to this endpoint' })
  async test(@Param('id', new ParseUUIDPipe()) id: string): Promise<{ queued: true }> {
    await this.webhooks.sendTest(id);
    return { queued: true };
  }
}
