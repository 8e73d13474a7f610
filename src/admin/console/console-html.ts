import { escapeHtml } from '../../saml/html';

export { escapeHtml };

/** Escapes a value for HTML text or a quoted attribute. */
export const h = (value: string | number | null | undefined): string =>
  value === null || value === undefined ? '' : escapeHtml(String(value));

export type ConsoleSection = 'connections' | 'apps' | 'users' | 'keys' | 'webhooks' | 'audit';

export interface PageChrome {
  title: string;
  /** Present when signed in: the navigation and the sign-out form. */
  session?: { adminName: string; csrfToken: string };
  active?: ConsoleSection;
  /** A success message (announced to screen readers). */
  notice?: string;
  /** An error summary (announced to screen readers). */
  error?: string;
}

const NAV: Array<[ConsoleSection, string, string]> = [
  ['connections', 'Connections', '/admin/connections'],
  ['apps', 'Apps', '/admin/apps'],
  ['users', 'Users', '/admin/users'],
  ['keys', 'Keys', '/admin/keys'],
  ['webhooks', 'Webhooks', '/admin/webhooks'],
  ['audit', 'Audit log', '/admin/audit'],
];

/** The one layout of the console: header with navigation, a live message region, the page. */
export function consolePage(chrome: PageChrome, body: string): string {
  const nav = chrome.session
    ? `<nav aria-label="Console"><ul>${NAV.map(
        ([key, label, href]) =>
          `<li><a href="${href}"${chrome.active === key ? ' aria-current="page"' : ''}>${label}</a></li>`,
      ).join('')}</ul></nav>` +
      `<form method="post" action="/admin/sign-out" class="signout">${csrfField(chrome.session.csrfToken)}` +
      `<span class="muted">Signed in as ${h(chrome.session.adminName)}</span> <button type="submit">Sign out</button></form>`
    : '';
  const messages =
    (chrome.notice ? `<p class="notice" role="status">${h(chrome.notice)}</p>` : '') +
    (chrome.error ? `<div class="error-summary" role="alert">${h(chrome.error)}</div>` : '');
  return (
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${h(chrome.title)} · SAML Bridge console</title>` +
    `<link rel="stylesheet" href="/admin/assets/console.css">` +
    `<script src="/admin/assets/console.js" defer></script></head><body>` +
    `<a class="skip" href="#main">Skip to content</a>` +
    `<header><p class="brand"><a href="/admin">SAML Bridge console</a></p>${nav}</header>` +
    `<main id="main"><div id="messages" aria-live="polite">${messages}</div>` +
    `<h1>${h(chrome.title)}</h1>${body}</main></body></html>`
  );
}

export function csrfField(token: string): string {
  return `<input type="hidden" name="_csrf" value="${h(token)}">`;
}

export type FieldErrors = Record<string, string>;

function describedBy(name: string, hint?: string, error?: string): string {
  const ids = [hint ? `${name}-hint` : '', error ? `${name}-error` : ''].filter(Boolean);
  return ids.length ? ` aria-describedby="${ids.join(' ')}"` : '';
}

function fieldExtras(name: string, hint?: string, error?: string): string {
  return (
    (hint ? `<p class="hint" id="${h(name)}-hint">${hint}</p>` : '') +
    (error ? `<p class="field-error" id="${h(name)}-error">${h(error)}</p>` : '')
  );
}

/** A labelled text input. `hint` is trusted HTML (written by us, never user input). */
export function textField(input: {
  name: string;
  label: string;
  value?: string | number | null;
  error?: string;
  hint?: string;
  type?: 'text' | 'url' | 'number' | 'password' | 'email' | 'search';
  required?: boolean;
  autocomplete?: string;
  attrs?: string;
}): string {
  const { name, error, hint } = input;
  return (
    `<div class="field${error ? ' invalid' : ''}"><label for="${h(name)}">${h(input.label)}</label>` +
    fieldExtras(name, hint, error) +
    `<input id="${h(name)}" name="${h(name)}" type="${input.type ?? 'text'}" value="${h(input.value)}"` +
    `${input.required ? ' required' : ''}${error ? ' aria-invalid="true"' : ''}` +
    `${input.autocomplete ? ` autocomplete="${h(input.autocomplete)}"` : ''}` +
    `${describedBy(name, hint, error)}${input.attrs ?? ''}></div>`
  );
}

export function textArea(input: {
  name: string;
  label: string;
  value?: string | null;
  error?: string;
  hint?: string;
  rows?: number;
  required?: boolean;
}): string {
  const { name, error, hint } = input;
  return (
    `<div class="field${error ? ' invalid' : ''}"><label for="${h(name)}">${h(input.label)}</label>` +
    fieldExtras(name, hint, error) +
    `<textarea id="${h(name)}" name="${h(name)}" rows="${input.rows ?? 4}"${input.required ? ' required' : ''}` +
    `${error ? ' aria-invalid="true"' : ''}${describedBy(name, hint, error)}>${h(input.value)}</textarea></div>`
  );
}

export function selectField(input: {
  name: string;
  label: string;
  options: Array<[string, string]>;
  value?: string | null;
  error?: string;
  hint?: string;
}): string {
  const { name, error, hint } = input;
  return (
    `<div class="field${error ? ' invalid' : ''}"><label for="${h(name)}">${h(input.label)}</label>` +
    fieldExtras(name, hint, error) +
    `<select id="${h(name)}" name="${h(name)}"${error ? ' aria-invalid="true"' : ''}${describedBy(name, hint, error)}>` +
    input.options
      .map(
        ([value, label]) =>
          `<option value="${h(value)}"${value === (input.value ?? '') ? ' selected' : ''}>${h(label)}</option>`,
      )
      .join('') +
    `</select></div>`
  );
}

export function checkbox(input: {
  name: string;
  label: string;
  checked: boolean;
  hint?: string;
  error?: string;
}): string {
  const { name, error, hint } = input;
  return (
    `<div class="field checkbox${error ? ' invalid' : ''}"><input type="hidden" name="${h(name)}" value="false">` +
    `<input id="${h(name)}" name="${h(name)}" type="checkbox" value="true"${input.checked ? ' checked' : ''}` +
    `${describedBy(name, hint, error)}><label for="${h(name)}">${h(input.label)}</label>` +
    fieldExtras(name, hint, error) +
    `</div>`
  );
}

/** A value with a copy button (the button appears when JavaScript runs; the value is selectable anyway). */
export function copyable(id: string, label: string, value: string): string {
  return (
    `<div class="copyable"><span class="label" id="${h(id)}-label">${h(label)}</span>` +
    `<code id="${h(id)}">${h(value)}</code>` +
    `<button type="button" class="copy" data-copy="${h(id)}" aria-describedby="${h(id)}-label" hidden>Copy</button></div>`
  );
}

/** A POST form with one button (and the CSRF token). */
export function actionButton(action: string, csrfToken: string, label: string, extra = ''): string {
  return (
    `<form method="post" action="${h(action)}" class="inline">${csrfField(csrfToken)}${extra}` +
    `<button type="submit">${h(label)}</button></form>`
  );
}

export function date(value: Date | string | null | undefined): string {
  if (!value) return '—';
  const d = typeof value === 'string' ? new Date(value) : value;
  return Number.isNaN(d.getTime())
    ? '—'
    : `<time datetime="${d.toISOString()}">${d.toISOString().replace('T', ' ').slice(0, 16)} UTC</time>`;
}

export function table(caption: string, headers: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p class="muted">${h(empty)}</p>`;
  return (
    `<table><caption>${h(caption)}</caption><thead><tr>${headers.map((x) => `<th scope="col">${h(x)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`
  );
}

/** The body of an error page: the message (announced), its reason code and the request id. */
export function errorDetails(input: { message: string; reason: string; requestId?: string }): string {
  return (
    `<p role="alert">${h(input.message)}</p>` +
    `<p class="muted">Reason: <code>${h(input.reason)}</code>` +
    (input.requestId ? `<br>Request id: <code>${h(input.requestId)}</code>` : '') +
    `</p>`
  );
}

/** The error page of the console: a readable message and a reason code, never internals. */
export function consoleErrorPage(input: {
  status: number;
  message: string;
  reason: string;
  requestId?: string;
  session?: PageChrome['session'];
}): string {
  const title =
    input.status === 404
      ? 'Not found'
      : input.status === 403
        ? 'Not allowed'
        : input.status === 401
          ? 'Sign-in required'
          : input.status === 413
            ? 'Too large'
            : input.status === 429
              ? 'Too many attempts'
              : input.status >= 500
                ? 'Something went wrong'
                : 'Request refused';
  return consolePage(
    { title, session: input.session },
    errorDetails(input) + `<p><a href="/admin">Back to the console</a></p>`,
  );
}
