import { badge, orDash } from '../../../../web/components/badges';
import {
  actionButton,
  csrfField,
  date,
  type FieldErrors,
  table,
  textField,
} from '../../../../web/components/fields';
import { html, type Html } from '../../../../web/html';
import {
  DEFAULT_EXPIRY_HOURS,
  MAX_EXPIRY_HOURS,
  type SetupLinkSummary,
} from '../../../setup-links/setup-links.service';
import type { ConnectionFormValues } from '../../connection-forms';

function statusBadge(link: SetupLinkSummary): Html {
  return link.status === 'active'
    ? badge('ok', 'active')
    : badge(link.status === 'revoked' ? 'bad' : 'warn', link.status);
}

/** The connection's setup links (status, revoke) and the form for a new one. */
export function setupLinksSection(input: {
  base: string;
  csrf: string;
  links: SetupLinkSummary[];
  values: ConnectionFormValues;
  errors: FieldErrors;
}): Html {
  const { base, csrf, values, errors } = input;
  const rows = input.links.map((v) => [
    statusBadge(v),
    orDash(v.note),
    html`${date(v.createdAt)}<br><span class="muted">by ${v.createdBy}</span>`,
    date(v.expiresAt),
    date(v.lastOpenedAt),
    v.status === 'active'
      ? actionButton(
          `${base}/setup-links/${v.id}/revoke`,
          csrf,
          `Revoke the link${v.note ? ` "${v.note.slice(0, 40)}"` : ''}`,
        )
      : '',
  ]);
  return html`<h2 id="setup-links">Setup links</h2><p>A setup link lets the customer's IT admin set up their side alone: it shows the steps for their IdP with the values above, takes their IdP metadata (file, paste or URL) and runs a test login, for this connection only. It expires, can be revoked, and every use is in the audit log.</p>${table(
    'Setup links of this connection, newest first',
    ['Status', 'Note', 'Created', 'Expires', 'Last opened', ''],
    rows,
    'No setup links yet.',
  )}<form method="post" action="${base}/setup-links" class="main">${csrfField(csrf)}<fieldset><legend>Create a setup link</legend>${textField(
    {
      name: 'expiresInHours',
      label: 'Valid for (hours)',
      type: 'number',
      value: values.expiresInHours ?? String(DEFAULT_EXPIRY_HOURS),
      error: errors.expiresInHours,
      attrs: html` min="1" max="${MAX_EXPIRY_HOURS}"`,
      hint: `1 to ${MAX_EXPIRY_HOURS} hours (30 days).`,
    },
  )}${textField({
    name: 'note',
    label: 'Note (optional)',
    value: values.note,
    error: errors.note,
    hint: 'For example who you send it to. Shown to admins only.',
  })}<button type="submit">Create a setup link</button></fieldset></form>`;
}
