import { html as honoHtml, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/**
 * Server-side HTML for every page the bridge renders (console, setup pages, SAML and error pages).
 *
 * `html` is Hono's HTML helper (`hono/html`): every `${…}` interpolation is HTML-escaped unless it is
 * itself the result of `html` or is wrapped in `trusted(…)`. Arrays are concatenated (each element escaped),
 * and `null`, `undefined` and booleans render as nothing, so `${cond && html`…`}` works. We never
 * interpolate promises, so the result is always synchronous; `html` here narrows Hono's type to say so.
 */
export type Html = HtmlEscapedString;

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  const out = honoHtml(strings, ...values);
  if (out instanceof Promise) throw new TypeError('html: a promise was interpolated into a template');
  return out;
}

/**
 * Marks a string as already-safe HTML. Only for markup this code wrote (never a value from a request, the
 * database or an IdP): a reviewer greps `trusted(` to see every exception to escaping.
 */
export function trusted(markup: string): Html {
  return raw(markup);
}

/** The markup as a string, for `res.send` (Express would serialise a `String` object as JSON). */
export function render(view: Html): string {
  return view.toString();
}
