import { Controller, Get, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../../common/public.decorator';
import { EventsService } from '../../events/events.service';
import { sendPage, sessionChrome } from './console-page';
import { eventsFilter } from './events-query';
import type { ConsoleSession } from './console-sessions.service';
import type { ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';
import { eventsPage } from './views/events/events.view';

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
    const { connectionId, types } = eventsFilter({ connection: rawConnection, types: rawTypes });
    const events = await this.events.recent(types, connectionId, 100);
    const session = sessionChrome(req.consoleSession as ConsoleSession);
    sendPage(res, eventsPage({ session, types, connectionId, events }));
  }
}
