import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CreatedScimTokenView, CreateScimTokenDto, ScimTokenListView, scimTokenView } from './scim-token.dto';
import { ScimTokensService } from './scim-tokens.service';

@ApiTags('directory sync (SCIM)')
@ApiBearerAuth()
@Controller('api/v1/connections/:id/scim-tokens')
export class ScimTokensController {
  constructor(private readonly tokens: ScimTokensService) {}

  @Post()
  @ApiOperation({ summary: "Create a SCIM token for the connection's directory (shown once)" })
  @ApiCreatedResponse({ type: CreatedScimTokenView })
  async create(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: CreateScimTokenDto,
  ): Promise<CreatedScimTokenView> {
    const { record, token, scimBaseUrl } = await this.tokens.create(id, body);
    return { ...scimTokenView(record), token, scimBaseUrl };
  }

  @Get()
  @ApiOperation({ summary: "List the connection's SCIM tokens (never the tokens themselves)" })
  @ApiOkResponse({ type: ScimTokenListView })
  async list(@Param('id', new ParseUUIDPipe()) id: string): Promise<ScimTokenListView> {
    return { items: (await this.tokens.list(id)).map(scimTokenView) };
  }

  @Delete(':tokenId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a SCIM token: the directory gets 401 from then on' })
  @ApiNoContentResponse()
  async revoke(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('tokenId', new ParseUUIDPipe()) tokenId: string,
  ): Promise<void> {
    await this.tokens.revoke(id, tokenId);
  }
}
