import type { Document, Element } from 'xmldom-0.9';
import { soleItem } from '../../../common/defined';
import {
  childElement,
  childElements,
  elementsByLocalName,
  elementsNamed,
  nonEmptyAttribute,
} from '../../../common/xml-dom';
import { NS } from '../../saml-namespaces';
import { reject } from '../acs-message';
import { checkUniqueIds } from './unique-ids';

export const ENCRYPTION_ENVELOPE_REASONS = [
  'saml_encrypted_assertion_invalid',
  'saml_encryption_algorithm_forbidden',
  'saml_multiple_assertions',
  'saml_signature_malformed',
] as const;

const DATA_ENCRYPTION = new Set([
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2009/xmlenc11#aes192-gcm',
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes192-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
]);
const KEY_TRANSPORT = new Set([
  'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
  'http://www.w3.org/2009/xmlenc11#rsa-oaep',
]);

/**
 * One EncryptedData with one EncryptedKey, and allowed algorithms. xml-encryption picks the elements it
 * uses by local name anywhere below the EncryptedAssertion (the first match wins), so every candidate is
 * counted by local name in any namespace: the algorithms checked here are the ones decryption uses.
 * Returns the content-encryption algorithm.
 */
function assertEncryptionAlgorithms(encrypted: Element): string {
  const data = soleItem(childElements(encrypted, NS.xenc, 'EncryptedData'));
  if (!data || elementsByLocalName(encrypted, 'EncryptedData').length !== 1)
    reject('saml_encrypted_assertion_invalid', 'An EncryptedAssertion needs exactly one EncryptedData.');
  const key = soleItem(elementsNamed(encrypted, NS.xenc, 'EncryptedKey'));
  if (!key || elementsByLocalName(encrypted, 'EncryptedKey').length !== 1)
    reject('saml_encrypted_assertion_invalid', 'An EncryptedAssertion needs exactly one EncryptedKey.');
  const methods = elementsByLocalName(encrypted, 'EncryptionMethod');
  const dataMethod = childElement(data, NS.xenc, 'EncryptionMethod');
  const keyMethod = childElement(key, NS.xenc, 'EncryptionMethod');
  if (
    methods.length !== 2 ||
    !dataMethod ||
    !keyMethod ||
    elementsByLocalName(encrypted, 'CipherValue').length !== 2
  ) {
    reject(
      'saml_encrypted_assertion_invalid',
      'An EncryptedAssertion needs one EncryptionMethod and one CipherValue for its data and for its key.',
    );
  }
  const dataAlg = nonEmptyAttribute(dataMethod, 'Algorithm') ?? '';
  if (!DATA_ENCRYPTION.has(dataAlg)) {
    reject(
      'saml_encryption_algorithm_forbidden',
      `Content encryption ${dataAlg || '(none)'} is not accepted (use AES-GCM or AES-CBC).`,
      {
        algorithm: dataAlg,
      },
    );
  }
  const keyAlg = nonEmptyAttribute(keyMethod, 'Algorithm') ?? '';
  if (!KEY_TRANSPORT.has(keyAlg)) {
    reject(
      'saml_encryption_algorithm_forbidden',
      `Key transport ${keyAlg || '(none)'} is not accepted (use RSA-OAEP).`,
      {
        algorithm: keyAlg,
      },
    );
  }
  return dataAlg;
}

/** The most EncryptedAssertions a Response may carry and still be decrypted (to be refused as its plaintext). */
const MAX_DECRYPTED_ASSERTIONS = 2;

/**
 * The EncryptedAssertions of a samlp:Response, wherever they are, in document order (none when the root is
 * anything else; the plaintext checks refuse that). Each is decrypted in place before the checks, so that
 * they see the message as if the IdP had sent it in plaintext.
 */
export function encryptedAssertionsOf(doc: Document): Element[] {
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== NS.protocol || root.localName !== 'Response') return [];
  return elementsByLocalName(root, 'EncryptedAssertion');
}

export interface EnvelopeFacts {
  /**
   * The content encryption has no integrity (AES-CBC): a ciphertext can be altered without the key, so
   * what the decrypted content fails must not be told apart before its signature verifies (format oracle).
   */
  malleable: boolean;
}

/**
 * The checks of an encrypted response before decryption: on what decryption will read (the encryption
 * structure and the algorithms it will use) and on the raw message as a whole (unique IDs). Every other
 * check runs on the message with its assertions decrypted in place (see inspectResponse).
 */
export function checkEncryptionEnvelope(doc: Document, encrypted: Element[]): EnvelopeFacts {
  if (encrypted.length > MAX_DECRYPTED_ASSERTIONS) {
    reject('saml_multiple_assertions', 'The Response carries more than one assertion.', {
      count: encrypted.length,
    });
  }
  checkUniqueIds(doc);
  let malleable = false;
  for (const el of encrypted) {
    if (el.namespaceURI !== NS.assertion) {
      reject('saml_encrypted_assertion_invalid', 'The EncryptedAssertion is not in the SAML namespace.');
    }
    if (elementsNamed(el, NS.ds, 'Signature').length > 0) {
      reject(
        'saml_signature_malformed',
        'A signature sits where none may be (inside an EncryptedAssertion).',
      );
    }
    const dataAlg = assertEncryptionAlgorithms(el);
    if (!dataAlg.endsWith('-gcm')) malleable = true;
  }
  return { malleable };
}
