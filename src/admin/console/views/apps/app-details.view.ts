import { GRANT_TYPES, type OidcClientEntity } from '../../../../oidc/oidc-client.entity';
import type { BackchannelDeliveryState } from '../../../../oidc/oidc-logout.service';
import { actionButton, copyable, csrfField, date } from '../../../../web/components/fields';
import { html, type Html } from '../../../../web/html';
import { consoleLayout, type ConsoleChrome } from '../../../../web/layout';
import { deliverySection } from './app-delivery.view';
import { appFields } from './app-form.view';

/** One app: its secret once (after create or rotate), its settings, back-channel logout, edit, delete. */
export function appDetailsPage(input: {
  session: NonNullable<ConsoleChrome['session']>;
  client: OidcClientEntity;
  /** A secret just created: shown only now. */
  secret?: string;
  notice?: string;
  delivery?: BackchannelDeliveryState;
}): Html {
  const { client, session } = input;
  const base = `/admin/apps/${client.clientId}`;
  const secretBox = input.secret
    ? html`<section class="secret" aria-labelledby="secret-heading"><h2 id="secret-heading">Client secret — shown only now</h2><p>Copy it into the app's configuration now. The bridge stores only a hash: it cannot show this secret again. If it is lost, rotate the secret.</p>${copyable(
        'client-secret',
        'Client secret',
        input.secret,
      )}</section>`
    : '';
  const hasSecret = client.secretHash !== null;
  return consoleLayout(
    { title: client.name, session, active: 'apps', notice: input.notice },
    html`${secretBox}<h2>Settings for the app</h2>${copyable('client-id', 'Client ID', client.clientId)}<p>Grant types: ${client.grantTypes.map(
      (g, i) => html`${i ? ' ' : ''}<code>${g}</code>`,
    )} · authentication <code>${client.tokenEndpointAuthMethod}</code>${
      hasSecret ? ' · has a client secret' : ''
    }</p><p>Access tokens <code>${client.accessTokenFormat}</code>${
      client.accessTokenFormat === 'jwt'
        ? html` signed with <code>${client.accessTokenSigningAlg}</code>`
        : ''
    } · ID tokens signed with <code>${client.idTokenSignedResponseAlg}</code></p>${deliverySection(client, input.delivery)}<h2>Edit</h2><form method="post" action="${base}" class="main">${csrfField(
      session.csrfToken,
    )}${appFields(client, (_n, current) => current, {})}<button type="submit">Save changes</button></form>${
      hasSecret
        ? html`<h2>Client secret</h2><p>Rotating creates a new secret (shown once) and the old one stops working at once.</p>${actionButton(
            `${base}/rotate-secret`,
            session.csrfToken,
            'Rotate the secret',
          )}`
        : ''
    }<h2>Delete</h2><p><a href="${base}/delete">Delete this app…</a></p><p class="muted">Created ${date(
      client.createdAt,
    )}. Grant types allowed by the API: ${GRANT_TYPES.join(', ')}.</p>`,
  );
}

/** The confirmation before an app is deleted. */
export function appDeletePage(input: {
  session: NonNullable<ConsoleChrome['session']>;
  client: OidcClientEntity;
}): Html {
  const { client, session } = input;
  return consoleLayout(
    { title: `Delete ${client.name}?`, session, active: 'apps' },
    html`<p>Deleting <strong>${client.name}</strong> (<code>${client.clientId}</code>) stops its sign-ins and token requests at once. This cannot be undone.</p><form method="post" action="/admin/apps/${client.clientId}/delete" class="main">${csrfField(
      session.csrfToken,
    )}<button type="submit" class="danger">Delete this app</button> <a href="/admin/apps/${client.clientId}">Cancel</a></form>`,
  );
}
