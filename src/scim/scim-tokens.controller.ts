import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import type { ScimTokenRecord } from './scim-tokens.repository';
import { ScimTokensService } from './scim-tokens.service';

export class CreateScimTokenDto {
  @ApiPropertyOptional({
    description: 'What the token is for (e.g. "Entra ID provisioning")',
    maxLength: 200,
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  description?: string;
}

export class ScimTokenView {
  @ApiProperty() id!: string;
  @ApiProperty() connectionId!: string;
  @ApiProperty({ description: 'The first characters of the token, to tell tokens apart' }) prefix!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ description: 'The admin who created it' }) createdBy!: string;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ nullable: true, type: String }) lastUsedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) revokedAt!: string | null;
  @ApiProperty({ enum: ['active', 'revoked'] }) status!: string;
}

export class CreatedScimTokenView extends ScimTokenView {
  @ApiProperty({ description: 'The bearer token for the directory: shown once, only its SHA-256 is stored' })
  token!: string;
  @ApiProperty({ description: 'The SCIM base URL to configure at the directory with the token' })
  scimBaseUrl!: string;
}

export class ScimTokenListView {
  @ApiProperty({ type: [ScimTokenView] }) items!: ScimTokenView[];
}

export function scimTokenView(t: ScimTokenRecord): ScimTokenView {
  return {
    id: t.id,
    connectionId: t.connectionId,
    prefix: t.prefix,
    description: t.description,
    createdBy: t.createdByName,
    createdAt: t.createdAt.toISOString(),
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
    status: t.revokedAt ? 'revoked' : 'active',
  };
}

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
