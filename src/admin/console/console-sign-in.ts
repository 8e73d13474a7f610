import type { ConnectionsService } from '../../connections/connections.service';
import { isSafeReturnPath } from '../../saml/return-path';

/** Where the console lands after sign-in, and where `/admin` leads. */
export const DEFAULT_LANDING = '/admin/connections';

/** Where to go after sign-in: a console path only (never the sign-in page itself, never another site). */
export function consoleNext(next: unknown): string {
  return typeof next === 'string' &&
    isSafeReturnPath(next) &&
    (next === '/admin' || next.startsWith('/admin/')) &&
    !next.startsWith('/admin/sign-in')
    ? next
    : DEFAULT_LANDING;
}

/** A connection admins may sign in through. */
export interface AdminSsoConnection {
  slug: string;
  name: string;
}

/** Enabled connections through which admins may sign in (their `adminGroups` option is set). */
export async function adminSsoConnections(connections: ConnectionsService): Promise<AdminSsoConnection[]> {
  const { items } = await connections.list({ limit: 500, offset: 0 });
  return items.filter((c) => c.enabled && (c.options.adminGroups?.length ?? 0) > 0);
}
