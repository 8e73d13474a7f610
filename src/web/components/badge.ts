import { html, type Html } from '../html';

/** A state badge: ok (green), warn (amber) or bad (red); the text is escaped unless it is `html`. */
export function badge(kind: 'ok' | 'warn' | 'bad', text: string | Html): Html {
  return html`<span class="badge ${kind}">${text}</span>`;
}
