import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiError } from '../common/api-error';
import { DEFAULT_PAGE_SIZE } from '../common/pagination.query';
import {
  AuditFilterQuery,
  AuditPageView,
  AuditVerifyView,
  ListAuditQuery,
  VerifyAuditQuery,
} from './audit.dto';
import { decodeCursor, encodeCursor, streamAuditExport, toFilter } from './audit-query';
import { AuditService } from './audit.service';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({
    summary: 'Audit events, newest first',
    description:
      'Admin changes (with before/after, secrets redacted), logins, logouts, key rotations and metadata refreshes. ' +
      'Filter by time range, actor, type (exact or a prefix such as `login.`), connection, user or app; ' +
      'page with `cursor` = the previous page’s `nextCursor`.',
  })
  @ApiOkResponse({ type: AuditPageView })
  async list(@Query() query: ListAuditQuery): Promise<AuditPageView> {
    const filter = toFilter(query);
    const beforeSeq = query.cursor !== undefined ? decodeCursor(query.cursor) : undefined;
    const page = await this.audit.list(filter, { beforeSeq, limit: query.limit ?? DEFAULT_PAGE_SIZE });
    return {
      items: page.items,
      nextCursor: page.nextBeforeSeq !== undefined ? encodeCursor(page.nextBeforeSeq) : null,
    };
  }

  @Get('export')
  @ApiOperation({
    summary: 'Export audit events as JSON lines, oldest first',
    description: 'The same filters as the list; streamed in batches, one event per line.',
  })
  @ApiProduces('application/x-ndjson')
  async export(@Query() query: AuditFilterQuery, @Res() res: Response): Promise<void> {
    await streamAuditExport(this.audit, toFilter(query), res);
  }

  @Get('verify')
  @ApiOperation({
    summary: 'Verify the hash chain',
    description:
      'Recomputes every event’s hash in order and checks the links, the sequence and the chain head. ' +
      'Answers `{ok: true, checked, lastSeq, lastHash}` or `{ok: false, checked, firstBrokenSeq, reason}`. ' +
      'Keep `lastSeq`/`lastHash` outside the database and pass them back as `anchorSeq`/`anchorHash` to also ' +
      'detect a cut of the newest events by someone able to bypass the database triggers.',
  })
  @ApiOkResponse({ type: AuditVerifyView })
  verify(@Query() query: VerifyAuditQuery): Promise<AuditVerifyView> {
    if ((query.anchorSeq === undefined) !== (query.anchorHash === undefined)) {
      throw ApiError.badRequest('invalid_anchor', 'Give both anchorSeq and anchorHash, or neither.');
    }
    const anchor =
      query.anchorSeq !== undefined && query.anchorHash !== undefined
        ? { seq: query.anchorSeq, hash: query.anchorHash }
        : undefined;
    return this.audit.verify(1000, anchor);
  }
}
