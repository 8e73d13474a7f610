import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Put,
  Query,
  Req,
  UploadedFile,
  UseInterceptors,
} from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { ApiError } from '../common/api-error';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { connectionView, ConnectionPageView, ConnectionView } from './connection.view';
import { ConnectionsService } from './connections.service';
import { CreateConnectionDto, ListConnectionsQuery, UpdateConnectionDto } from './dto/connection.dto';
import { METADATA_CONTENT_TYPES } from './metadata-content-types';

@ApiTags('connections')
@ApiBearerAuth()
@Controller('api/v1/connections')
export class ConnectionsController {
  constructor(
    private readonly connections: ConnectionsService,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  private view(c: Parameters<typeof connectionView>[0]): ConnectionView {
    return connectionView(c, this.config.baseUrl);
  }

  @Post()
  @ApiOperation({
    summary: 'Register an IdP connection from its metadata (document or URL)',
    description:
      'Returns the SP details to give the customer (entityId, acsUrl, sloUrl, metadataUrl) and what was read from the IdP metadata.',
  })
  @ApiCreatedResponse({ type: ConnectionView })
  async create(@Body() dto: CreateConnectionDto): Promise<ConnectionView> {
    return this.view(await this.connections.create(dto));
  }

  @Get()
  @ApiOperation({ summary: 'List connections (paginated)' })
  @ApiOkResponse({ type: ConnectionPageView })
  async list(@Query() query: ListConnectionsQuery): Promise<ConnectionPageView> {
    const { items, total } = await this.connections.list(query);
    return {
      items: items.map((c) => this.view(c)),
      total,
      limit: query.limit ?? 50,
      offset: query.offset ?? 0,
    };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a connection' })
  @ApiOkResponse({ type: ConnectionView })
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<ConnectionView> {
    return this.view(await this.connections.get(id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Update a connection (name, domains, preset, options, metadata URL…); the slug is fixed',
  })
  @ApiOkResponse({ type: ConnectionView })
  async update(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: UpdateConnectionDto,
  ): Promise<ConnectionView> {
    return this.view(await this.connections.update(id, dto));
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete a connection' })
  @ApiNoContentResponse()
  async remove(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    await this.connections.remove(id);
  }

  @Put(':id/metadata')
  @UseInterceptors(FileInterceptor('file'))
  @ApiOperation({
    summary: 'Replace the IdP metadata with a document',
    description:
      'Send the XML as the body (application/xml, application/samlmetadata+xml or text/xml) or as a multipart upload in the field "file". The connection then uses this document instead of a metadata URL.',
  })
  @ApiConsumes('application/xml', 'application/samlmetadata+xml', 'text/xml', 'multipart/form-data')
  @ApiBody({
    schema: {
      oneOf: [
        { type: 'string', description: 'The metadata XML' },
        { type: 'object', properties: { file: { type: 'string', format: 'binary' } } },
      ],
    },
  })
  @ApiQuery({ name: 'entityId', required: false, description: 'Entity to use in an EntitiesDescriptor' })
  @ApiOkResponse({ type: ConnectionView })
  async replaceMetadata(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: Request,
    @UploadedFile() file: { buffer: Buffer } | undefined,
    @Query('entityId') entityId?: string,
  ): Promise<ConnectionView> {
    let body: Buffer | undefined;
    if (file) body = file.buffer;
    else if (Buffer.isBuffer(req.body)) body = req.body;
    if (!body) {
      if (req.is('multipart/form-data')) {
        throw ApiError.badRequest(
          'metadata_file_missing',
          'Upload the metadata file in the form field "file".',
        );
      }
      throw new ApiError(
        HttpStatus.UNSUPPORTED_MEDIA_TYPE,
        'unsupported_media_type',
        `Send the metadata as ${METADATA_CONTENT_TYPES.join(', ')} or multipart/form-data.`,
      );
    }
    if (entityId !== undefined && (typeof entityId !== 'string' || entityId.length > 1024)) {
      throw ApiError.badRequest(
        'invalid_entity_id',
        'entityId must be a single string of at most 1024 characters.',
      );
    }
    return this.view(await this.connections.replaceMetadata(id, body, entityId));
  }

  @Post(':id/metadata/refresh')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Refresh the metadata from its URL now',
    description: 'On failure the last good metadata stays in use and metadata.lastRefreshError says why.',
  })
  @ApiOkResponse({ type: ConnectionView })
  async refresh(@Param('id', new ParseUUIDPipe()) id: string): Promise<ConnectionView> {
    return this.view(await this.connections.refreshNow(id));
  }
}
