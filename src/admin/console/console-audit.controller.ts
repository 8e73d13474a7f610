import { Controller, Get, HttpStatus, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { decodeCursor, encodeCursor, streamAuditExport, toFilter } from '../../audit/audit.controller';
import { AuditFilterQuery, ListAuditQuery } from '../../audit/audit.dto';
import { AuditService, type AuditEvent } from '../../audit/audit.service';
import { ApiError } from '../../common/api-error';
import { refusalOf } from '../../common/error-status';
import { Public } from '../../common/public.decorator';
import { ConnectionsService } from '../../connections/connections.service';
import { validateForm } from './console-forms';
import { consolePage, date, FieldErrors, h, selectField, table, textField } from './console-html';
import type { ConsoleSession } from './console-sessions.service';
import type { ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';

const PAGE_SIZE = 50;
const FILTERS = ['from', 'to', 'type', 'actorType', 'actor', 'connectionId', 'userId', 'clientId'] as const;
type FilterName = (typeof FILTERS)[number];
type FilterValues = Partial<Record<FilterName, string>>;

const ACTOR_TYPES: Array<[string, string]> = [
  ['', 'Any'],
  ['admin-session', 'Console admin'],
  ['admin-key', 'Admin API key'],
  ['setup-link', 'Setup link'],
  ['scim-token', 'Directory sync (SCIM token)'],
  ['user', 'User'],
  ['system', 'System'],
];

/** The query's filters as typed (trimmed; blank and repeated values dropped). */
function filterValues(query: Record<string, unknown>): FilterValues {
  const out: FilterValues = {};
  for (const name of FILTERS) {
    const v = query[name];
    if (typeof v === 'string' && v.trim() !== '') out[name] = v.trim().slice(0, 200);
  }
  return out;
}

/** A datetime-local value (no zone) is read as UTC; a full ISO 8601 instant is kept as is. */
function instant(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value)) return `${value}:00Z`;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(value)) return `${value}Z`;
  return value;
}

function queryString(values: FilterValues, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...values, ...extra })) if (v) params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The console's audit log: browse with filters and cursor pages, verify the chain, export JSON lines. */
@ApiExcludeController()
@Public()
@UseFilters(ConsolePageFilter)
@Controller('admin/audit')
export class ConsoleAuditController {
  constructor(
    private readonly audit: AuditService,
    private readonly connections: ConnectionsService,
  ) {}

  private send(res: Response, html: string, status = 200): void {
    res.status(status).setHeader('Cache-Control', 'no-store').type('html').send(html);
  }

  /** Validates the filters with the API's rules; field errors are returned, not thrown. */
  private async parse(
    values: FilterValues,
    cursor?: unknown,
  ): Promise<{ query: ListAuditQuery; errors: FieldErrors }> {
    const { dto, errors } = await validateForm(ListAuditQuery, {
      ...values,
      from: instant(values.from),
      to: instant(values.to),
      ...(typeof cursor === 'string' && cursor ? { cursor } : {}),
    });
    return { query: dto, errors };
  }

  @Get()
  async list(
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query() raw: Record<string, unknown>,
  ): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const values = filterValues(raw);
    const { query, errors } = await this.parse(values, raw.cursor);
    const { items: connections } = await this.connections.list({ limit: 500, offset: 0 });
    const names = new Map(connections.map((c) => [c.id, c.name]));
    let events: AuditEvent[] = [];
    let older: string | undefined;
    let error: string | undefined;
    if (Object.keys(errors).length === 0) {
      try {
        const page = await this.audit.list(toFilter(query), {
          beforeSeq: query.cursor !== undefined ? decodeCursor(query.cursor) : undefined,
          limit: PAGE_SIZE,
        });
        events = page.items;
        older = page.nextBeforeSeq !== undefined ? encodeCursor(page.nextBeforeSeq) : undefined;
      } catch (err) {
        // A cursor that is not one of ours: shown on the page, like a bad filter.
        const refusal = refusalOf(err);
        if (!refusal) throw err;
        error = refusal.message;
      }
    } else {
      error = 'The filters were not applied: fix the fields marked below.';
    }
    const rows = events.map((e) => [
      `<code>${e.seq}</code>`,
      date(e.occurredAt),
      `<code>${h(e.type)}</code>`,
      `${h(e.actor.name)}<br><span class="muted">${h(e.actor.type)}${e.actor.id ? ` · <code>${h(e.actor.id)}</code>` : ''}</span>`,
      [
        e.connectionId
          ? `connection <a href="/admin/connections/${h(e.connectionId)}">${h(names.get(e.connectionId) ?? e.connectionId)}</a>`
          : '',
        e.userId ? `user <a href="/admin/users/${h(e.userId)}"><code>${h(e.userId)}</code></a>` : '',
        e.clientId ? `app <code>${h(e.clientId)}</code>` : '',
      ]
        .filter(Boolean)
        .join('<br>'),
      Object.keys(e.data).length
        ? `<details><summary>Details</summary><pre>${h(JSON.stringify(e.data, null, 2))}</pre></details>`
        : '',
    ]);
    const form =
      `<form method="get" action="/admin/audit" class="main" role="search"><fieldset><legend>Filters</legend>` +
      textField({
        name: 'from',
        label: 'From (UTC)',
        type: 'text',
        value: values.from,
        error: errors.from,
        attrs: ' placeholder="2026-11-01T00:00"',
        hint: 'Inclusive; ISO 8601, e.g. 2026-11-01T00:00 (read as UTC).',
      }) +
      textField({ name: 'to', label: 'To (UTC)', value: values.to, error: errors.to, hint: 'Exclusive.' }) +
      textField({
        name: 'type',
        label: 'Event type',
        value: values.type,
        error: errors.type,
        hint: 'Exact (<code>login.failed</code>) or a prefix ending with a dot (<code>setup_link.</code>).',
      }) +
      selectField({
        name: 'actorType',
        label: 'Actor type',
        value: values.actorType ?? '',
        options: ACTOR_TYPES,
        error: errors.actorType,
      }) +
      textField({
        name: 'actor',
        label: 'Actor id',
        value: values.actor,
        error: errors.actor,
        hint: 'An API key id, <code>bootstrap</code>, a setup link id, a user id.',
      }) +
      selectField({
        name: 'connectionId',
        label: 'Connection',
        value: values.connectionId ?? '',
        options: [['', 'Any'], ...connections.map((c): [string, string] => [c.id, `${c.name} (${c.slug})`])],
        error: errors.connectionId,
      }) +
      textField({ name: 'userId', label: 'User id', value: values.userId, error: errors.userId }) +
      `<button type="submit">Apply the filters</button> <a href="/admin/audit">Clear</a></fieldset></form>`;
    const actions =
      `<p><a href="/admin/audit/export${h(queryString(values))}" download>Export (JSON lines)</a> · ` +
      `<a href="/admin/audit/verify">Verify chain</a></p>`;
    const pager = older
      ? `<p><a rel="next" href="/admin/audit${h(queryString(values, { cursor: older }))}">Older</a></p>`
      : '';
    this.send(
      res,
      consolePage(
        {
          title: 'Audit log',
          session: { adminName: session.admin.name, csrfToken: session.csrfToken },
          active: 'audit',
          error,
        },
        `<p>Every admin change, login, logout, key rotation, metadata refresh and setup link use, newest first. ` +
          `Each event is chained to the previous one by its hash: <strong>Verify chain</strong> recomputes them.</p>` +
          form +
          actions +
          table(
            `Events${query.cursor ? ' (older page)' : ''}`,
            ['Seq', 'When', 'Event', 'Actor', 'About', 'Details'],
            rows,
            'No events match these filters.',
          ) +
          pager,
      ),
      error ? HttpStatus.BAD_REQUEST : HttpStatus.OK,
    );
  }

  @Get('export')
  async export(@Res() res: Response, @Query() raw: Record<string, unknown>): Promise<void> {
    const { query, errors } = await this.parse(filterValues(raw));
    if (Object.keys(errors).length) {
      const [field, message] = Object.entries(errors)[0] ?? ['query', 'invalid'];
      throw ApiError.badRequest('validation_failed', `${field}: ${message}`);
    }
    await streamAuditExport(this.audit, toFilter(query as AuditFilterQuery), res);
  }

  @Get('verify')
  async verify(@Req() req: ConsoleRequest, @Res() res: Response): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const result = await this.audit.verify(1000);
    const body = result.ok
      ? `<p role="status" class="notice" id="verify-result">Chain OK: ${result.checked} events verified intact. ` +
        `Last event <code>${result.lastSeq}</code>, hash <code>${h(result.lastHash)}</code>.</p>` +
        `<p class="muted">Keep the last seq and hash outside the bridge: the API's verify with <code>anchorSeq</code> and ` +
        `<code>anchorHash</code> then also detects a cut of the newest events.</p>`
      : `<div role="alert" class="error-summary" id="verify-result">Chain broken at seq <code>${result.firstBrokenSeq}</code>: ` +
        `<code>${h(result.reason)}</code> (${result.checked} events verified intact before it).</div>`;
    this.send(
      res,
      consolePage(
        {
          title: 'Audit chain verification',
          session: { adminName: session.admin.name, csrfToken: session.csrfToken },
          active: 'audit',
        },
        body + `<p><a href="/admin/audit">Back to the audit log</a></p>`,
      ),
    );
  }
}
