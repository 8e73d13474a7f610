import { html, type Html } from '../html';

/** The items (text is escaped) with `separator` between them, e.g. html`<br>`. */
export function joined(items: Array<string | Html>, separator: Html): Html {
  return html`${items.map((item, i) => (i === 0 ? html`${item}` : html`${separator}${item}`))}`;
}
