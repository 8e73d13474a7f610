import {
  Controller,
  Get,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../../common/public.decorator';
import { ConnectionsService } from '../../connections/connections.service';
import { groupsClaim, isDeprovisioned, userSource } from '../../users/user.entity';
import { UsersService } from '../../users/users.service';
import { actionButton, consolePage, date, h, selectField, table, textField } from './console-html';
import type { ConsoleSession } from './console-sessions.service';
import type { ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';

const PAGE_SIZE = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function queryText(value: unknown, max: number): string {
  return typeof value === 'string' ? value.trim().slice(0, max) : '';
}

/** Users: search by email and connection, see groups and last login, disable / enable. */
@ApiExcludeController()
@Public()
@UseFilters(ConsolePageFilter)
@Controller('admin/users')
export class ConsoleUsersController {
  constructor(
    private readonly users: UsersService,
    private readonly connections: ConnectionsService,
  ) {}

  @Get()
  async list(
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query('email') rawEmail: unknown,
    @Query('connection') rawConnection: unknown,
    @Query('page') rawPage: unknown,
    @Query('notice') notice: unknown,
  ): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const email = queryText(rawEmail, 320);
    const connectionId = UUID.test(queryText(rawConnection, 36)) ? queryText(rawConnection, 36) : '';
    const page = Math.max(0, Math.min(10_000, Number.parseInt(queryText(rawPage, 6), 10) || 0));
    const [{ items, total }, { items: connections }] = await Promise.all([
      this.users.list({
        email: email || undefined,
        connectionId: connectionId || undefined,
        limit: PAGE_SIZE,
        offset: page * PAGE_SIZE,
      }),
      this.connections.list({ limit: 500, offset: 0 }),
    ]);
    const slugs = new Map(connections.map((c) => [c.id, c.slug]));
    const back = `/admin/users?${new URLSearchParams({ email, connection: connectionId, page: String(page) }).toString()}`;
    const rows = items.map((u) => [
      `${h(u.email ?? '—')}${u.emailVerified ? '' : ' <span class="muted">(unverified)</span>'}<br><span class="muted">${h(
        u.displayName ?? [u.givenName, u.familyName].filter(Boolean).join(' '),
      )}</span>`,
      `<code>${h(slugs.get(u.connectionId) ?? u.connectionId)}</code>`,
      `<code>${h(u.subject)}</code>`,
      groupsClaim(u)
        .map((g) => `<code>${h(g)}</code>`)
        .join(' ') || '<span class="muted">none</span>',
      date(u.lastLoginAt),
      `${h(userSource(u))}${u.lastSyncedAt ? `<br><span class="muted">synced ${date(u.lastSyncedAt)}</span>` : ''}`,
      isDeprovisioned(u)
        ? '<span class="badge bad">deprovisioned</span>'
        : u.disabled
          ? '<span class="badge bad">disabled</span>'
          : '<span class="badge ok">active</span>',
      actionButton(
        `/admin/users/${h(u.id)}/${u.disabled ? 'enable' : 'disable'}`,
        session.csrfToken,
        u.disabled ? `Enable ${u.email ?? u.subject}` : `Disable ${u.email ?? u.subject}`,
        `<input type="hidden" name="back" value="${h(back)}">`,
      ),
    ]);
    const pager =
      (page > 0
        ? `<a href="/admin/users?${h(new URLSearchParams({ email, connection: connectionId, page: String(page - 1) }).toString())}">Previous page</a> `
        : '') +
      ((page + 1) * PAGE_SIZE < total
        ? `<a href="/admin/users?${h(new URLSearchParams({ email, connection: connectionId, page: String(page + 1) }).toString())}">Next page</a>`
        : '');
    res
      .setHeader('Cache-Control', 'no-store')
      .type('html')
      .send(
        consolePage(
          {
            title: 'Users',
            session: { adminName: session.admin.name, csrfToken: session.csrfToken },
            active: 'users',
            notice:
              notice === 'disabled'
                ? 'User disabled: their next login is refused.'
                : notice === 'enabled'
                  ? 'User enabled.'
                  : undefined,
          },
          `<form method="get" action="/admin/users" role="search">` +
            textField({ name: 'email', label: 'Email (exact)', type: 'search', value: email }) +
            selectField({
              name: 'connection',
              label: 'Connection',
              value: connectionId,
              options: [
                ['', 'All connections'],
                ...connections.map((c): [string, string] => [c.id, `${c.name} (${c.slug})`]),
              ],
            }) +
            `<button type="submit">Search</button></form>` +
            table(
              `${total} user(s)`,
              ['User', 'Connection', 'Subject', 'Groups', 'Last login', 'Source', 'State', 'Action'],
              rows,
              'No users match. Users appear after their first login, or when a directory provisions them (SCIM).',
            ) +
            pager,
        ),
      );
  }

  @Post(':id/disable')
  async disable(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
  ): Promise<void> {
    await this.users.setDisabled(id, true);
    res.redirect(HttpStatus.SEE_OTHER, this.back(req, 'disabled'));
  }

  @Post(':id/enable')
  async enable(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
  ): Promise<void> {
    await this.users.setDisabled(id, false);
    res.redirect(HttpStatus.SEE_OTHER, this.back(req, 'enabled'));
  }

  /** Back to the same search (only ever a /admin/users URL), with the notice. */
  private back(req: ConsoleRequest, notice: string): string {
    const raw = (req.body as Record<string, unknown> | undefined)?.back;
    const params = new URLSearchParams();
    if (typeof raw === 'string' && raw.startsWith('/admin/users?')) {
      const given = new URLSearchParams(raw.slice('/admin/users?'.length));
      for (const key of ['email', 'connection', 'page']) {
        const v = given.get(key);
        if (v) params.set(key, v.slice(0, 320));
      }
    }
    params.set('notice', notice);
    return `/admin/users?${params.toString()}`;
  }
}
