import type { StoredEvent } from '../../../../events/events.repository';
import { date, table } from '../../../../web/components/fields';
import { html, type Html } from '../../../../web/html';
import { consoleLayout, type ConsoleChrome } from '../../../../web/layout';

/** The latest events (what webhooks receive), with the filter they were picked by. */
export function eventsPage(input: {
  session: NonNullable<ConsoleChrome['session']>;
  types: string[];
  connectionId?: string;
  events: StoredEvent[];
}): Html {
  const { types, connectionId } = input;
  const rows = input.events.map((e) => [
    date(e.occurredAt),
    html`<code>${e.type}</code>`,
    html`<code>${JSON.stringify(e.data)}</code>`,
  ]);
  return consoleLayout(
    { title: 'Events', session: input.session, active: 'webhooks' },
    html`<p>${types.length ? html`Types ${types.map((t, i) => html`${i ? ' ' : ''}<code>${t}</code>`)}` : 'All types'}${
      connectionId
        ? html` · connection <a href="/admin/connections/${connectionId}"><code>${connectionId}</code></a>`
        : ''
    } · <a href="/admin/webhooks">Webhooks</a></p>${table(
      'The latest events, newest first',
      ['When', 'Type', 'Data'],
      rows,
      'No events match.',
    )}`,
  );
}
