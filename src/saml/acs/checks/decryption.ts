import type { Element } from 'xmldom-0.9';
import type { AssertionDecryption } from '../../saml-engine-pool';
import { NS } from '../../saml-namespaces';
import { SamlRejection } from '../../saml-rejection';
import { encryptedAssertionInvalid } from './engine-verification';
import { parseSamlXml } from './message-intake';

export const DECRYPTION_REASONS = ['saml_encrypted_assertion_invalid'] as const;

/**
 * Each EncryptedAssertion replaced, in place, by the assertion it decrypts to (exactly as the IdP
 * serialised it, parsed with the same intake limits): the message as if the IdP had sent it in plaintext,
 * for every check after this one. What does not decrypt to one SAML Assertion gets the one answer of every
 * decryption failure.
 */
export function decryptInPlace(encrypted: Element[], decryption: AssertionDecryption): void {
  if (decryption.items.length !== encrypted.length) {
    throw encryptedAssertionInvalid({ decrypted: 'the engine found other EncryptedAssertions' });
  }
  encrypted.forEach((el, i) => {
    const item = decryption.items[i];
    if (!item) throw encryptedAssertionInvalid({ decrypted: 'the engine found other EncryptedAssertions' });
    let assertion: Element | null;
    try {
      assertion = parseSamlXml(item.plaintext).documentElement;
    } catch (err) {
      if (!(err instanceof SamlRejection)) throw err;
      throw encryptedAssertionInvalid({ decrypted: err.reason });
    }
    if (!assertion || assertion.namespaceURI !== NS.assertion || assertion.localName !== 'Assertion') {
      throw encryptedAssertionInvalid({ decrypted: 'not a SAML Assertion' });
    }
    // Moved, not imported: xmldom's importNode costs ~2.5 ms for a 6 KB assertion; the checks only walk the
    // tree (parents, children, attributes), never a node's ownerDocument.
    el.parentNode?.replaceChild(assertion, el);
  });
}
