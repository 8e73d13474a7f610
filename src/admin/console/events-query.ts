import { EVENT_TYPES } from '../../events/event-catalog';
import { UUID } from '../../common/uuid';

/** The events page's filter: a connection id and known event types (anything else is dropped). */
export function eventsFilter(query: { connection: unknown; types: unknown }): {
  connectionId?: string;
  types: string[];
} {
  const { connection, types } = query;
  return {
    connectionId: typeof connection === 'string' && UUID.test(connection) ? connection : undefined,
    types:
      typeof types === 'string'
        ? types.split(',').filter((t) => (EVENT_TYPES as readonly string[]).includes(t))
        : [],
  };
}
