import type { ConnectionView } from '../../../../connections/connection.view';
import { badge } from '../../../../web/components/badges';
import { date, table, textField } from '../../../../web/components/fields';
import { certificateBadges, metadataBadge } from '../../../../web/components/metadata';
import { html, type Html } from '../../../../web/html';
import { consoleLayout } from '../../../../web/layout';
import type { ConsoleSession } from '../../console-sessions.service';
import { connectionsChrome, eventsHref } from './connection-chrome';

function metadataCell(c: ConnectionView): Html {
  const error = c.metadata.lastRefreshError;
  return html`${metadataBadge(c)}<br><span class="muted">updated ${date(c.metadata.updatedAt)}</span>${
    error
      ? html`<br><span class="field-error">${error.message}</span> <a href="${eventsHref(c.id, 'connection.metadata_refresh_failed')}">events</a>`
      : ''
  }`;
}

function certificatesCell(c: ConnectionView): Html {
  return html`${certificateBadges(c)}${
    c.idp.certificates.some((x) => x.expired || x.expiresSoon)
      ? html` <a href="${eventsHref(c.id, 'connection.certificate_expiring,connection.certificate_expired')}">events</a>`
      : ''
  }`;
}

/** The connections list: a filter, and per connection its state, metadata, certificates and last login. */
export function connectionListView(input: {
  session: ConsoleSession;
  notice?: string;
  search: string;
  total: number;
  connections: ConnectionView[];
  lastLogins: Map<string, Date>;
}): Html {
  const rows = input.connections.map((c) => [
    html`<a href="/admin/connections/${c.id}">${c.name}</a><br><code>${c.slug}</code>`,
    c.enabled ? 'enabled' : badge('warn', 'disabled'),
    metadataCell(c),
    certificatesCell(c),
    date(input.lastLogins.get(c.id) ?? null),
    c.domains.length
      ? html`${c.domains.map((d, i) => html`${i ? ' ' : ''}<code>${d}</code>`)}`
      : html`<span class="muted">none</span>`,
  ]);
  return consoleLayout(
    connectionsChrome(input.session, { title: 'Connections', notice: input.notice }),
    html`<p><a href="/admin/connections/new">Add a connection</a></p><form method="get" action="/admin/connections" role="search">${textField(
      { name: 'q', label: 'Filter by name, slug or domain', type: 'search', value: input.search },
    )}<button type="submit">Filter</button></form>${table(
      `${input.total} connection(s)`,
      ['Connection', 'State', 'Metadata', 'IdP certificates', 'Last login', 'Verified domains'],
      rows,
      input.search ? 'No connection matches this filter.' : 'No connections yet: add the first one.',
    )}`,
  );
}
