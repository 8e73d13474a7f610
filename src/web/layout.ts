import { randomBytes } from 'node:crypto';
import { html, trusted, type Html } from './html';
import { csrfField } from './components/fields';

export type ConsoleSection = 'connections' | 'apps' | 'users' | 'keys' | 'webhooks' | 'audit';

export interface ConsoleChrome {
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

/** The live region with a notice and an error summary; shared by the console and the setup pages. */
function messages(chrome: { notice?: string; error?: string }): Html {
  return html`<div id="messages" aria-live="polite">${
    chrome.notice ? html`<p class="notice" role="status">${chrome.notice}</p>` : ''
  }${chrome.error ? html`<div class="error-summary" role="alert">${chrome.error}</div>` : ''}</div>`;
}

/**
 * The head of console and setup pages: the console's stylesheet and script as files (their CSP allows no
 * inline script).
 */
function head(title: string, extra?: Html): Html {
  return html`<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${extra}<title>${title}</title><link rel="stylesheet" href="/admin/assets/console.css"><script src="/admin/assets/console.js" defer></script></head>`;
}

/** The one layout of the console: header with navigation, a live message region, the page. */
export function consoleLayout(chrome: ConsoleChrome, body: Html): Html {
  const session = chrome.session;
  const nav = session
    ? html`<nav aria-label="Console"><ul>${NAV.map(
        ([key, label, href]) =>
          html`<li><a href="${href}"${chrome.active === key ? html` aria-current="page"` : ''}>${label}</a></li>`,
      )}</ul></nav><form method="post" action="/admin/sign-out" class="signout">${csrfField(session.csrfToken)}<span class="muted">Signed in as ${session.adminName}</span> <button type="submit">Sign out</button></form>`
    : '';
  return html`<!DOCTYPE html><html lang="en">${head(`${chrome.title} · SAML Bridge console`)}<body><a class="skip" href="#main">Skip to content</a><header><p class="brand"><a href="/admin">SAML Bridge console</a></p>${nav}</header><main id="main">${messages(chrome)}<h1>${chrome.title}</h1>${body}</main></body></html>`;
}

export interface SetupChrome {
  title: string;
  notice?: string;
  error?: string;
  connectionName?: string;
}

/** The layout of the customer setup pages: the console's stylesheet and script, no console navigation. */
export function setupLayout(chrome: SetupChrome, body: Html): Html {
  return html`<!DOCTYPE html><html lang="en">${head(
    `${chrome.title} · SAML Bridge setup`,
    html`<meta name="referrer" content="same-origin">`,
  )}<body><a class="skip" href="#main">Skip to content</a><header><p class="brand">SAML Bridge · single sign-on setup</p>${
    chrome.connectionName ? html`<p>${chrome.connectionName}</p>` : ''
  }</header><main id="main">${messages(chrome)}<h1>${chrome.title}</h1>${body}</main></body></html>`;
}

const SIGN_IN_STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}' +
  'table{border-collapse:collapse;width:100%}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}' +
  'td code{word-break:break-all}' +
  'h1{font-size:1.4rem}code{background:#f2f2f2;padding:.1rem .3rem;border-radius:3px}' +
  '.muted{color:#555;font-size:.9rem}button{font:inherit;padding:.4rem 1rem}';

/**
 * The layout of the sign-in pages end users see (SAML auto-post, test-login result, message and error
 * pages): one inline stylesheet (our constant), which their CSP allows (`style-src 'unsafe-inline'`).
 */
export function signInLayout(title: string, body: Html): Html {
  return html`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title><style>${trusted(SIGN_IN_STYLE)}</style></head><body>${body}</body></html>`;
}

/** A fresh nonce for the one inline script of a page (the SAML auto-post). */
export function scriptNonce(): string {
  return randomBytes(16).toString('base64');
}
