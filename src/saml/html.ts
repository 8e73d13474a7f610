import { randomBytes } from 'node:crypto';

/** HTML-escapes text for element content and attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}' +
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
