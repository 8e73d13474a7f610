import type { Response } from 'express';
import { DomainError } from '../common/domain-error';
import type { AuditFilterQuery } from './audit.dto';
import type { AuditFilter, AuditService } from './audit.service';

/**
 * The audit log's query helpers shared by the API and the console: the opaque page cursor, the filter
 * query read as an `AuditFilter`, and the JSON-lines export.
 */

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
    throw DomainError.invalid('invalid_cursor', 'cursor must be a nextCursor returned by this API.');
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
      throw DomainError.invalid('invalid_time_range', `${name} is not a valid instant.`);
  }
  if (from && to && from.getTime() > to.getTime()) {
    throw DomainError.invalid('invalid_time_range', 'from must not be after to.');
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
