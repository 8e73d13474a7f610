import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CreatedSetupLinkView, CreateSetupLinkDto, SetupLinkListView, SetupLinkView } from './setup-link.dto';
import { SetupLinksService } from './setup-links.service';

@ApiTags('setup links')
@ApiBearerAuth()
@Controller('api/v1/connections/:id/setup-links')
export class SetupLinksController {
  constructor(private readonly links: SetupLinksService) {}

  @Post()
  @ApiOperation({
    summary: 'Create a customer setup link for this connection',
    description:
      'The customer opens the URL to see setup instructions for their IdP, give their metadata and run a test ' +
      'login, for this connection only. The URL is in this answer only. 404 `connection_not_found`.',
  })
  @ApiCreatedResponse({ type: CreatedSetupLinkView })
  async create(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: CreateSetupLinkDto,
  ): Promise<CreatedSetupLinkView> {
    const { link, url } = await this.links.create(id, dto);
    return { ...this.links.view(link), url };
  }

  @Get()
  @ApiOperation({ summary: "A connection's setup links, newest first (never their URLs)" })
  @ApiOkResponse({ type: SetupLinkListView })
  async list(@Param('id', new ParseUUIDPipe()) id: string): Promise<SetupLinkListView> {
    return { items: (await this.links.list(id)).map((l) => this.links.view(l)) };
  }

  @Delete(':linkId')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Revoke a setup link',
    description: 'Every later use of the link is refused (410 `setup_link_revoked`). Idempotent.',
  })
  @ApiOkResponse({ type: SetupLinkView })
  @ApiNotFoundResponse({ description: '`connection_not_found` or `setup_link_not_found`' })
  async revoke(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('linkId', new ParseUUIDPipe()) linkId: string,
  ): Promise<SetupLinkView> {
    return this.links.view(await this.links.revoke(id, linkId));
  }
}
