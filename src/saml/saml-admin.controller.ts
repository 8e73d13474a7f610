import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { SsoTracesService } from '../audit/sso-traces.service';
import { ApiError } from '../common/api-error';
import { ConnectionsService } from '../connections/connections.service';
import { mapIdentity, MappingError } from '../mapping/attribute-mapping';
import { findAssertion, hasEncryptedAssertion, readAttributes, readNameId } from './assertion-readers';
import { SamlRejection } from './saml-rejection';
import { parseSamlXml } from './saml.service';

export class TracesQuery {
  @ApiPropertyOptional({ default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
  @ApiPropertyOptional({ enum: ['success', 'failure'] })
  @IsOptional()
  @IsIn(['success', 'failure'])
  outcome?: string;
}

export class MappingPreviewDto {
  @ApiPropertyOptional({ description: 'A decoded saml:Assertion or samlp:Response (XML)' })
  @IsOptional()
  @IsString()
  @MaxLength(512 * 1024)
  assertionXml?: string;

  @ApiPropertyOptional({ description: 'A base64 SAMLResponse as posted to the ACS' })
  @IsOptional()
  @IsString()
  @MaxLength(700 * 1024)
  samlResponse?: string;
}

/** Admin views of SAML activity: SSO traces and attribute-mapping previews. */
@ApiTags('connections')
@ApiBearerAuth()
@Controller('api/v1/connections/:id')
export class SamlAdminController {
  constructor(
    private readonly traces: SsoTracesService,
    private readonly connections: ConnectionsService,
  ) {}

  @Get('traces')
  @ApiOperation({ summary: 'Recent SSO traces: why logins and logouts failed or succeeded, newest first' })
  async list(@Param('id', new ParseUUIDPipe()) id: string, @Query() query: TracesQuery) {
    await this.connections.get(id);
    const rows = await this.traces.list(id, { limit: query.limit ?? 50, outcome: query.outcome });
    return {
      items: rows.map((t) => ({
        id: t.id,
        createdAt: t.createdAt.toISOString(),
        kind: t.kind,
        outcome: t.outcome,
        reason: t.reason,
        message: t.message,
        detail: t.detail,
        samlMessage: t.samlMessage,
        userId: t.userId,
        requestId: t.requestId,
      })),
    };
  }

  @Post('mapping-preview')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Show what the attribute mapping yields for an assertion, without provisioning anyone',
    description: 'No signature or time checks are made: this is a preview of the mapping only.',
  })
  async preview(@Param('id', new ParseUUIDPipe()) id: string, @Body() dto: MappingPreviewDto) {
    const connection = await this.connections.get(id);
    const xml =
      dto.assertionXml ??
      (dto.samlResponse ? Buffer.from(dto.samlResponse, 'base64').toString('utf8') : undefined);
    if (!xml)
      throw ApiError.badRequest(
        'assertion_required',
        'Give assertionXml (decoded XML) or samlResponse (base64).',
      );
    let doc;
    try {
      doc = parseSamlXml(xml);
    } catch (err) {
      if (err instanceof SamlRejection) throw ApiError.badRequest(err.reason, err.message);
      throw err;
    }
    const assertion = findAssertion(doc);
    if (!assertion) {
      throw ApiError.badRequest(
        hasEncryptedAssertion(doc) ? 'assertion_encrypted' : 'assertion_not_found',
        hasEncryptedAssertion(doc)
          ? 'The assertion is encrypted: paste the decrypted assertion (the SSO trace of a login shows it).'
          : 'No single saml:Assertion found in the XML.',
      );
    }
    const identity = { ...readNameId(assertion), attributes: readAttributes(assertion) };
    try {
      const mapped = mapIdentity(identity, {
        preset: connection.preset,
        domains: connection.domains,
        overrides: connection.options.attributeMapping,
        subjectSource: connection.options.subjectSource,
      });
      return {
        ok: true,
        preset: connection.preset,
        mapped,
        nameId: identity.nameId,
        nameIdFormat: identity.nameIdFormat,
        attributes: identity.attributes,
      };
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      return {
        ok: false,
        preset: connection.preset,
        error: { code: err.code, message: err.message },
        nameId: identity.nameId,
        nameIdFormat: identity.nameIdFormat,
        attributes: identity.attributes,
      };
    }
  }
}
