import type { ScimTokenView } from '../../../../scim/scim-token.dto';
import { badge } from '../../../../web/components/badge';
import { actionButton, copyable, csrfField, date, table, textField } from '../../../../web/components/fields';
import { html, type Html } from '../../../../web/html';

/**
 * Directory sync (SCIM) for one connection: the base URL to give Entra ID or Okta provisioning, the
 * connection's tokens, and a form for a new one. Shared by the console's connection page and the customer's
 * setup page (`actions` says where its forms post).
 */
export function directorySyncSection(input: {
  scimBaseUrl: string;
  match: string;
  tokens: ScimTokenView[];
  csrf: string;
  /** Where the create form posts, and how to revoke a token (console only). */
  actions: { create: string; revoke?: (tokenId: string) => string; hidden?: Html };
}): Html {
  const { revoke } = input.actions;
  const rows = input.tokens.map((t) => [
    t.status === 'active' ? badge('ok', 'active') : badge('bad', 'revoked'),
    html`<code>${t.prefix}…</code>`,
    t.description || html`<span class="muted">—</span>`,
    html`${date(t.createdAt)}<br><span class="muted">by ${t.createdBy}</span>`,
    date(t.lastUsedAt),
    t.status === 'active' && revoke
      ? actionButton(revoke(t.id), input.csrf, `Revoke the token ${t.prefix}…`)
      : '',
  ]);
  return html`<h2 id="directory-sync">Directory sync (SCIM)</h2><p>Point the directory's provisioning (Microsoft Entra ID: <em>Provisioning → Admin credentials</em>; Okta: <em>Provisioning → Integration</em>) at this base URL with a token below. Users and groups it pushes become the same users as their SAML logins (matched by <code>${input.match}</code> = the login's stable subject); a user it deactivates or deletes is signed out of every app at once.</p>${copyable(
    'scim-base-url',
    'SCIM base URL (tenant URL)',
    input.scimBaseUrl,
  )}${table(
    'SCIM tokens of this connection, newest first',
    ['Status', 'Token', 'Description', 'Created', 'Last used', ''],
    rows,
    'No SCIM tokens yet.',
  )}<form method="post" action="${input.actions.create}" class="main">${csrfField(input.csrf)}${input.actions.hidden}<fieldset><legend>Create a SCIM token</legend>${textField(
    {
      name: 'description',
      label: 'Description (optional)',
      hint: html`For example "Entra ID provisioning". The token is shown once.`,
    },
  )}<button type="submit">Create a SCIM token</button></fieldset></form>`;
}

/** The page that shows a new token once. */
export function createdTokenSection(input: {
  token: string;
  scimBaseUrl: string;
  back: string;
  backLabel: string;
}): Html {
  return html`<section class="secret" aria-labelledby="token-heading"><h2 id="token-heading">SCIM token — shown only now</h2><p>Enter both in the directory's provisioning settings. The bridge stores only a hash: it cannot show this token again. If it is lost, revoke it and create another.</p>${copyable(
    'scim-base-url',
    'SCIM base URL (tenant URL)',
    input.scimBaseUrl,
  )}${copyable('scim-token', 'Secret token', input.token)}</section><p><a href="${input.back}">${input.backLabel}</a></p>`;
}
