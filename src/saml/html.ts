import { randomBytes } from 'node:crypto';

/** HTML-escapes text for element content and attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}' +
  'table{border-collapse:collapse;width:100%}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}' +
  'td code{word-break:break-all}' +
  'h1{font-size:1.4rem}code{background:#f2f2f2;padding:.1rem .3rem;border-radius:3px}' +
  '.muted{color:#555;font-size:.9rem}button{font:inherit;padding:.4rem 1rem}';

function page(title: string, body: string, extraHead = ''): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style>${extraHead}</head><body>${body}</body></html>`;
}

/** A page that posts a SAML message to the IdP (HTTP-POST binding); works without JavaScript too. */
export function autoPostPage(action: string, fields: Record<string, string>): { html: string; csp: string } {
  const nonce = randomBytes(16).toString('base64');
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('');
  const html = page(
    'Signing in…',
    `<noscript><p>Press the button to continue to your identity provider.</p></noscript>` +
      `<form method="post" action="${escapeHtml(action)}">${inputs}<button type="submit">Continue</button></form>` +
      `<script nonce="${nonce}">document.forms[0].submit();</script>`,
  );
  const origin = new URL(action).origin;
  const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; form-action ${origin}; base-uri 'none'; frame-ancestors 'none'`;
  return { html, csp };
}

/** The page a browser sees when a SAML message is refused: a reason code and a trace id, no internals. */
export function errorPage(input: {
  title: string;
  message: string;
  reason: string;
  traceId?: string;
}): string {
  return page(
    input.title,
    `<h1>${escapeHtml(input.title)}</h1><p>${escapeHtml(input.message)}</p>` +
      `<p class="muted">Reason: <code>${escapeHtml(input.reason)}</code>` +
      (input.traceId ? `<br>Trace id: <code>${escapeHtml(input.traceId)}</code>` : '') +
      `</p><p class="muted">If this keeps happening, give the reason and trace id to your administrator.</p>`,
  );
}

export function sessionPage(input: {
  email: string | null;
  name: string | null;
  connection: string;
  groups: string[];
  logoutUrl: string;
}): string {
  return page(
    'Signed in',
    `<h1>Signed in</h1><p>You are signed in as <strong>${escapeHtml(input.name ?? input.email ?? 'unknown')}</strong>` +
      (input.email ? ` (<span id="email">${escapeHtml(input.email)}</span>)` : '') +
      ` through <code>${escapeHtml(input.connection)}</code>.</p>` +
      (input.groups.length
        ? `<p>Groups: ${input.groups.map((g) => `<code>${escapeHtml(g)}</code>`).join(' ')}</p>`
        : '') +
      `<form method="get" action="${escapeHtml(input.logoutUrl)}"><button type="submit">Sign out</button></form>`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}

/** What a test login page shows (SamlService's TestLoginResult satisfies it). */
export interface TestLoginView {
  connection: { slug: string; name: string };
  mapped: {
    subject: string;
    subjectSource: string;
    email: string | null;
    emailVerified: boolean;
    givenName: string | null;
    familyName: string | null;
    displayName: string | null;
    groups: string[];
  };
  attributes: Record<string, string[]>;
  nameId: string;
  nameIdFormat?: string;
  authnContextClassRef?: string;
  existingUser: { id: string; disabled: boolean } | null;
  backTo: string | null;
  traceId?: string;
}

/** The result of a test login: the mapped claims and the raw attributes, and what was not done. */
export function testLoginPage(r: TestLoginView): string {
  const code = (v: string | null | undefined) => (v ? `<code>${escapeHtml(v)}</code>` : '<em>none</em>');
  const row = (label: string, value: string, id: string) =>
    `<tr><th scope="row">${escapeHtml(label)}</th><td id="claim-${id}">${value}</td></tr>`;
  const claims =
    row('Subject (stable user id)', code(r.mapped.subject), 'subject') +
    row('Subject taken from', code(r.mapped.subjectSource), 'subject-source') +
    row('Email', code(r.mapped.email), 'email') +
    row(
      'Email verified (domain of this connection)',
      r.mapped.emailVerified ? 'yes' : 'no',
      'email-verified',
    ) +
    row('Given name', code(r.mapped.givenName), 'given-name') +
    row('Family name', code(r.mapped.familyName), 'family-name') +
    row('Display name', code(r.mapped.displayName), 'display-name') +
    row(
      'Groups',
      r.mapped.groups.length ? r.mapped.groups.map((g) => code(g)).join(' ') : '<em>none</em>',
      'groups',
    );
  const attributes = Object.entries(r.attributes)
    .map(
      ([name, values]) =>
        `<tr><td><code>${escapeHtml(name)}</code></td><td>${values.map((v) => code(v)).join('<br>')}</td></tr>`,
    )
    .join('');
  const user = r.existingUser
    ? `This identity is an existing user${r.existingUser.disabled ? ', who is <strong>disabled</strong>: a real login would be refused' : ''}.`
    : 'No user has this identity yet: a real login would create one.';
  return page(
    'Test login succeeded',
    `<h1>Test login succeeded</h1>` +
      `<p role="status">The identity provider of <strong>${escapeHtml(r.connection.name)}</strong> (<code>${escapeHtml(r.connection.slug)}</code>) signed in a user, and the bridge accepted the response. ` +
      `This was a test: nobody was signed in to any app and no user was created or updated.</p>` +
      `<p>${user}</p>` +
      `<h2>Mapped claims</h2><table><tbody>${claims}</tbody></table>` +
      `<h2>NameID</h2><p>${code(r.nameId)} <span class="muted">${escapeHtml(r.nameIdFormat ?? '')}</span></p>` +
      (r.authnContextClassRef
        ? `<p class="muted">Authentication context: <code>${escapeHtml(r.authnContextClassRef)}</code></p>`
        : '') +
      `<h2>Attributes as sent by the IdP</h2>` +
      (attributes
        ? `<table id="attributes"><thead><tr><th scope="col">Attribute name</th><th scope="col">Values</th></tr></thead><tbody>${attributes}</tbody></table>`
        : '<p>The assertion carries no attributes.</p>') +
      (r.traceId ? `<p class="muted">Trace id: <code>${escapeHtml(r.traceId)}</code></p>` : '') +
      (r.backTo ? `<p><a href="${escapeHtml(r.backTo)}">Back</a></p>` : ''),
  );
}
