import { Controller, Get, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../../common/public.decorator';
import { EVENT_TYPES } from '../../events/event-catalog';
import { EventsService } from '../../events/events.service';
import { consolePage, date, h, table } from './console-html';
import type { ConsoleSession } from './console-sessions.service';
import type { ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The latest events (what webhooks receive), filtered by connection and type: linked from warnings. */
@ApiExcludeController()
@Public()
@UseFilters(ConsolePageFilter)
@Controller('admin/events')
export class ConsoleEventsController {
  constructor(private readonly events: EventsService) {}

  @Get()
  async list(
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query('connection') rawConnection: unknown,
    @Query('types') rawTypes: unknown,
  ): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const connectionId =
      typeof rawConnection === 'string' && UUID.test(rawConnection) ? rawConnection : undefined;
    const types =
      typeof rawTypes === 'string'
        ? rawTypes.split(',').filter((t) => (EVENT_TYPES as readonly string[]).includes(t))
        : [];
    const items = await this.events.recent(types, connectionId, 100);
    const rows = items.map((e) => [
      date(e.occurredAt),
      `<code>${h(e.type)}</code>`,
      `<code>${h(JSON.stringify(e.data))}</code>`,
    ]);
    res
      .setHeader('Cache-Control', 'no-store')
      .type('html')
      .send(
        consolePage(
          {
            title: 'Events',
            session: { adminName: session.admin.name, csrfToken: session.csrfToken },
            active: 'webhooks',
          },
          `<p>${types.length ? `Types ${types.map((t) => `<code>${h(t)}</code>`).join(' ')}` : 'All types'}` +
            `${connectionId ? ` · connection <a href="/admin/connections/${h(connectionId)}"><code>${h(connectionId)}</code></a>` : ''}` +
            ` · <a href="/admin/webhooks">Webhooks</a></p>` +
            table('The latest events, newest first', ['When', 'Type', 'Data'], rows, 'No events match.'),
        ),
      );
  }
}
