import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { ApiError } from '../common/api-error';
import { EVENT_TYPES, isEventTypeFilter } from './event-catalog';
import type { StoredEvent } from './events.repository';
import { EventsService } from './events.service';

export class ListEventsQuery {
  @ApiPropertyOptional({
    description: `Comma-separated event types or prefixes ending with a dot (connection.). Types: ${EVENT_TYPES.join(', ')}`,
  })
  @IsOptional()
  @IsString()
  types?: string;

  @ApiPropertyOptional({
    description: 'The `next` cursor of the previous page (events after it, oldest first)',
  })
  @IsOptional()
  @Matches(/^\d{1,18}$/, { message: 'after must be the next cursor of a previous page' })
  after?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

export class EventView {
  @ApiProperty({ description: 'The event id; webhooks send it as webhook-id `evt_<id>`' }) id!: string;
  @ApiProperty({ enum: EVENT_TYPES }) type!: string;
  @ApiProperty() timestamp!: string;
  @ApiProperty({ description: 'Ids and safe fields of what happened (never secrets or SAML messages)' })
  data!: Record<string, unknown>;
}

export class EventPageView {
  @ApiProperty({ type: [EventView] }) items!: EventView[];
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'The cursor for the next page; null at the end for now',
  })
  next!: string | null;
}

export const eventView = (e: StoredEvent): EventView => ({
  id: e.id,
  type: e.type,
  timestamp: e.occurredAt.toISOString(),
  data: e.data,
});

@ApiTags('events')
@ApiBearerAuth()
@Controller('api/v1/events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Get()
  @ApiOperation({ summary: 'Page through the event stream, oldest first (poll with the next cursor)' })
  @ApiOkResponse({ type: EventPageView })
  async list(@Query() q: ListEventsQuery): Promise<EventPageView> {
    const types = (q.types ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    const bad = types.find((t) => !isEventTypeFilter(t));
    if (bad)
      throw ApiError.badRequest(
        'event_type_unknown',
        `types: ${JSON.stringify(bad)} is not an event type or prefix.`,
      );
    const limit = q.limit ?? 100;
    const items = await this.events.list(types, q.after, limit);
    const last = items[items.length - 1];
    return { items: items.map(eventView), next: last ? last.id : (q.after ?? null) };
  }
}
