import {
  Body,
  Controller,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../../common/public.decorator';
import { ConnectionsService } from '../../connections/connections.service';
import { ScimTokensService } from '../../scim/scim-tokens.service';
import { createdTokenSection } from '../../web/components/directory-sync';
import { formText, type FormBody } from './console-forms';
import { consoleLayout } from '../../web/layout';
import { sendPage, sessionChrome } from './console-page';
import type { ConsoleSession } from './console-sessions.service';
import type { ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';

/** A connection's SCIM tokens in the console: create one (shown once), revoke one. */
@ApiExcludeController()
@Public()
@UseFilters(ConsolePageFilter)
@Controller('admin/connections/:id/scim-tokens')
export class ConsoleScimController {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly tokens: ScimTokensService,
  ) {}

  @Post()
  async create(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: ConsoleRequest,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const entity = await this.connections.get(id);
    const { token, scimBaseUrl } = await this.tokens.create(id, {
      description: formText(body, 'description', 200),
    });
    sendPage(
      res,
      consoleLayout(
        { title: `SCIM token for ${entity.name}`, session: sessionChrome(session), active: 'connections' },
        createdTokenSection({
          token,
          scimBaseUrl,
          back: `/admin/connections/${id}#directory-sync`,
          backLabel: `Back to ${entity.name}`,
        }),
      ),
      HttpStatus.CREATED,
    );
  }

  @Post(':tokenId/revoke')
  async revoke(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('tokenId', new ParseUUIDPipe()) tokenId: string,
    @Res() res: Response,
  ): Promise<void> {
    await this.tokens.revoke(id, tokenId);
    res.redirect(HttpStatus.SEE_OTHER, `/admin/connections/${id}?notice=scim-token-revoked#directory-sync`);
  }
}
