import type { AuditEvent } from '../../../../audit/audit.service';
import { date, selectField, table, textField } from '../../../../web/components/fields';
import { joined } from '../../../../web/components/join';
import { html, type Html } from '../../../../web/html';
import { consoleLayout, type ConsoleChrome } from '../../../../web/layout';
import { auditQueryString, type AuditConsolePage, type AuditFilterValues } from '../../audit-filters';

const ACTOR_TYPES: Array<[string, string]> = [
  ['', 'Any'],
  ['admin-session', 'Console admin'],
  ['admin-key', 'Admin API key'],
  ['setup-link', 'Setup link'],
  ['scim-token', 'Directory sync (SCIM token)'],
  ['user', 'User'],
  ['system', 'System'],
];

type Connection = { id: string; slug: string; name: string };

function aboutCell(e: AuditEvent, names: Map<string, string>): Html {
  const parts: Html[] = [];
  if (e.connectionId)
    parts.push(
      html`connection <a href="/admin/connections/${e.connectionId}">${names.get(e.connectionId) ?? e.connectionId}</a>`,
    );
  if (e.userId) parts.push(html`user <a href="/admin/users/${e.userId}"><code>${e.userId}</code></a>`);
  if (e.clientId) parts.push(html`app <code>${e.clientId}</code>`);
  return joined(parts, html`<br>`);
}

function eventRow(e: AuditEvent, names: Map<string, string>): Array<string | Html> {
  return [
    html`<code>${e.seq}</code>`,
    date(e.occurredAt),
    html`<code>${e.type}</code>`,
    html`${e.actor.name}<br><span class="muted">${e.actor.type}${
      e.actor.id ? html` · <code>${e.actor.id}</code>` : ''
    }</span>`,
    aboutCell(e, names),
    Object.keys(e.data).length
      ? html`<details><summary>Details</summary><pre>${JSON.stringify(e.data, null, 2)}</pre></details>`
      : '',
  ];
}

function filtersForm(
  values: AuditFilterValues,
  errors: AuditConsolePage['errors'],
  connections: Connection[],
): Html {
  return html`<form method="get" action="/admin/audit" class="main" role="search"><fieldset><legend>Filters</legend>${textField(
    {
      name: 'from',
      label: 'From (UTC)',
      type: 'text',
      value: values.from,
      error: errors.from,
      attrs: html` placeholder="2026-11-01T00:00"`,
      hint: 'Inclusive; ISO 8601, e.g. 2026-11-01T00:00 (read as UTC).',
    },
  )}${textField({ name: 'to', label: 'To (UTC)', value: values.to, error: errors.to, hint: 'Exclusive.' })}${textField(
    {
      name: 'type',
      label: 'Event type',
      value: values.type,
      error: errors.type,
      hint: html`Exact (<code>login.failed</code>) or a prefix ending with a dot (<code>setup_link.</code>).`,
    },
  )}${selectField({
    name: 'actorType',
    label: 'Actor type',
    value: values.actorType ?? '',
    options: ACTOR_TYPES,
    error: errors.actorType,
  })}${textField({
    name: 'actor',
    label: 'Actor id',
    value: values.actor,
    error: errors.actor,
    hint: html`An API key id, <code>bootstrap</code>, a setup link id, a user id.`,
  })}${selectField({
    name: 'connectionId',
    label: 'Connection',
    value: values.connectionId ?? '',
    options: [['', 'Any'], ...connections.map((c): [string, string] => [c.id, `${c.name} (${c.slug})`])],
    error: errors.connectionId,
  })}${textField({
    name: 'userId',
    label: 'User id',
    value: values.userId,
    error: errors.userId,
  })}<button type="submit">Apply the filters</button> <a href="/admin/audit">Clear</a></fieldset></form>`;
}

/** The audit log: filters, export and verify links, one page of events (newest first), the older page. */
export function auditListPage(input: {
  session: NonNullable<ConsoleChrome['session']>;
  values: AuditFilterValues;
  page: AuditConsolePage;
  connections: Connection[];
}): Html {
  const { values, page } = input;
  const names = new Map(input.connections.map((c) => [c.id, c.name]));
  return consoleLayout(
    { title: 'Audit log', session: input.session, active: 'audit', error: page.error },
    html`<p>Every admin change, login, logout, key rotation, metadata refresh and setup link use, newest first. Each event is chained to the previous one by its hash: <strong>Verify chain</strong> recomputes them.</p>${filtersForm(
      values,
      page.errors,
      input.connections,
    )}<p><a href="/admin/audit/export${auditQueryString(values)}" download>Export (JSON lines)</a> · <a href="/admin/audit/verify">Verify chain</a></p>${table(
      `Events${page.query.cursor ? ' (older page)' : ''}`,
      ['Seq', 'When', 'Event', 'Actor', 'About', 'Details'],
      page.events.map((e) => eventRow(e, names)),
      'No events match these filters.',
    )}${
      page.older
        ? html`<p><a rel="next" href="/admin/audit${auditQueryString(values, { cursor: page.older })}">Older</a></p>`
        : ''
    }`,
  );
}
