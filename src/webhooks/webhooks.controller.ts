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
import {
  CreatedWebhookView,
  deliveryView,
  WebhookDeliveryListView,
  WebhookDeliveryView,
  WebhookListView,
  WebhookView,
  webhookView,
} from './webhook-views';
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
