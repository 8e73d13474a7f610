import type { Document, Element, Node } from '@xmldom/xmldom';
import {
  childElement,
  childElements,
  elementsByLocalName,
  elementsNamed,
  NODE,
  nonEmptyAttribute,
  parseXsDateTime,
  textOf,
  walk,
} from '../common/xml-dom';
import { SamlRejection } from './saml-rejection';

export { textOf };

/**
 * Our policy layer around node-saml: the checks it does not make (see ../shared/SAML-ATTACKS.md). It
 * reads the decoded response before node-saml sees it (structure, signature shapes, algorithms) and the
 * signed assertion after node-saml verified it (issuer, recipient, times, InResponseTo).
 */

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
};

const SIGNATURE_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);
const SHA1_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const DIGEST_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmlenc#sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512',
]);
const SHA1_DIGEST = 'http://www.w3.org/2000/09/xmldsig#sha1';
const CANONICALIZATIONS = new Set([
  'http://www.w3.org/2001/10/xml-exc-c14n#',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
]);
const TRANSFORMS = new Set(['http://www.w3.org/2000/09/xmldsig#enveloped-signature', ...CANONICALIZATIONS]);
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
const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
/** An assertion older than this (IssueInstant, beyond the clock skew) is refused even inside its window. */
export const MAX_ASSERTION_AGE_MS = 10 * 60_000;
const TIME_ATTRIBUTES = ['IssueInstant', 'NotBefore', 'NotOnOrAfter', 'SessionNotOnOrAfter', 'AuthnInstant'];
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

const { element: ELEMENT, cdata: CDATA, processingInstruction: PI, comment: COMMENT } = NODE;
/** SAML reads an empty attribute as an absent one. */
const attr = nonEmptyAttribute;

export interface PolicyContext {
  acsUrl: string;
  spEntityId: string;
  idpEntityId: string;
  allowSha1: boolean;
  clockSkewMs: number;
  now: Date;
}

export interface ResponseFacts {
  responseId: string;
  issuer?: string;
  destination?: string;
  inResponseTo?: string;
  issueInstant?: string;
  /** The assertion was decrypted in place before these checks (they saw it as the IdP serialised it). */
  encrypted: boolean;
  responseSigned: boolean;
  assertionSigned: boolean;
}

export interface AssertionFacts {
  id: string;
  issuer: string;
  nameId: string;
  nameIdFormat?: string;
  sessionIndex?: string;
  sessionNotOnOrAfter?: Date;
  authnContextClassRef?: string;
  authnInstant?: Date;
  notOnOrAfter: Date;
  subjectConfirmationInResponseTo?: string;
  attributes: Record<string, string[]>;
}

function reject(reason: ConstructorParameters<typeof SamlRejection>[0], message: string, detail = {}): never {
  throw new SamlRejection(reason, message, detail);
}

/** Every ID-like attribute (ID, Id, id, wsu:Id) in the document must be unique. */
function assertUniqueIds(doc: Document): void {
  const seen = new Set<string>();
  walk(doc, (n) => {
    if (n.nodeType !== ELEMENT) return;
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

/** Comments or CDATA inside NameID and attribute values (comment injection, CVE-2017-11427 family). */
function assertPlainValues(root: Node): void {
  for (const local of ['NameID', 'AttributeValue', 'Issuer', 'Audience']) {
    for (const el of elementsNamed(root, NS.assertion, local)) {
      walk(el, (n) => {
        if (n.nodeType === COMMENT || n.nodeType === CDATA || n.nodeType === PI) {
          reject('saml_comment_in_value', `A comment or CDATA section inside <${local}> is not accepted.`, {
            element: local,
          });
        }
      });
    }
  }
}

/** Every ds:Signature: one SignedInfo, one Reference to its parent, allowed algorithms, nothing hidden. */
export function assertSignatureShapes(
  root: Node,
  allowedParents: Element[],
  ctx: Pick<PolicyContext, 'allowSha1'>,
): void {
  for (const sig of elementsNamed(root, NS.ds, 'Signature')) {
    const parent = sig.parentNode as Element | null;
    if (!parent || !allowedParents.includes(parent)) {
      reject(
        'saml_signature_malformed',
        'A signature sits where none may be (only on the Response or the Assertion).',
      );
    }
    walk(sig, (n) => {
      if (n.nodeType === COMMENT || n.nodeType === PI) {
        reject(
          'saml_signature_malformed',
          'A comment or processing instruction inside a signature is not accepted.',
        );
      }
    });
    if (elementsNamed(sig, NS.ds, 'Object').length > 0) {
      reject('saml_signature_malformed', 'A ds:Object inside a signature is not accepted.');
    }
    const signedInfos = elementsNamed(sig, NS.ds, 'SignedInfo');
    if (signedInfos.length !== 1 || childElements(sig, NS.ds, 'SignedInfo').length !== 1) {
      reject('saml_signature_malformed', 'A signature must have exactly one SignedInfo.');
    }
    const signedInfo = signedInfos[0];
    const references = elementsNamed(sig, NS.ds, 'Reference');
    if (references.length !== 1)
      reject('saml_signature_malformed', 'A signature must have exactly one Reference.');
    const uri = attr(references[0], 'URI');
    const parentId = attr(parent as Element, 'ID');
    if (!uri || !parentId || uri !== `#${parentId}`) {
      reject('saml_signature_malformed', 'The signature does not reference the element that carries it.', {
        uri,
        parentId,
      });
    }
    const c14n = attr(childElement(signedInfo, NS.ds, 'CanonicalizationMethod'), 'Algorithm');
    if (!c14n || !CANONICALIZATIONS.has(c14n)) {
      reject('saml_signature_algorithm_forbidden', `Canonicalization ${c14n ?? '(none)'} is not accepted.`);
    }
    const method = attr(childElement(signedInfo, NS.ds, 'SignatureMethod'), 'Algorithm') ?? '';
    const sha1Ok = ctx.allowSha1 && method === SHA1_SIGNATURE;
    if (!SIGNATURE_ALGORITHMS.has(method) && !sha1Ok) {
      reject(
        'saml_signature_algorithm_forbidden',
        method === SHA1_SIGNATURE
          ? 'The IdP signed with RSA-SHA1, which this connection does not accept. Configure the IdP for RSA-SHA256 (or allow SHA-1 on the connection).'
          : `The signature algorithm ${method || '(none)'} is not accepted.`,
        { algorithm: method },
      );
    }
    for (const digest of elementsNamed(sig, NS.ds, 'DigestMethod')) {
      const alg = attr(digest, 'Algorithm') ?? '';
      if (!DIGEST_ALGORITHMS.has(alg) && !(ctx.allowSha1 && alg === SHA1_DIGEST)) {
        reject(
          'saml_signature_algorithm_forbidden',
          `The digest algorithm ${alg || '(none)'} is not accepted.`,
          {
            algorithm: alg,
          },
        );
      }
    }
    const transforms = elementsNamed(sig, NS.ds, 'Transform');
    if (transforms.length > 2 || transforms.some((t) => !TRANSFORMS.has(attr(t, 'Algorithm') ?? ''))) {
      reject('saml_signature_malformed', 'The signature uses transforms that are not accepted.');
    }
  }
}

/**
 * One EncryptedData with one EncryptedKey, and allowed algorithms. xml-encryption picks the elements it
 * uses by local name anywhere below the EncryptedAssertion (the first match wins), so every candidate is
 * counted by local name in any namespace: the algorithms checked here are the ones decryption uses.
 * Returns the content-encryption algorithm.
 */
function assertEncryptionAlgorithms(encrypted: Element): string {
  const data = childElements(encrypted, NS.xenc, 'EncryptedData');
  if (data.length !== 1 || elementsByLocalName(encrypted, 'EncryptedData').length !== 1)
    reject('saml_encrypted_assertion_invalid', 'An EncryptedAssertion needs exactly one EncryptedData.');
  const keys = elementsNamed(encrypted, NS.xenc, 'EncryptedKey');
  if (keys.length !== 1 || elementsByLocalName(encrypted, 'EncryptedKey').length !== 1)
    reject('saml_encrypted_assertion_invalid', 'An EncryptedAssertion needs exactly one EncryptedKey.');
  const methods = elementsByLocalName(encrypted, 'EncryptionMethod');
  const dataMethod = childElement(data[0], NS.xenc, 'EncryptionMethod');
  const keyMethod = childElement(keys[0], NS.xenc, 'EncryptionMethod');
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
  const dataAlg = attr(dataMethod, 'Algorithm') ?? '';
  if (!DATA_ENCRYPTION.has(dataAlg)) {
    reject(
      'saml_encryption_algorithm_forbidden',
      `Content encryption ${dataAlg || '(none)'} is not accepted (use AES-GCM or AES-CBC).`,
      {
        algorithm: dataAlg,
      },
    );
  }
  const keyAlg = attr(keyMethod, 'Algorithm') ?? '';
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
export function inspectEncryptedEnvelope(doc: Document, encrypted: Element[]): EnvelopeFacts {
  if (encrypted.length > MAX_DECRYPTED_ASSERTIONS) {
    reject('saml_multiple_assertions', 'The Response carries more than one assertion.', {
      count: encrypted.length,
    });
  }
  assertUniqueIds(doc);
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

/** Structural checks of a decoded Response before any signature is verified. */
export function inspectResponse(doc: Document, ctx: PolicyContext): ResponseFacts {
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== NS.protocol || root.localName !== 'Response') {
    reject('saml_not_a_response', 'The message is not a SAML Response.');
  }
  const responseId = attr(root, 'ID');
  if (!responseId) reject('saml_not_a_response', 'The Response has no ID.');
  assertUniqueIds(doc);
  assertPlainValues(doc);
  assertTimestamps(doc);

  const status = childElement(root, NS.protocol, 'Status');
  const statusCode = attr(status && childElement(status, NS.protocol, 'StatusCode'), 'Value');
  if (statusCode !== STATUS_SUCCESS) {
    const second = attr(
      status &&
        childElement(status, NS.protocol, 'StatusCode') &&
        childElement(childElement(status, NS.protocol, 'StatusCode') as Element, NS.protocol, 'StatusCode'),
      'Value',
    );
    reject(
      'saml_idp_error_status',
      `The identity provider reported an error (${(second ?? statusCode ?? 'no status').split(':').pop()}).`,
      {
        statusCode,
        subStatusCode: second,
        statusMessage: textOf(status && childElement(status, NS.protocol, 'StatusMessage')),
      },
    );
  }

  const all = [
    ...elementsNamed(doc, NS.assertion, 'Assertion'),
    ...elementsNamed(doc, NS.assertion, 'EncryptedAssertion'),
  ];
  if (all.length === 0) reject('saml_no_assertion', 'The Response carries no assertion.');
  if (all.length > 1)
    reject('saml_multiple_assertions', 'The Response carries more than one assertion.', {
      count: all.length,
    });
  const assertion = all[0];
  if (assertion.parentNode !== root)
    reject('saml_assertion_misplaced', 'The assertion is not a direct child of the Response.');
  if (assertion.localName === 'EncryptedAssertion') {
    // Only reached by an EncryptedAssertion that was not decrypted in place (nested, or in another namespace).
    reject('saml_encrypted_assertion_invalid', 'The encrypted assertion could not be accepted.');
  }

  assertSignatureShapes(doc, [root, assertion], ctx);
  const responseSigned = childElements(root, NS.ds, 'Signature').length > 0;
  const assertionSigned = childElements(assertion, NS.ds, 'Signature').length > 0;

  const destination = attr(root, 'Destination');
  if (destination !== undefined && destination !== ctx.acsUrl) {
    reject('saml_destination_mismatch', 'The Response was addressed to another service provider URL.', {
      destination,
      expected: ctx.acsUrl,
    });
  }
  if (responseSigned && destination === undefined) {
    reject('saml_destination_mismatch', 'A signed Response must name its Destination.');
  }
  const issuerEl = childElement(root, NS.assertion, 'Issuer');
  const issuer = issuerEl ? textOf(issuerEl) : undefined;
  if (issuer !== undefined && issuer !== ctx.idpEntityId) {
    reject('saml_issuer_mismatch', 'The Response was issued by another identity provider.', {
      issuer,
      expected: ctx.idpEntityId,
    });
  }
  return {
    responseId,
    issuer,
    destination,
    inResponseTo: attr(root, 'InResponseTo'),
    issueInstant: attr(root, 'IssueInstant'),
    encrypted: false,
    responseSigned,
    assertionSigned,
  };
}

/** Every SAML timestamp attribute in the message must be a valid xs:dateTime (checked before any engine). */
function assertTimestamps(doc: Document): void {
  walk(doc, (n) => {
    if (n.nodeType !== ELEMENT) return;
    const el = n as Element;
    if (el.namespaceURI !== NS.assertion && el.namespaceURI !== NS.protocol) return;
    for (const name of TIME_ATTRIBUTES) parseTime(attr(el, name), `${el.localName} ${name}`);
  });
}

/** Attribute values by name, in document order; an attribute repeated (as Keycloak does for roles) is merged. */
export function readAttributes(assertion: Element): Record<string, string[]> {
  const attributes: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const statement of childElements(assertion, NS.assertion, 'AttributeStatement')) {
    for (const at of childElements(statement, NS.assertion, 'Attribute')) {
      const name = attr(at, 'Name');
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
  return { nameId: textOf(nameId), nameIdFormat: attr(nameId, 'Format') };
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

/** A SAML time attribute: absent, or a strict xs:dateTime with its time zone (else the message is refused). */
function parseTime(value: string | undefined, what: string): Date | undefined {
  if (value === undefined) return undefined;
  const time = parseXsDateTime(value);
  if (!time) {
    reject('saml_malformed_xml', `The ${what} time "${value.slice(0, 40)}" is not a valid timestamp.`);
  }
  return time;
}

/** A SAML time attribute of `el` (see parseTime): also for single logout. */
export function timeAttribute(el: Element, name: string): Date | undefined {
  return parseTime(attr(el, name), `${el.localName} ${name}`);
}

/**
 * Reads the signed assertion (as node-saml verified it) and applies the checks node-saml leaves out:
 * assertion issuer, bearer confirmation, recipient, time windows with skew, session expiry.
 */
export function inspectAssertion(assertionDoc: Document, ctx: PolicyContext): AssertionFacts {
  const a = assertionDoc.documentElement;
  if (!a || a.namespaceURI !== NS.assertion || a.localName !== 'Assertion') {
    reject('saml_no_assertion', 'The signed content is not an assertion.');
  }
  assertPlainValues(assertionDoc);
  const now = ctx.now.getTime();
  const skew = ctx.clockSkewMs;
  const id = attr(a, 'ID');
  if (!id) reject('saml_no_assertion', 'The assertion has no ID.');

  const issuer = textOf(childElement(a, NS.assertion, 'Issuer'));
  if (issuer !== ctx.idpEntityId) {
    reject('saml_issuer_mismatch', 'The assertion was issued by another identity provider.', {
      issuer,
      expected: ctx.idpEntityId,
    });
  }
  const issueInstant = parseTime(attr(a, 'IssueInstant'), 'IssueInstant');
  if (issueInstant && issueInstant.getTime() < now - MAX_ASSERTION_AGE_MS - skew) {
    reject('saml_expired', 'The assertion was issued too long ago; sign in again.', {
      issueInstant: issueInstant.toISOString(),
    });
  }
  if (issueInstant && issueInstant.getTime() > now + skew) {
    reject('saml_not_yet_valid', 'The assertion was issued in the future (check the clocks).', {
      issueInstant: issueInstant.toISOString(),
    });
  }

  const subject = childElement(a, NS.assertion, 'Subject');
  const nameIdEl = subject && childElement(subject, NS.assertion, 'NameID');
  const nameId = textOf(nameIdEl);
  if (!subject || !nameIdEl || !nameId) {
    if (subject && childElement(subject, NS.assertion, 'EncryptedID')) {
      reject(
        'saml_subject_missing',
        'Encrypted NameIDs are not supported; configure the IdP to send a plain NameID.',
      );
    }
    reject('saml_subject_missing', 'The assertion does not name its subject (no NameID).');
  }

  // Bearer confirmation: at least one whose data is addressed to us and is within its window.
  let confirmation: Element | undefined;
  const problems: string[] = [];
  for (const sc of childElements(subject, NS.assertion, 'SubjectConfirmation')) {
    if (attr(sc, 'Method') !== BEARER) {
      problems.push(`method ${attr(sc, 'Method')}`);
      continue;
    }
    const data = childElement(sc, NS.assertion, 'SubjectConfirmationData');
    const recipient = attr(data, 'Recipient');
    const notOnOrAfter = parseTime(attr(data, 'NotOnOrAfter'), 'SubjectConfirmationData NotOnOrAfter');
    const notBefore = parseTime(attr(data, 'NotBefore'), 'SubjectConfirmationData NotBefore');
    if (recipient !== ctx.acsUrl) {
      problems.push(`recipient ${recipient ?? '(none)'}`);
      continue;
    }
    if (!notOnOrAfter) {
      problems.push('no NotOnOrAfter');
      continue;
    }
    if (notOnOrAfter.getTime() + skew <= now) {
      reject('saml_expired', 'The assertion has expired (SubjectConfirmationData NotOnOrAfter).', {
        notOnOrAfter: notOnOrAfter.toISOString(),
      });
    }
    if (notBefore && notBefore.getTime() - skew > now) {
      reject('saml_not_yet_valid', 'The assertion is not valid yet (SubjectConfirmationData NotBefore).', {
        notBefore: notBefore.toISOString(),
      });
    }
    confirmation = data;
    break;
  }
  if (!confirmation) {
    const recipientProblem = problems.find((p) => p.startsWith('recipient'));
    if (recipientProblem) {
      reject(
        'saml_recipient_mismatch',
        'The assertion was addressed to another service provider URL (Recipient).',
        {
          problems,
          expected: ctx.acsUrl,
        },
      );
    }
    reject('saml_confirmation_invalid', 'The assertion has no valid bearer SubjectConfirmation.', {
      problems,
    });
  }

  const conditions = childElements(a, NS.assertion, 'Conditions');
  if (conditions.length !== 1)
    reject('saml_audience_mismatch', 'The assertion must have exactly one Conditions element.');
  const notBefore = parseTime(attr(conditions[0], 'NotBefore'), 'Conditions NotBefore');
  const conditionsEnd = parseTime(attr(conditions[0], 'NotOnOrAfter'), 'Conditions NotOnOrAfter');
  if (notBefore && notBefore.getTime() - skew > now) {
    reject('saml_not_yet_valid', 'The assertion is not valid yet (Conditions NotBefore).', {
      notBefore: notBefore.toISOString(),
    });
  }
  if (conditionsEnd && conditionsEnd.getTime() + skew <= now) {
    reject('saml_expired', 'The assertion has expired (Conditions NotOnOrAfter).', {
      notOnOrAfter: conditionsEnd.toISOString(),
    });
  }
  const restrictions = childElements(conditions[0], NS.assertion, 'AudienceRestriction');
  if (
    restrictions.length === 0 ||
    !restrictions.every((r) =>
      childElements(r, NS.assertion, 'Audience').some((aud) => textOf(aud) === ctx.spEntityId),
    )
  ) {
    reject('saml_audience_mismatch', 'The assertion is meant for another service provider (Audience).', {
      audiences: restrictions.flatMap((r) => childElements(r, NS.assertion, 'Audience').map(textOf)),
      expected: ctx.spEntityId,
    });
  }

  const authn = childElement(a, NS.assertion, 'AuthnStatement');
  const sessionNotOnOrAfter = parseTime(attr(authn, 'SessionNotOnOrAfter'), 'SessionNotOnOrAfter');
  if (sessionNotOnOrAfter && sessionNotOnOrAfter.getTime() + skew <= now) {
    reject(
      'saml_session_expired',
      'The IdP session this assertion belongs to has ended (SessionNotOnOrAfter).',
    );
  }
  const context = authn && childElement(authn, NS.assertion, 'AuthnContext');

  const attributes = readAttributes(a);

  const scdNotOnOrAfter = parseTime(attr(confirmation, 'NotOnOrAfter'), 'NotOnOrAfter') as Date;
  return {
    id,
    issuer,
    nameId,
    nameIdFormat: attr(nameIdEl, 'Format'),
    sessionIndex: attr(authn, 'SessionIndex'),
    sessionNotOnOrAfter,
    authnContextClassRef:
      textOf(context && childElement(context, NS.assertion, 'AuthnContextClassRef')) || undefined,
    authnInstant: parseTime(attr(authn, 'AuthnInstant'), 'AuthnInstant'),
    notOnOrAfter: conditionsEnd && conditionsEnd < scdNotOnOrAfter ? conditionsEnd : scdNotOnOrAfter,
    subjectConfirmationInResponseTo: attr(confirmation, 'InResponseTo'),
    attributes,
  };
}
