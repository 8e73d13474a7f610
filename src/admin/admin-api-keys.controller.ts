import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { AdminApiKeyEntity } from './admin-api-key.entity';
import { AdminApiKeysService } from './admin-api-keys.service';

export class CreateApiKeyDto {
  @ApiProperty({ description: 'What the key is for', example: 'terraform', maxLength: 200 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;
}

export class ApiKeyView {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'First characters of the key' }) keyPrefix!: string;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ nullable: true, type: String }) lastUsedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) revokedAt!: string | null;
}

export class CreatedApiKeyView extends ApiKeyView {
  @ApiProperty({ description: 'The key itself. Shown once; only its hash is stored.' }) key!: string;
}

function view(k: AdminApiKeyEntity): ApiKeyView {
  return {
    id: k.id,
    name: k.name,
    keyPrefix: k.keyPrefix,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}

@ApiTags('admin API keys')
@ApiBearerAuth()
@Controller('api/v1/api-keys')
export class AdminApiKeysController {
  constructor(private readonly keys: AdminApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create an admin API key (the key is in the response, once)' })
  @ApiCreatedResponse({ type: CreatedApiKeyView })
  async create(@Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyView> {
    const { key, secret } = await this.keys.create(dto.name);
    return { ...view(key), key: secret };
  }

  @Get()
  @ApiOperation({ summary: 'List admin API keys (never the keys themselves)' })
  @ApiOkResponse({ type: [ApiKeyView] })
  async list(): Promise<{ items: ApiKeyView[] }> {
    return { items: (await this.keys.list()).map(view) };
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke an admin API key' })
  @ApiOkResponse({ type: ApiKeyView })
  async revoke(@Param('id', new ParseUUIDPipe()) id: string): Promise<ApiKeyView> {
    return view(await this.keys.revoke(id));
  }
}
