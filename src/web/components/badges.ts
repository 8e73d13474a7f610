import { html, type Html } from '../html';

export type BadgeKind = 'ok' | 'warn' | 'bad';

/** A state as a coloured badge (the colour repeats the text: it never carries meaning alone). */
export function badge(kind: BadgeKind, text: string | Html): Html {
  return html`<span class="badge ${kind}">${text}</span>`;
}

/** A value, or a muted dash when it is empty. */
export function orDash(value: string | null | undefined): string | Html {
  return value || html`<span class="muted">—</span>`;
}
