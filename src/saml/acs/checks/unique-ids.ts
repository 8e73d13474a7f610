import type { Document, Element } from 'xmldom-0.9';
import { NODE, walk } from '../../../common/xml-dom';
import { reject } from '../acs-message';

/** Reason codes this check owns. */
export const UNIQUE_ID_REASONS = ['saml_duplicate_id'] as const;

/**
 * Every ID-like attribute (ID, Id, id, wsu:Id) in the message is unique: a verifier and a reader that pick
 * different elements for one ID is the root of signature wrapping (SAML-ATTACKS.md §1, §3).
 */
export function checkUniqueIds(doc: Document): void {
  const seen = new Set<string>();
  walk(doc, (n) => {
    if (n.nodeType !== NODE.element) return;
    const attrs = (n as Element).attributes;
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs.item(i);
      if (!a || !/^(ID|Id|id)$/.test(a.localName ?? a.name)) continue;
      if (seen.has(a.value)) {
        reject('saml_duplicate_id', 'Two elements of the response share one ID.', { id: a.value });
      }
      seen.add(a.value);
    }
  });
}
