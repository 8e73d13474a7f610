import * as samlXml from '@node-saml/node-saml/lib/xml';
import type { AssertionDecryption } from './saml-engine-pool';

/**
 * Decrypts the EncryptedAssertions of a POST-binding response (all of them, in document order, found by
 * local name as node-saml finds them) with node-saml's own helper (xml-encryption), trying each SP key in turn:
 * the plaintexts are the assertions exactly as the IdP serialised them. The engine worker runs the same
 * steps (see WORKER_SOURCE in saml-engine-pool.ts); this is the path without worker threads.
 */
export async function decryptAssertions(keys: string[], SAMLResponse: string): Promise<AssertionDecryption> {
  const doc = await samlXml.parseDomFromString(Buffer.from(SAMLResponse, 'base64').toString('utf8'));
  const ciphertexts = samlXml.xpath
    .selectElements(doc, "/*[local-name()='Response']//*[local-name()='EncryptedAssertion']")
    .map((el) => el.toString());
  const failures: string[] = [];
  for (const [keyIndex, key] of keys.entries()) {
    try {
      const items: AssertionDecryption['items'] = [];
      for (const ciphertext of ciphertexts) {
        items.push({ ciphertext, plaintext: await samlXml.decryptXml(ciphertext, key) });
      }
      return { keyIndex, items };
    } catch (err) {
      // Not `instanceof Error`: node:crypto errors may come from another realm (as under jest).
      failures.push(
        typeof err === 'object' && err !== null && 'message' in err ? String(err.message) : String(err),
      );
    }
  }
  throw new Error(`No SP decryption key decrypts the assertion: ${failures.join('; ')}`);
}
