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
import { AuditFilter, AuditService } from './audit.service';

const CURSOR_PREFIX = 'a1.';

/** Resolves when the response can take more data, or is closed (the client went away). */
function drainedOrClosed(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** The opaque cursor of a page: the seq the next page starts below. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${seq}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const seq = text.startsWith(CURSOR_PREFIX) ? Number(text.slice(CURSOR_PREFIX.length)) : NaN;
  if (!Number.isSafeInteger(seq) || seq < 1 || !/^\d+$/.test(text.slice(CURSOR_PREFIX.length))) {
    throw ApiError.badRequest('invalid_cursor', 'cursor must be a nextCursor returned by this API.');
  }
  return seq;
}

export function toFilter(q: AuditFilterQuery): AuditFilter {
  const from = q.from ? new Date(q.from) : undefined;
  const to = q.to ? new Date(q.to) : undefined;
  for (const [name, d] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (d && Number.isNaN(d.getTime()))
      throw ApiError.badRequest('invalid_time_range', `${name} is not a valid instant.`);
  }
  if (from && to && from.getTime() > to.getTime()) {
    throw ApiError.badRequest('invalid_time_range', 'from must not be after to.');
  }
  return {
    from,
    to,
    actor: q.actor,
    actorType: q.actorType,
    type: q.type,
    connectionId: q.connectionId?.toLowerCase(),
    userId: q.userId?.toLowerCase(),
    clientId: q.clientId,
  };
}

/**
 * Streams the events matching the filter as JSON lines, oldest first, in batches with backpressure (shared
 * by the API and the console's export link).
 */
export async function streamAuditExport(
  audit: AuditService,
  filter: AuditFilter,
  res: Response,
): Promise<void> {
  const stream = audit.stream(filter);
  // Read the first batch before answering, so a database error is still a proper error response.
  const first = await stream.next();
  res.status(200);
  res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
  res.setHeader('Content-Disposition', 'attachment; filename="audit-events.ndjson"');
  res.setHeader('Cache-Control', 'no-store');
  try {
    let batch = first;
    while (!batch.done) {
      const chunk = batch.value.map((e) => `${JSON.stringify(e)}\n`).join('');
      // Backpressure: wait until the client has taken the data (or has gone away).
      if (!res.write(chunk)) await drainedOrClosed(res);
      if (res.destroyed || res.writableEnded) return;
      batch = await stream.next();
    }
    res.end();
  } catch (err) {
    // Headers are sent: the only honest signal left is to cut the response short.
    res.destroy(err as Error);
  } finally {
    await stream.return(undefined);
  }
}

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
