/**
 * String adapters over the shared components (web/components, web/layout) for the console views that
 * still build their markup as strings. New and moved views import from `src/web` and write `html`
 * templates, which escape every value; here, arguments documented as markup are passed on as `trusted`.
 */
import * as fields from '../../web/components/fields';
import { errorDetails as errorDetailsView } from '../../web/components/error-details';
import { html, render, trusted } from '../../web/html';
import { consoleLayout, type ConsoleChrome, type ConsoleSection } from '../../web/layout';

export type { ConsoleSection };
export type PageChrome = ConsoleChrome;
export type FieldErrors = fields.FieldErrors;

/** Escapes a value for HTML text or a quoted attribute (the same escaping as the `html` template). */
export const h = (value: string | number | null | undefined): string =>
  value === null || value === undefined ? '' : render(html`${String(value)}`);

/** The console layout around a body of markup. */
export function consolePage(chrome: PageChrome, body: string): string {
  return render(consoleLayout(chrome, trusted(body)));
}

export function csrfField(token: string): string {
  return render(fields.csrfField(token));
}

const hintOf = (hint?: string) => (hint ? trusted(hint) : undefined);

/** A labelled text input. `hint` and `attrs` are markup written by us (never user input). */
export function textField(
  input: Omit<Parameters<typeof fields.textField>[0], 'hint' | 'attrs'> & { hint?: string; attrs?: string },
): string {
  return render(
    fields.textField({
      ...input,
      hint: hintOf(input.hint),
      attrs: input.attrs ? trusted(input.attrs) : undefined,
    }),
  );
}

export function textArea(
  input: Omit<Parameters<typeof fields.textArea>[0], 'hint'> & { hint?: string },
): string {
  return render(fields.textArea({ ...input, hint: hintOf(input.hint) }));
}

export function selectField(
  input: Omit<Parameters<typeof fields.selectField>[0], 'hint'> & { hint?: string },
): string {
  return render(fields.selectField({ ...input, hint: hintOf(input.hint) }));
}

export function checkbox(
  input: Omit<Parameters<typeof fields.checkbox>[0], 'hint'> & { hint?: string },
): string {
  return render(fields.checkbox({ ...input, hint: hintOf(input.hint) }));
}

export function copyable(id: string, label: string, value: string): string {
  return render(fields.copyable(id, label, value));
}

/** A POST form with one button (and the CSRF token); `extra` is markup (hidden fields) written by us. */
export function actionButton(action: string, csrfToken: string, label: string, extra = ''): string {
  return render(fields.actionButton(action, csrfToken, label, extra ? trusted(extra) : undefined));
}

export function date(value: Date | string | null | undefined): string {
  return render(fields.date(value));
}

/** A table whose cells are markup strings built by the caller. */
export function table(caption: string, headers: string[], rows: string[][], empty: string): string {
  return render(
    fields.table(
      caption,
      headers,
      rows.map((r) => r.map(trusted)),
      empty,
    ),
  );
}

export function errorDetails(input: { message: string; reason: string; requestId?: string }): string {
  return render(errorDetailsView(input));
}
