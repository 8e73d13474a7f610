import { Controller, Get, HttpStatus, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../../common/public.decorator';
import { ConnectionsService } from '../../connections/connections.service';
import { SpKeysService } from '../../keys/sp-keys.service';
import { OidcProviderHost } from '../../oidc/oidc-provider.host';
import { OidcSigningKeysService } from '../../oidc/oidc-signing-keys.service';
import { sendPage, sessionChrome } from './console-page';
import type { ConsoleSession } from './console-sessions.service';
import type { ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';
import { keysPage } from './views/keys/keys.view';

/** Keys: the OIDC signing keys (rotate) and each connection's SP keys (roll over on the connection page). */
@ApiExcludeController()
@Public()
@UseFilters(ConsolePageFilter)
@Controller('admin/keys')
export class ConsoleKeysController {
  constructor(
    private readonly signingKeys: OidcSigningKeysService,
    private readonly host: OidcProviderHost,
    private readonly spKeys: SpKeysService,
    private readonly connections: ConnectionsService,
  ) {}

  @Get()
  async page(
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query('notice') notice: unknown,
  ): Promise<void> {
    const signingKeys = await this.signingKeys.list();
    const { items: connections } = await this.connections.list({ limit: 500, offset: 0 });
    const spKeys = [];
    for (const connection of connections)
      for (const key of await this.spKeys.list(connection.id)) spKeys.push({ connection, key });
    const session = sessionChrome(req.consoleSession as ConsoleSession);
    sendPage(res, keysPage({ session, signingKeys, spKeys, notice }));
  }

  @Post('rotate')
  async rotate(@Res() res: Response): Promise<void> {
    await this.signingKeys.rotate();
    await this.host.current(true);
    res.redirect(HttpStatus.SEE_OTHER, '/admin/keys?notice=rotated');
  }
}
