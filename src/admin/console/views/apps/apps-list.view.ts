import type { OidcClientEntity } from '../../../../oidc/oidc-client.entity';
import type { BackchannelDeliveryState } from '../../../../oidc/oidc-logout.service';
import { date, table } from '../../../../web/components/fields';
import { joined } from '../../../../web/components/join';
import { html, type Html } from '../../../../web/html';
import { consoleLayout, type ConsoleChrome } from '../../../../web/layout';
import { deliveryCell } from './app-delivery.view';

const NOTICES: Record<string, string> = {
  saved: 'Changes saved.',
  deleted: 'App deleted.',
};

/** The text of a `?notice=` code of the apps pages (unknown codes show nothing). */
export function appNotice(code: unknown): string | undefined {
  return typeof code === 'string' ? NOTICES[code] : undefined;
}

/** Apps: every registered OIDC client with its latest back-channel logout. */
export function appsListPage(input: {
  session: NonNullable<ConsoleChrome['session']>;
  apps: OidcClientEntity[];
  deliveries: Map<string, BackchannelDeliveryState>;
  notice?: string;
}): Html {
  const rows = input.apps.map((c) => [
    html`<a href="/admin/apps/${c.clientId}">${c.name}</a>`,
    html`<code>${c.clientId}</code>`,
    c.redirectUris.length
      ? joined(
          c.redirectUris.map((u) => html`<code>${u}</code>`),
          html`<br>`,
        )
      : html`<span class="muted">none</span>`,
    c.tokenEndpointAuthMethod,
    deliveryCell(input.deliveries.get(c.clientId)),
    date(c.createdAt),
  ]);
  return consoleLayout(
    { title: 'Apps', session: input.session, active: 'apps', notice: input.notice },
    html`<p>Internal apps sign users in with OpenID Connect against this bridge. <a href="/admin/apps/new">Register an app</a></p>${table(
      `${input.apps.length} app(s)`,
      ['App', 'Client ID', 'Redirect URIs', 'Authentication', 'Last back-channel logout', 'Created'],
      rows,
      'No apps yet.',
    )}`,
  );
}
