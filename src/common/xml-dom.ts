import type { Element, Node } from 'xmldom-0.9';

/**
 * The DOM helpers every XML reader of the bridge uses (the ACS, single logout, IdP metadata): elements by
 * namespace URI and local name (never by prefix), unqualified attributes, text, and strict xs:dateTime.
 * Documents come from the hardened intake (xml-safety.ts).
 */

export const NODE = {
  element: 1,
  text: 3,
  cdata: 4,
  processingInstruction: 7,
  comment: 8,
} as const;

function isElementNamed(n: Node, ns: string, local: string): n is Element {
  return (
    n.nodeType === NODE.element && (n as Element).namespaceURI === ns && (n as Element).localName === local
  );
}

/** The element children of `parent` with this namespace URI and local name, in document order. */
export function childElements(parent: Node, ns: string, local: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) if (isElementNamed(n, ns, local)) out.push(n);
  return out;
}

/** The first such element child, if any. */
export function childElement(parent: Node, ns: string, local: string): Element | undefined {
  for (let n = parent.firstChild; n; n = n.nextSibling) if (isElementNamed(n, ns, local)) return n;
  return undefined;
}

/** Visits `root` and every node below it, in document order (no recursion: depth is bounded elsewhere). */
export function walk(root: Node, visit: (n: Node) => void): void {
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const n = stack.pop() as Node;
    visit(n);
    for (let c = n.lastChild; c; c = c.previousSibling) stack.push(c);
  }
}

/** Every element at or below `root` with this namespace URI and local name, in document order. */
export function elementsNamed(root: Node, ns: string, local: string): Element[] {
  const out: Element[] = [];
  walk(root, (n) => {
    if (isElementNamed(n, ns, local)) out.push(n);
  });
  return out;
}

/** Every element at or below `root` with this local name in any namespace (what local-name() XPath sees). */
export function elementsByLocalName(root: Node, local: string): Element[] {
  const out: Element[] = [];
  walk(root, (n) => {
    if (n.nodeType === NODE.element && (n as Element).localName === local) out.push(n as Element);
  });
  return out;
}

/** All text of an element (every text and CDATA node below it, concatenated), trimmed; '' for none. */
export function textOf(el: Element | undefined): string {
  if (!el) return '';
  let out = '';
  walk(el, (n) => {
    if (n.nodeType === NODE.text || n.nodeType === NODE.cdata) out += (n as unknown as { data: string }).data;
  });
  return out.trim();
}

/** An unqualified attribute (no namespace) of `el`, or undefined when it is absent. */
export function attribute(el: Element | undefined, name: string): string | undefined {
  if (!el) return undefined;
  const attrs = el.attributes;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs.item(i);
    if (a !== null && !a.namespaceURI && (a.localName ?? a.name) === name) return a.value;
  }
  return undefined;
}

/** An unqualified attribute, or undefined when it is absent or empty (SAML reads an empty value as absent). */
export function nonEmptyAttribute(el: Element | undefined, name: string): string | undefined {
  const value = attribute(el, name);
  return value === '' ? undefined : value;
}

const XS_DATE_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A strict xs:dateTime as SAML uses it (SAML core §1.3.3: UTC, and every time the bridge reads must say its
 * time zone): `2026-01-02T03:04:05Z`, with optional fractional seconds (any number of digits, read to the
 * millisecond) and `Z` or a `±hh:mm` offset. Anything else, including a value without a time zone, is
 * undefined: callers refuse it (messages) or report it (metadata).
 */
export function parseXsDateTime(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const m = XS_DATE_TIME.exec(value);
  if (!m) return undefined;
  // Date.parse rolls 2026-02-30 over to March 2nd and reads 24:00:00: the calendar fields must be real.
  const [, dateTime = '', fractionDigits, zone = ''] = m;
  // The pattern fixes six numeric fields; a missing one reads as NaN, which the calendar check below refuses.
  const [y = NaN, mo = NaN, d = NaN, h = NaN, mi = NaN, s = NaN] = dateTime.split(/[-T:]/).map(Number);
  const calendar = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (calendar.getUTCMonth() !== mo - 1 || calendar.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    return undefined;
  }
  const fraction = fractionDigits ? `.${fractionDigits.slice(0, 3).padEnd(3, '0')}` : '';
  const t = Date.parse(`${dateTime}${fraction}${zone}`);
  return Number.isNaN(t) ? undefined : new Date(t);
}
