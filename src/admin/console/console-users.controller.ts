import {
  Controller,
  Get,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../../common/public.decorator';
import { ConnectionsService } from '../../connections/connections.service';
import { UsersService } from '../../users/users.service';
import { sendPage, sessionChrome } from './console-page';
import type { ConsoleSession } from './console-sessions.service';
import type { ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';
import { USERS_PAGE_SIZE, usersBackUrl, usersSearch } from './users-query';
import { usersListPage } from './views/users/users-list.view';

/** Users: search by email and connection, see groups and last login, disable / enable. */
@ApiExcludeController()
@Public()
@UseFilters(ConsolePageFilter)
@Controller('admin/users')
export class ConsoleUsersController {
  constructor(
    private readonly users: UsersService,
    private readonly connections: ConnectionsService,
  ) {}

  @Get()
  async list(
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query('email') email: unknown,
    @Query('connection') connection: unknown,
    @Query('page') page: unknown,
    @Query('notice') notice: unknown,
  ): Promise<void> {
    const search = usersSearch({ email, connection, page });
    const [{ items, total }, { items: connections }] = await Promise.all([
      this.users.list({
        email: search.email || undefined,
        connectionId: search.connectionId || undefined,
        limit: USERS_PAGE_SIZE,
        offset: search.page * USERS_PAGE_SIZE,
      }),
      this.connections.list({ limit: 500, offset: 0 }),
    ]);
    const session = sessionChrome(req.consoleSession as ConsoleSession);
    sendPage(res, usersListPage({ session, search, users: items, total, connections, notice }));
  }

  @Post(':id/disable')
  async disable(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
  ): Promise<void> {
    await this.users.setDisabled(id, true);
    res.redirect(HttpStatus.SEE_OTHER, usersBackUrl(req, 'disabled'));
  }

  @Post(':id/enable')
  async enable(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
  ): Promise<void> {
    await this.users.setDisabled(id, false);
    res.redirect(HttpStatus.SEE_OTHER, usersBackUrl(req, 'enabled'));
  }
}
