import type { Document, Element } from 'xmldom-0.9';
import { NODE, nonEmptyAttribute, parseXsDateTime, walk } from '../../../common/xml-dom';
import { NS } from '../../saml-namespaces';
import { reject } from '../acs-message';

export const TIMESTAMP_REASONS = ['saml_malformed_xml'] as const;

const TIME_ATTRIBUTES = ['IssueInstant', 'NotBefore', 'NotOnOrAfter', 'SessionNotOnOrAfter', 'AuthnInstant'];

/** A SAML time attribute: absent, or a strict xs:dateTime with its time zone (else the message is refused). */
export function parseTime(value: string | undefined, what: string): Date | undefined {
  if (value === undefined) return undefined;
  const time = parseXsDateTime(value);
  if (!time) {
    reject('saml_malformed_xml', `The ${what} time "${value.slice(0, 40)}" is not a valid timestamp.`);
  }
  return time;
}

/** A SAML time attribute of `el` (see parseTime); single logout reads its times with it too. */
export function timeAttribute(el: Element, name: string): Date | undefined {
  return parseTime(nonEmptyAttribute(el, name), `${el.localName} ${name}`);
}

/** Every SAML time attribute in the message is a strict xs:dateTime (before any engine reads one). */
export function checkTimestamps(doc: Document): void {
  walk(doc, (n) => {
    if (n.nodeType !== NODE.element) return;
    const el = n as Element;
    if (el.namespaceURI !== NS.assertion && el.namespaceURI !== NS.protocol) return;
    for (const name of TIME_ATTRIBUTES) timeAttribute(el, name);
  });
}
