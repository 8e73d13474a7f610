import type { ConsoleChrome } from '../../../../web/layout';
import type { ConsoleSession } from '../../console-sessions.service';

/** The console chrome of a connections page: signed in, "Connections" active in the navigation. */
export function connectionsChrome(
  session: ConsoleSession,
  page: { title: string; notice?: string; error?: string },
): ConsoleChrome {
  return {
    ...page,
    session: { adminName: session.admin.name, csrfToken: session.csrfToken },
    active: 'connections',
  };
}

/** The console's events page, filtered to a connection and event types. */
export function eventsHref(connectionId: string, types: string): string {
  return `/admin/events?${new URLSearchParams({ connection: connectionId, types }).toString()}`;
}
