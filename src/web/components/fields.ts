import { html, type Html } from '../html';

/** Per-field error messages of a form, keyed by the field's name. */
export type FieldErrors = Record<string, string>;

/** A hint is text (escaped) or markup written with `html` (e.g. with `<code>`). */
export type Hint = string | Html;

export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

function describedBy(name: string, hint?: Hint, error?: string): Html | undefined {
  const ids = [hint ? `${name}-hint` : '', error ? `${name}-error` : ''].filter(Boolean);
  return ids.length ? html` aria-describedby="${ids.join(' ')}"` : undefined;
}

function fieldExtras(name: string, hint?: Hint, error?: string): Html {
  return html`${hint ? html`<p class="hint" id="${name}-hint">${hint}</p>` : ''}${
    error ? html`<p class="field-error" id="${name}-error">${error}</p>` : ''
  }`;
}

const invalidClass = (error?: string) => (error ? ' invalid' : '');
const ariaInvalid = (error?: string) => (error ? html` aria-invalid="true"` : '');

/**
 * The wrapper of a labelled control: the label, then the hint and the error, then the control. One wrapper
 * for text inputs, text areas and selects, so that they read the same to a screen reader.
 */
function labelled(input: { name: string; label: string; error?: string; hint?: Hint }, control: Html): Html {
  const { name, error, hint } = input;
  return html`<div class="field${invalidClass(error)}"><label for="${name}">${input.label}</label>${fieldExtras(
    name,
    hint,
    error,
  )}${control}</div>`;
}

/** A labelled text input. `attrs` are extra attributes written by us (e.g. html` min="1"`). */
export function textField(input: {
  name: string;
  label: string;
  value?: string | number | null;
  error?: string;
  hint?: Hint;
  type?: 'text' | 'url' | 'number' | 'password' | 'email' | 'search';
  required?: boolean;
  autocomplete?: string;
  attrs?: Html;
}): Html {
  const { name, error, hint } = input;
  return labelled(
    input,
    html`<input id="${name}" name="${name}" type="${input.type ?? 'text'}" value="${input.value ?? ''}"${
      input.required ? html` required` : ''
    }${ariaInvalid(error)}${input.autocomplete ? html` autocomplete="${input.autocomplete}"` : ''}${describedBy(
      name,
      hint,
      error,
    )}${input.attrs}>`,
  );
}

export function textArea(input: {
  name: string;
  label: string;
  value?: string | null;
  error?: string;
  hint?: Hint;
  rows?: number;
  required?: boolean;
}): Html {
  const { name, error, hint } = input;
  return labelled(
    input,
    html`<textarea id="${name}" name="${name}" rows="${input.rows ?? 4}"${input.required ? html` required` : ''}${ariaInvalid(
      error,
    )}${describedBy(name, hint, error)}>${input.value ?? ''}</textarea>`,
  );
}

export function selectField(input: {
  name: string;
  label: string;
  options: Array<[string, string]>;
  value?: string | null;
  error?: string;
  hint?: Hint;
}): Html {
  const { name, error, hint } = input;
  return labelled(
    input,
    html`<select id="${name}" name="${name}"${ariaInvalid(error)}${describedBy(name, hint, error)}>${input.options.map(
      ([value, label]) =>
        html`<option value="${value}"${value === (input.value ?? '') ? html` selected` : ''}>${label}</option>`,
    )}</select>`,
  );
}

export function checkbox(input: {
  name: string;
  label: string;
  checked: boolean;
  hint?: Hint;
  error?: string;
}): Html {
  const { name, error, hint } = input;
  return html`<div class="field checkbox${invalidClass(error)}"><input type="hidden" name="${name}" value="false"><input id="${name}" name="${name}" type="checkbox" value="true"${
    input.checked ? html` checked` : ''
  }${describedBy(name, hint, error)}><label for="${name}">${input.label}</label>${fieldExtras(
    name,
    hint,
    error,
  )}</div>`;
}

/** A value with a copy button (the button appears when JavaScript runs; the value is selectable anyway). */
export function copyable(id: string, label: string, value: string): Html {
  return html`<div class="copyable"><span class="label" id="${id}-label">${label}</span><code id="${id}">${value}</code><button type="button" class="copy" data-copy="${id}" aria-describedby="${id}-label" hidden>Copy</button></div>`;
}

/** A POST form with one button (and the CSRF token). `extra` holds more hidden fields. */
export function actionButton(action: string, csrfToken: string, label: string, extra?: Html): Html {
  return html`<form method="post" action="${action}" class="inline">${csrfField(csrfToken)}${extra}<button type="submit">${label}</button></form>`;
}

export function date(value: Date | string | null | undefined): Html {
  if (!value) return html`—`;
  const d = typeof value === 'string' ? new Date(value) : value;
  return Number.isNaN(d.getTime())
    ? html`—`
    : html`<time datetime="${d.toISOString()}">${d.toISOString().replace('T', ' ').slice(0, 16)} UTC</time>`;
}

/** A table; each cell is text (escaped) or markup written with `html`. */
export function table(
  caption: string,
  headers: string[],
  rows: Array<Array<string | Html>>,
  empty: string,
): Html {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<table><caption>${caption}</caption><thead><tr>${headers.map(
    (x) => html`<th scope="col">${x}</th>`,
  )}</tr></thead><tbody>${rows.map((r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`)}</tbody></table>`;
}
