import type { ConnectionView } from '../../connections/connection.view';
import { html, type Html } from '../html';
import { date, table, textArea, textField } from './fields';

/** The state of a connection's IdP metadata as a badge. */
export function metadataBadge(c: ConnectionView): Html {
  if (c.metadata.status === 'ok') return html`<span class="badge ok">metadata OK</span>`;
  if (c.metadata.status === 'expired') return html`<span class="badge bad">metadata expired</span>`;
  return html`<span class="badge warn">refresh failing</span>`;
}

/** The state of the IdP's signing certificates as badges (expired, expiring soon, or all valid). */
export function certificateBadges(c: ConnectionView): Html {
  const certs = c.idp.certificates;
  const expired = certs.filter((x) => x.expired);
  const soon = certs.filter((x) => x.expiresSoon);
  if (!expired.length && !soon.length) return html`<span class="badge ok">certificates valid</span>`;
  return html`${
    expired.length ? html`<span class="badge bad">${expired.length} certificate(s) expired</span> ` : ''
  }${
    soon.length
      ? html`<span class="badge warn">certificate expires in ${Math.min(...soon.map((x) => x.daysLeft))} days</span>`
      : ''
  }`;
}

/** The last failed refresh of the metadata URL as a list item, or nothing when the last one worked. */
export function refreshErrorItem(c: ConnectionView): Html | '' {
  const e = c.metadata.lastRefreshError;
  return e
    ? html`<li class="field-error">Last refresh failed ${date(e.at)}: ${e.message} (<code>${e.code}</code>)</li>`
    : '';
}

/** The IdP's signing certificates as a table: fingerprint, subject, expiry and state. */
export function certificateTable(c: ConnectionView, caption: string, empty: string): Html {
  const rows = c.idp.certificates.map((x) => [
    html`<code>${x.fingerprint}</code>`,
    x.subject,
    date(x.notAfter),
    x.expired
      ? html`<span class="badge bad">expired</span>`
      : x.expiresSoon
        ? html`<span class="badge warn">expires in ${x.daysLeft} days</span>`
        : `${x.daysLeft} days left`,
  ]);
  return table(caption, ['SHA-256', 'Subject', 'Valid until', 'State'], rows, empty);
}

/** The "replace the metadata" form (file, paste or URL); `action` receives it as multipart. */
export function metadataForm(input: {
  action: string;
  /** Hidden fields (the CSRF token, an id). */
  hidden: Html;
  values: { metadataXml?: string; metadataUrl?: string };
  error?: string;
  legend: string;
  submit: string;
}): Html {
  return html`<form method="post" action="${input.action}" enctype="multipart/form-data" class="main">${input.hidden}<fieldset><legend>${input.legend}</legend>${
    input.error ? html`<p class="field-error" id="metadata-error">${input.error}</p>` : ''
  }<div class="field"><label for="replaceFile">Upload a metadata file</label><input id="replaceFile" name="metadataFile" type="file" accept=".xml,application/xml,text/xml"></div>${textArea(
    { name: 'metadataXml', label: 'Or paste the metadata XML', value: input.values.metadataXml, rows: 4 },
  )}${textField({
    name: 'metadataUrl',
    label: 'Or fetch it from a URL',
    type: 'url',
    value: input.values.metadataUrl,
  })}<button type="submit">${input.submit}</button></fieldset></form>`;
}
