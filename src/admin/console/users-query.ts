import type { ConsoleRequest } from './console.guard';
import { UUID } from '../../common/uuid';

/** Users per page of the console's list. */
export const USERS_PAGE_SIZE = 50;

function queryText(value: unknown, max: number): string {
  return typeof value === 'string' ? value.trim().slice(0, max) : '';
}

/** The users list's search: an exact email, a connection id, a page number (invalid values are dropped). */
export interface UsersSearch {
  email: string;
  connectionId: string;
  page: number;
}

export function usersSearch(query: { email: unknown; connection: unknown; page: unknown }): UsersSearch {
  const connection = queryText(query.connection, 36);
  return {
    email: queryText(query.email, 320),
    connectionId: UUID.test(connection) ? connection : '',
    page: Math.max(0, Math.min(10_000, Number.parseInt(queryText(query.page, 6), 10) || 0)),
  };
}

/** The list URL of a search, on another page. */
export function usersSearchUrl(search: UsersSearch, page = search.page): string {
  const params = new URLSearchParams({
    email: search.email,
    connection: search.connectionId,
    page: String(page),
  });
  return `/admin/users?${params.toString()}`;
}

/** Back to the same search (only ever a /admin/users URL) after an action, with its notice. */
export function usersBackUrl(req: ConsoleRequest, notice: string): string {
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
