import {
  All,
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../common/public.decorator';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ScimAuthGuard, Scim } from './scim-auth.guard';
import type { ScimContext } from './scim-context';
import { resourceTypes, schemas, serviceProviderConfig } from './scim-discovery';
import { SCIM, SCIM_MEDIA_TYPE, ScimError } from './scim-error';
import { ScimExceptionFilter } from './scim-exception.filter';
import { ScimGroupsService } from './scim-groups.service';
import type { JsonObject } from './scim-patch';
import { ScimUsersService, type ListQuery } from './scim-users.service';

const list = (resources: unknown[]) => ({
  schemas: [SCIM.listResponse],
  totalResults: resources.length,
  startIndex: 1,
  itemsPerPage: resources.length,
  Resources: resources,
});

/** Answers 201 with the new resource's Location (RFC 7644 §3.3). */
function created(res: Response, resource: JsonObject): JsonObject {
  res.status(201);
  const meta = resource.meta as { location?: string } | undefined;
  if (meta?.location) res.setHeader('Location', meta.location);
  return resource;
}

/**
 * The SCIM 2.0 service provider of each connection, at `/scim/v2/{slug}` (RFC 7644): Users, Groups and the
 * discovery documents, authenticated with the connection's SCIM token. Described by the SCIM discovery
 * endpoints rather than OpenAPI.
 */
@ApiExcludeController()
@Public()
@UseFilters(ScimExceptionFilter)
@UseGuards(ScimAuthGuard)
@Controller('scim/v2/:slug')
export class ScimController {
  constructor(
    private readonly users: ScimUsersService,
    private readonly groups: ScimGroupsService,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  @Get('ServiceProviderConfig')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  serviceProviderConfig(@Scim() ctx: ScimContext) {
    return serviceProviderConfig(ctx.baseUrl, this.config.bodyLimitBytes);
  }

  @Get('ResourceTypes')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  resourceTypes(@Scim() ctx: ScimContext) {
    return list(resourceTypes(ctx.baseUrl));
  }

  @Get('ResourceTypes/:id')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  resourceType(@Scim() ctx: ScimContext, @Param('id') id: string) {
    const found = resourceTypes(ctx.baseUrl).find((r) => r.id === id);
    if (!found) throw ScimError.notFound(`No resource type ${id}.`);
    return found;
  }

  @Get('Schemas')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  schemas(@Scim() ctx: ScimContext) {
    return list(schemas(ctx.baseUrl));
  }

  @Get('Schemas/:id')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  schema(@Scim() ctx: ScimContext, @Param('id') id: string) {
    const found = schemas(ctx.baseUrl).find((s) => s.id === id);
    if (!found) throw ScimError.notFound(`No schema ${id}.`);
    return found;
  }

  @Get('Users')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  listUsers(@Scim() ctx: ScimContext, @Query() query: ListQuery) {
    return this.users.list(ctx, query);
  }

  @Post('Users')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  async createUser(
    @Scim() ctx: ScimContext,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ) {
    return created(res, await this.users.create(ctx, body));
  }

  @Get('Users/:id')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  getUser(@Scim() ctx: ScimContext, @Param('id') id: string, @Query() query: ListQuery) {
    return this.users.get(ctx, id, query);
  }

  @Put('Users/:id')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  replaceUser(@Scim() ctx: ScimContext, @Param('id') id: string, @Body() body: unknown) {
    return this.users.replace(ctx, id, body);
  }

  @Patch('Users/:id')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  patchUser(@Scim() ctx: ScimContext, @Param('id') id: string, @Body() body: unknown) {
    return this.users.patch(ctx, id, body);
  }

  @Delete('Users/:id')
  @HttpCode(204)
  async deleteUser(@Scim() ctx: ScimContext, @Param('id') id: string): Promise<void> {
    await this.users.delete(ctx, id);
  }

  @Get('Groups')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  listGroups(@Scim() ctx: ScimContext, @Query() query: ListQuery) {
    return this.groups.list(ctx, query);
  }

  @Post('Groups')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  async createGroup(
    @Scim() ctx: ScimContext,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ) {
    return created(res, await this.groups.create(ctx, body));
  }

  @Get('Groups/:id')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  getGroup(@Scim() ctx: ScimContext, @Param('id') id: string, @Query() query: ListQuery) {
    return this.groups.get(ctx, id, query);
  }

  @Put('Groups/:id')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  replaceGroup(@Scim() ctx: ScimContext, @Param('id') id: string, @Body() body: unknown) {
    return this.groups.replace(ctx, id, body);
  }

  @Patch('Groups/:id')
  @Header('Content-Type', SCIM_MEDIA_TYPE)
  patchGroup(@Scim() ctx: ScimContext, @Param('id') id: string, @Body() body: unknown) {
    return this.groups.patch(ctx, id, body);
  }

  @Delete('Groups/:id')
  @HttpCode(204)
  async deleteGroup(@Scim() ctx: ScimContext, @Param('id') id: string): Promise<void> {
    await this.groups.delete(ctx, id);
  }

  /** Anything else under the base URL: a SCIM 404 (or 405 for a known resource's unsupported method). */
  @All('{*rest}')
  unknown(@Param('rest') rest: string[] | string): never {
    const path = Array.isArray(rest) ? rest.join('/') : String(rest);
    if (/^(Users|Groups)(\/[^/]+)?$/.test(path) || path === 'Bulk' || path === '.search') {
      throw new ScimError(405, `This method is not supported on /${path}.`);
    }
    throw ScimError.notFound(`There is no SCIM endpoint /${path}.`);
  }
}
