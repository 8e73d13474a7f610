import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { DEFAULT_EXPIRY_HOURS, MAX_EXPIRY_HOURS, SetupLinksService } from './setup-links.service';

export class CreateSetupLinkDto {
  @ApiPropertyOptional({
    description: 'How long the link works, in hours',
    minimum: 1,
    maximum: MAX_EXPIRY_HOURS,
    default: DEFAULT_EXPIRY_HOURS,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_EXPIRY_HOURS)
  expiresInHours?: number;

  @ApiPropertyOptional({ description: 'A note for admins (who it was sent to)', maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  note?: string;
}

export class SetupLinkView {
  @ApiProperty() id!: string;
  @ApiProperty() connectionId!: string;
  @ApiProperty({ enum: ['active', 'expired', 'revoked'] }) status!: string;
  @ApiProperty({ nullable: true, type: String }) note!: string | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ description: 'The admin who created it' }) createdBy!: string;
  @ApiProperty() expiresAt!: string;
  @ApiProperty({ nullable: true, type: String }) revokedAt!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'When the link was last opened' })
  lastOpenedAt!: string | null;
}

export class CreatedSetupLinkView extends SetupLinkView {
  @ApiProperty({
    description:
      'The link to send to the customer. It carries the token: shown once, only its SHA-256 is stored.',
    example: 'https://bridge.example.com/setup/sbl_…',
  })
  url!: string;
}

export class SetupLinkListView {
  @ApiProperty({ type: [SetupLinkView] }) items!: SetupLinkView[];
}

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
