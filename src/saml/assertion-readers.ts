import type { Document, Element } from 'xmldom-0.9';
import { childElement, childElements, elementsNamed, nonEmptyAttribute, textOf } from '../common/xml-dom';
import { NS } from './saml-namespaces';

/**
 * Readers of an assertion's content, without any validation (the ACS checks are in ./acs): the attributes
 * of a checked assertion, and previews for the console.
 */

/** Attribute values by name, in document order; an attribute repeated (as Keycloak does for roles) is merged. */
export function readAttributes(assertion: Element): Record<string, string[]> {
  const attributes: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const statement of childElements(assertion, NS.assertion, 'AttributeStatement')) {
    for (const at of childElements(statement, NS.assertion, 'Attribute')) {
      const name = nonEmptyAttribute(at, 'Name');
      if (!name) continue;
      const values = childElements(at, NS.assertion, 'AttributeValue').map(textOf);
      attributes[name] = [...(attributes[name] ?? []), ...values];
    }
  }
  return attributes;
}

/** The NameID of an assertion (text and Format), without any validation: for previews. */
export function readNameId(assertion: Element): { nameId: string; nameIdFormat?: string } {
  const subject = childElement(assertion, NS.assertion, 'Subject');
  const nameId = subject && childElement(subject, NS.assertion, 'NameID');
  return { nameId: textOf(nameId), nameIdFormat: nonEmptyAttribute(nameId, 'Format') };
}

/** The assertion element of a Response or a bare Assertion document, if there is exactly one. */
export function findAssertion(doc: Document): Element | undefined {
  const root = doc.documentElement;
  if (root?.namespaceURI === NS.assertion && root.localName === 'Assertion') return root;
  const all = elementsNamed(doc, NS.assertion, 'Assertion');
  return all.length === 1 ? all[0] : undefined;
}

export function hasEncryptedAssertion(doc: Document): boolean {
  return elementsNamed(doc, NS.assertion, 'EncryptedAssertion').length > 0;
}
