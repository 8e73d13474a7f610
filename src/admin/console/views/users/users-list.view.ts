import { groupsClaim, isDeprovisioned, userSource, type UserEntity } from '../../../../users/user.entity';
import { badge } from '../../../../web/components/badges';
import { actionButton, date, selectField, table, textField } from '../../../../web/components/fields';
import { joined } from '../../../../web/components/join';
import { html, type Html } from '../../../../web/html';
import { consoleLayout, type ConsoleChrome } from '../../../../web/layout';
import { USERS_PAGE_SIZE, usersSearchUrl, type UsersSearch } from '../../users-query';
import { displayNameOf } from '../../../../users/display-name';

const NOTICES: Record<string, string> = {
  disabled: 'User disabled: their next login is refused.',
  enabled: 'User enabled.',
};

function stateBadge(u: UserEntity): Html {
  if (isDeprovisioned(u)) return badge('bad', 'deprovisioned');
  return u.disabled ? badge('bad', 'disabled') : badge('ok', 'active');
}

/** Users: the search form, one page of matches (disable / enable each), the pager. */
export function usersListPage(input: {
  session: NonNullable<ConsoleChrome['session']>;
  search: UsersSearch;
  users: UserEntity[];
  total: number;
  connections: Array<{ id: string; slug: string; name: string }>;
  notice: unknown;
}): Html {
  const { search, session } = input;
  const slugs = new Map(input.connections.map((c) => [c.id, c.slug]));
  const back = usersSearchUrl(search);
  const rows = input.users.map((u) => {
    const groups = groupsClaim(u);
    const who = u.email ?? u.subject;
    return [
      html`${u.email ?? '—'}${u.emailVerified ? '' : html` <span class="muted">(unverified)</span>`}<br><span class="muted">${
        displayNameOf(u) ?? ''
      }</span>`,
      html`<code>${slugs.get(u.connectionId) ?? u.connectionId}</code>`,
      html`<code>${u.subject}</code>`,
      groups.length
        ? joined(
            groups.map((g) => html`<code>${g}</code>`),
            html` `,
          )
        : html`<span class="muted">none</span>`,
      date(u.lastLoginAt),
      html`${userSource(u)}${u.lastSyncedAt ? html`<br><span class="muted">synced ${date(u.lastSyncedAt)}</span>` : ''}`,
      stateBadge(u),
      actionButton(
        `/admin/users/${u.id}/${u.disabled ? 'enable' : 'disable'}`,
        session.csrfToken,
        u.disabled ? `Enable ${who}` : `Disable ${who}`,
        html`<input type="hidden" name="back" value="${back}">`,
      ),
    ];
  });
  const previous = search.page > 0;
  const next = (search.page + 1) * USERS_PAGE_SIZE < input.total;
  return consoleLayout(
    {
      title: 'Users',
      session,
      active: 'users',
      notice: typeof input.notice === 'string' ? NOTICES[input.notice] : undefined,
    },
    html`<form method="get" action="/admin/users" role="search">${textField({
      name: 'email',
      label: 'Email (exact)',
      type: 'search',
      value: search.email,
    })}${selectField({
      name: 'connection',
      label: 'Connection',
      value: search.connectionId,
      options: [
        ['', 'All connections'],
        ...input.connections.map((c): [string, string] => [c.id, `${c.name} (${c.slug})`]),
      ],
    })}<button type="submit">Search</button></form>${table(
      `${input.total} user(s)`,
      ['User', 'Connection', 'Subject', 'Groups', 'Last login', 'Source', 'State', 'Action'],
      rows,
      'No users match. Users appear after their first login, or when a directory provisions them (SCIM).',
    )}${previous ? html`<a href="${usersSearchUrl(search, search.page - 1)}">Previous page</a> ` : ''}${
      next ? html`<a href="${usersSearchUrl(search, search.page + 1)}">Next page</a>` : ''
    }`,
  );
}
