/**
 * Tests of the test IdP (test/support/saml-test-idp.ts) and the attack builders (test/support/saml-attacks.ts).
 *
 * They prove the library is real: its signatures verify with xml-crypto against the pinned IdP certificate
 * only, and @node-saml/node-saml 5.1.0 accepts its responses. They also record, for each hostile variant,
 * whether node-saml alone stops it. These tests describe library behaviour, not our SP: everything in the
 * "gaps" tables is something our own validation layer must reject.
 */
import {
  constants,
  createPrivateKey,
  createVerify,
  privateDecrypt,
  publicEncrypt,
  X509Certificate,
} from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import {
  SAML,
  SamlStatusError,
  ValidateInResponseTo,
  type Profile,
  type SamlConfig,
} from '@node-saml/node-saml';
import { DOMParser, type Document, type Element } from 'xmldom-0.9';
import { SignedXml } from 'xml-crypto';
import {
  AUTHN_CONTEXT_PPT,
  C14N_EXC,
  CM_BEARER,
  DIGEST_ALGORITHMS,
  DS_NS,
  MD_NS,
  NAMEID_EMAIL,
  NAMEID_PERSISTENT,
  SAML_NS,
  SAMLP_NS,
  SIGNATURE_ALGORITHMS,
  TRANSFORM_ENVELOPED,
  TestIdp,
  XENC_NS,
  encryptAssertion,
  generateTestKeyPair,
  type AssertionInput,
  type DigestAlgorithmName,
  type EncryptionSpec,
  type ResponseOptions,
  type SignMode,
  type SignatureAlgorithmName,
  type TestKeyPair,
} from '../support/saml-test-idp';
import {
  EVIL_NAME_ID,
  assertionPlusEncrypted,
  commentInDigestValue,
  commentInjection,
  deflateBomb,
  dsObjectWrap,
  duplicateIdVariants,
  hmacSignatureMethod,
  hugeBase64Response,
  multipleAssertions,
  secondSignedInfo,
  stripSignatures,
  tamperByte,
  trailingRoot,
  withDoctype,
  xswVariants,
  type AttackVector,
} from '../support/saml-attacks';
import { need } from '../support/defined';

const SP_ENTITY_ID = 'https://sp.test.example/saml/metadata';
const ACS_URL = 'https://sp.test.example/saml/acs';
const SLO_URL = 'https://sp.test.example/saml/slo';
const USER = 'admin@victim.com.evil.com';
const EVIL = { nameId: 'evil-admin', email: 'evil@attacker.example' };
const ATTRIBUTES = {
  email: 'alice@victim.com',
  groups: ['staff', 'R&D <core>'],
  'urn:oid:2.5.4.42': 'Alice',
};
const XSW_RESPONSE_IDS = ['XSW1', 'XSW2'];
const XSW_ASSERTION_IDS = [
  'XSW3',
  'XSW4',
  'XSW5',
  'XSW6',
  'XSW7',
  'XSW8',
  'advice-wrap',
  'subjectconfirmationdata-wrap',
];

type Encryption = Omit<EncryptionSpec, 'spCertificatePem'>;

let idpKeys: TestKeyPair;
let spKeys: TestKeyPair;
let attackerKeys: TestKeyPair;
let idp: TestIdp;

beforeAll(async () => {
  [idpKeys, spKeys, attackerKeys] = await Promise.all([
    generateTestKeyPair('SAML Test IdP'),
    generateTestKeyPair('SAML Bridge SP'),
    generateTestKeyPair('Attacker'),
  ]);
  idp = new TestIdp({ keys: idpKeys });
});

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

function input(overrides: Partial<AssertionInput> = {}): AssertionInput {
  return { spEntityId: SP_ENTITY_ID, acsUrl: ACS_URL, nameId: USER, attributes: ATTRIBUTES, ...overrides };
}

function signedResponse(sign: SignMode, overrides: Partial<AssertionInput> = {}): string {
  return idp.responseXml(input(overrides), { sign });
}

/** node-saml configured as the brief prescribes, for a response signed per `mode`. */
function nodeSaml(mode: SignMode, extra: Partial<SamlConfig> = {}): SAML {
  return new SAML({
    callbackUrl: ACS_URL,
    entryPoint: 'https://idp/sso',
    issuer: SP_ENTITY_ID,
    audience: SP_ENTITY_ID,
    idpCert: idpKeys.certificatePem,
    wantAssertionsSigned: mode !== 'response',
    wantAuthnResponseSigned: mode !== 'assertion',
    validateInResponseTo: ValidateInResponseTo.never,
    decryptionPvk: spKeys.privateKeyPem,
    ...extra,
  });
}

function postToNodeSaml(
  mode: SignMode,
  xml: string,
  extra: Partial<SamlConfig> = {},
): Promise<{ profile: Profile | null; loggedOut: boolean }> {
  return nodeSaml(mode, extra).validatePostResponseAsync(idp.postBinding(xml));
}

function parseXml(xml: string): Document {
  return new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning') throw new Error(message);
    },
  }).parseFromString(xml, 'text/xml');
}

function rootOf(doc: Document): Element {
  const root = doc.documentElement;
  if (root === null) throw new Error('no root element');
  return root;
}

function all(scope: Document | Element, ns: string, localName: string): Element[] {
  const list = scope.getElementsByTagNameNS(ns, localName);
  const out: Element[] = [];
  for (let i = 0; i < list.length; i++) {
    const item = list.item(i);
    if (item !== null) out.push(item);
  }
  return out;
}

function one(scope: Document | Element, ns: string, localName: string): Element {
  const found = all(scope, ns, localName);
  if (found.length !== 1) throw new Error(`expected exactly one ${localName}, found ${found.length}`);
  return need(found[0]);
}

function attr(el: Element, name: string): string | null {
  return el.hasAttribute(name) ? el.getAttribute(name) : null;
}

function text(scope: Document | Element, ns: string, localName: string): string {
  return one(scope, ns, localName).textContent ?? '';
}

function childElements(el: Element): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === n.ELEMENT_NODE) out.push(n as Element);
  }
  return out;
}

type Verdict = 'valid' | 'invalid' | `error: ${string}`;

/** Verifies one ds:Signature with xml-crypto, trusting only `certPem` (KeyInfo is ignored). */
function verifySignature(xml: string, signature: Element, certPem: string): Verdict {
  const verifier = new SignedXml({ publicCert: certPem, getCertFromKeyInfo: () => null });
  try {
    // xml-crypto types its parameter with the global DOM `Node`; an @xmldom/xmldom element is what it uses at run time.
    verifier.loadSignature(signature as unknown as Parameters<SignedXml['loadSignature']>[0]);
    return verifier.checkSignature(xml) ? 'valid' : 'invalid';
  } catch (err) {
    return `error: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function verdicts(xml: string, certPem: string): Verdict[] {
  return all(parseXml(xml), DS_NS, 'Signature').map((sig) => verifySignature(xml, sig, certPem));
}

/** Checks the SAML/XML-DSig shape of one enveloped signature and returns the signed element. */
function expectEnvelopedSignatureShape(
  signature: Element,
  algorithms: { signature: string; digest: string } = {
    signature: SIGNATURE_ALGORITHMS['rsa-sha256'],
    digest: DIGEST_ALGORITHMS.sha256,
  },
): Element {
  const parent = signature.parentNode as Element;
  const siblings = childElements(parent);
  const index = siblings.indexOf(signature);
  // Right after the Issuer of the signed element (saml-schema-assertion/protocol order).
  expect(index).toBe(1);
  expect(need(siblings[0]).namespaceURI).toBe(SAML_NS);
  expect(need(siblings[0]).localName).toBe('Issuer');
  expect(signature.prefix).toBe('ds');
  expect(one(signature, DS_NS, 'CanonicalizationMethod').getAttribute('Algorithm')).toBe(C14N_EXC);
  expect(one(signature, DS_NS, 'SignatureMethod').getAttribute('Algorithm')).toBe(algorithms.signature);
  const reference = one(signature, DS_NS, 'Reference');
  expect(reference.getAttribute('URI')).toBe(`#${parent.getAttribute('ID') ?? 'missing'}`);
  expect(all(reference, DS_NS, 'Transform').map((t) => t.getAttribute('Algorithm'))).toEqual([
    TRANSFORM_ENVELOPED,
    C14N_EXC,
  ]);
  expect(one(reference, DS_NS, 'DigestMethod').getAttribute('Algorithm')).toBe(algorithms.digest);
  return parent;
}

function pick(vectors: AttackVector[], id: string): string {
  const found = vectors.find((v) => v.id === id);
  if (found === undefined) throw new Error(`no attack vector ${id}`);
  return found.xml;
}

function parseQuery(query: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(query));
}

function expectProfile(profile: Profile | null, nameId = USER): void {
  expect(profile).not.toBeNull();
  expect(profile).toMatchObject({
    nameID: nameId,
    nameIDFormat: NAMEID_PERSISTENT,
    spNameQualifier: SP_ENTITY_ID,
    issuer: idp.entityId,
    email: ATTRIBUTES.email,
    attributes: ATTRIBUTES,
  });
  expect(profile?.sessionIndex).toMatch(/^_[0-9a-f]{40}$/);
}

// ---------------------------------------------------------------------------------------------------------
// Keys and metadata
// ---------------------------------------------------------------------------------------------------------

describe('generateTestKeyPair', () => {
  test('makes an RSA-2048 key and a matching self-signed certificate', () => {
    const cert = new X509Certificate(idpKeys.certificatePem);
    expect(cert.subject).toBe('CN=SAML Test IdP');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.ca).toBe(false);
    expect(cert.checkPrivateKey(createPrivateKey(idpKeys.privateKeyPem))).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyType).toBe('rsa');
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(new Date(cert.validFrom).getTime()).toBeLessThan(Date.now());
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(Date.now() + 300 * 24 * 3600 * 1000);
    expect(idpKeys.certificateBase64).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(cert.raw.toString('base64')).toBe(idpKeys.certificateBase64);
    expect(idpKeys.privateKeyPem).toMatch(
      /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/,
    );
  });

  test('honours commonName, bits and notAfter, and never reuses a key', async () => {
    const notAfter = new Date(Date.UTC(2031, 0, 2, 3, 4, 5));
    const [a, b] = await Promise.all([
      generateTestKeyPair('Acme, Inc. "test"', { bits: 1024, notAfter }),
      generateTestKeyPair('Acme, Inc. "test"', { bits: 1024, notAfter }),
    ]);
    const cert = new X509Certificate(a.certificatePem);
    expect(cert.subject).toContain('Acme');
    expect(cert.subject).toContain('Inc.');
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(1024);
    expect(new Date(cert.validTo).getTime()).toBe(notAfter.getTime());
    expect(a.privateKeyPem).not.toBe(b.privateKeyPem);
    expect(a.certificateBase64).not.toBe(b.certificateBase64);
  });
});

describe('TestIdp.metadataXml', () => {
  test('is an IdP EntityDescriptor that a DOM parser reads, with the signing certificate', () => {
    const doc = parseXml(idp.metadataXml());
    const root = rootOf(doc);
    expect(root.namespaceURI).toBe(MD_NS);
    expect(root.localName).toBe('EntityDescriptor');
    expect(root.getAttribute('entityID')).toBe('https://idp.test.example/metadata');
    const descriptor = one(doc, MD_NS, 'IDPSSODescriptor');
    expect(descriptor.getAttribute('protocolSupportEnumeration')).toBe(SAMLP_NS);
    expect(descriptor.getAttribute('WantAuthnRequestsSigned')).toBe('false');
    const keyDescriptor = one(doc, MD_NS, 'KeyDescriptor');
    expect(keyDescriptor.getAttribute('use')).toBe('signing');
    expect(text(keyDescriptor, DS_NS, 'X509Certificate')).toBe(idpKeys.certificateBase64);
    const endpoints = (name: string): string[] =>
      all(doc, MD_NS, name).map(
        (e) => `${e.getAttribute('Binding') ?? ''} ${e.getAttribute('Location') ?? ''}`,
      );
    expect(endpoints('SingleSignOnService')).toEqual([
      'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect https://idp.test.example/sso',
      'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST https://idp.test.example/sso',
    ]);
    expect(endpoints('SingleLogoutService')).toEqual([
      'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect https://idp.test.example/slo',
      'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST https://idp.test.example/slo',
    ]);
    expect(all(doc, MD_NS, 'NameIDFormat').map((e) => e.textContent)).toEqual([
      NAMEID_PERSISTENT,
      NAMEID_EMAIL,
    ]);
    // Schema order inside IDPSSODescriptor: KeyDescriptor, SingleLogoutService, NameIDFormat, SingleSignOnService.
    expect(childElements(descriptor).map((e) => e.localName)).toEqual([
      'KeyDescriptor',
      'SingleLogoutService',
      'SingleLogoutService',
      'NameIDFormat',
      'NameIDFormat',
      'SingleSignOnService',
      'SingleSignOnService',
    ]);
  });

  test('publishes extra signing certificates, custom endpoints and WantAuthnRequestsSigned', () => {
    const custom = new TestIdp({
      keys: idpKeys,
      entityId: 'https://login.example.org/idp?tenant=a&b',
      ssoUrl: 'https://login.example.org/sso',
      extraSigningCerts: [attackerKeys.certificatePem, spKeys.certificateBase64],
      wantAuthnRequestsSigned: true,
    });
    expect(custom.sloUrl).toBe('https://login.example.org/slo');
    const doc = parseXml(custom.metadataXml());
    expect(rootOf(doc).getAttribute('entityID')).toBe('https://login.example.org/idp?tenant=a&b');
    expect(one(doc, MD_NS, 'IDPSSODescriptor').getAttribute('WantAuthnRequestsSigned')).toBe('true');
    expect(all(doc, DS_NS, 'X509Certificate').map((e) => e.textContent)).toEqual([
      idpKeys.certificateBase64,
      attackerKeys.certificateBase64,
      spKeys.certificateBase64,
    ]);
    expect(need(all(doc, MD_NS, 'SingleSignOnService')[0]).getAttribute('Location')).toBe(
      'https://login.example.org/sso',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Assertions and responses
// ---------------------------------------------------------------------------------------------------------

describe('TestIdp.assertionXml', () => {
  test('has every standard element with the documented defaults', () => {
    const now = new Date(Date.UTC(2030, 4, 6, 7, 8, 9, 123));
    const doc = parseXml(idp.assertionXml(input({ now, inResponseTo: '_req1' })));
    const assertion = rootOf(doc);
    expect(assertion.namespaceURI).toBe(SAML_NS);
    expect(assertion.localName).toBe('Assertion');
    expect(assertion.getAttribute('ID')).toMatch(/^_[0-9a-f]{40}$/);
    expect(assertion.getAttribute('Version')).toBe('2.0');
    expect(assertion.getAttribute('IssueInstant')).toBe('2030-05-06T07:08:09Z');
    expect(all(doc, DS_NS, 'Signature')).toHaveLength(0);
    expect(childElements(assertion).map((e) => e.localName)).toEqual([
      'Issuer',
      'Subject',
      'Conditions',
      'AuthnStatement',
      'AttributeStatement',
    ]);
    expect(text(doc, SAML_NS, 'Issuer')).toBe(idp.entityId);
    const nameId = one(doc, SAML_NS, 'NameID');
    expect(nameId.textContent).toBe(USER);
    expect(nameId.getAttribute('Format')).toBe(NAMEID_PERSISTENT);
    expect(one(doc, SAML_NS, 'SubjectConfirmation').getAttribute('Method')).toBe(CM_BEARER);
    const scd = one(doc, SAML_NS, 'SubjectConfirmationData');
    expect(attr(scd, 'NotOnOrAfter')).toBe('2030-05-06T07:13:09Z');
    expect(attr(scd, 'Recipient')).toBe(ACS_URL);
    expect(attr(scd, 'InResponseTo')).toBe('_req1');
    const conditions = one(doc, SAML_NS, 'Conditions');
    expect(attr(conditions, 'NotBefore')).toBe('2030-05-06T07:07:09Z');
    expect(attr(conditions, 'NotOnOrAfter')).toBe('2030-05-06T07:13:09Z');
    expect(text(conditions, SAML_NS, 'Audience')).toBe(SP_ENTITY_ID);
    const authn = one(doc, SAML_NS, 'AuthnStatement');
    expect(attr(authn, 'AuthnInstant')).toBe('2030-05-06T07:08:09Z');
    expect(attr(authn, 'SessionIndex')).toMatch(/^_[0-9a-f]{40}$/);
    expect(attr(authn, 'SessionNotOnOrAfter')).toBeNull();
    expect(text(authn, SAML_NS, 'AuthnContextClassRef')).toBe(AUTHN_CONTEXT_PPT);
    const attributes = all(doc, SAML_NS, 'Attribute');
    expect(attributes.map((a) => a.getAttribute('Name'))).toEqual(Object.keys(ATTRIBUTES));
    for (const a of attributes) {
      expect(a.getAttribute('NameFormat')).toBe('urn:oasis:names:tc:SAML:2.0:attrname-format:uri');
    }
    const values = all(doc, SAML_NS, 'AttributeValue');
    expect(values.map((v) => v.textContent)).toEqual(['alice@victim.com', 'staff', 'R&D <core>', 'Alice']);
    for (const v of values) {
      expect(v.getAttributeNS('http://www.w3.org/2001/XMLSchema-instance', 'type')).toBe('xs:string');
    }
  });

  test('applies every override and escapes XML in names and values', () => {
    const now = new Date(Date.UTC(2030, 0, 1, 0, 0, 0));
    const nasty = `a"b'c<d>&e`;
    const doc = parseXml(
      idp.assertionXml({
        spEntityId: 'urn:sp:"x"',
        acsUrl: 'https://sp.example/acs?a=1&b=2',
        nameId: nasty,
        nameIdFormat: NAMEID_EMAIL,
        attributes: { [nasty]: [nasty, ''] },
        sessionIndex: 'sess&1',
        authnContextClassRef: 'urn:x:<mfa>',
        now,
        notBeforeSkewSeconds: 0,
        lifetimeSeconds: 30,
        sessionNotOnOrAfter: new Date(Date.UTC(2030, 0, 1, 8)),
        issuer: 'https://other-idp/"x"',
        assertionId: '_fixed',
        recipient: 'https://recipient/"r"',
        audience: 'urn:aud:&',
        confirmationMethod: 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key',
      }),
    );
    const assertion = rootOf(doc);
    expect(assertion.getAttribute('ID')).toBe('_fixed');
    expect(text(doc, SAML_NS, 'Issuer')).toBe('https://other-idp/"x"');
    const nameId = one(doc, SAML_NS, 'NameID');
    expect(nameId.textContent).toBe(nasty);
    expect(nameId.getAttribute('Format')).toBe(NAMEID_EMAIL);
    expect(nameId.hasAttribute('SPNameQualifier')).toBe(false);
    expect(one(doc, SAML_NS, 'SubjectConfirmation').getAttribute('Method')).toBe(
      'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key',
    );
    const scd = one(doc, SAML_NS, 'SubjectConfirmationData');
    expect(scd.getAttribute('Recipient')).toBe('https://recipient/"r"');
    expect(scd.getAttribute('NotOnOrAfter')).toBe('2030-01-01T00:00:30Z');
    expect(scd.hasAttribute('InResponseTo')).toBe(false);
    expect(one(doc, SAML_NS, 'Conditions').getAttribute('NotBefore')).toBe('2030-01-01T00:00:00Z');
    expect(text(doc, SAML_NS, 'Audience')).toBe('urn:aud:&');
    const authn = one(doc, SAML_NS, 'AuthnStatement');
    expect(authn.getAttribute('SessionIndex')).toBe('sess&1');
    expect(authn.getAttribute('SessionNotOnOrAfter')).toBe('2030-01-01T08:00:00Z');
    expect(text(doc, SAML_NS, 'AuthnContextClassRef')).toBe('urn:x:<mfa>');
    expect(one(doc, SAML_NS, 'Attribute').getAttribute('Name')).toBe(nasty);
    expect(all(doc, SAML_NS, 'AttributeValue').map((v) => v.textContent)).toEqual([nasty, '']);
  });

  test('omits the AttributeStatement when there are no attributes', () => {
    const doc = parseXml(idp.assertionXml(input({ attributes: {} })));
    expect(all(doc, SAML_NS, 'AttributeStatement')).toHaveLength(0);
  });
});

describe('TestIdp.responseXml', () => {
  test.each<[SignMode, string[]]>([
    ['assertion', ['Assertion']],
    ['response', ['Response']],
    ['both', ['Response', 'Assertion']],
  ])('sign=%s signs %j verifiably with the IdP certificate only', (mode, signedNames) => {
    const xml = signedResponse(mode, { inResponseTo: '_req' });
    const doc = parseXml(xml);
    const signatures = all(doc, DS_NS, 'Signature');
    expect(signatures.map((s) => (s.parentNode as Element).localName)).toEqual(signedNames);
    for (const signature of signatures) {
      expectEnvelopedSignatureShape(signature);
      expect(text(signature, DS_NS, 'X509Certificate')).toBe(idpKeys.certificateBase64);
      expect(verifySignature(xml, signature, idpKeys.certificatePem)).toBe('valid');
      expect(verifySignature(xml, signature, attackerKeys.certificatePem)).toMatch(/^(invalid|error: )/);
    }
    const response = rootOf(doc);
    expect(response.namespaceURI).toBe(SAMLP_NS);
    expect(response.localName).toBe('Response');
    expect(response.getAttribute('ID')).toMatch(/^_[0-9a-f]{40}$/);
    expect(response.getAttribute('Version')).toBe('2.0');
    expect(response.getAttribute('IssueInstant')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(response.getAttribute('Destination')).toBe(ACS_URL);
    expect(response.getAttribute('InResponseTo')).toBe('_req');
    expect(one(doc, SAMLP_NS, 'StatusCode').getAttribute('Value')).toBe(
      'urn:oasis:names:tc:SAML:2.0:status:Success',
    );
    expect(childElements(response).map((e) => e.localName)).toEqual(
      mode === 'assertion'
        ? ['Issuer', 'Status', 'Assertion']
        : ['Issuer', 'Signature', 'Status', 'Assertion'],
    );
  });

  test('sign=none signs nothing; destination null omits Destination', () => {
    const doc = parseXml(idp.responseXml(input({ destination: null }), { sign: 'none' }));
    expect(all(doc, DS_NS, 'Signature')).toHaveLength(0);
    expect(rootOf(doc).hasAttribute('Destination')).toBe(false);
    expect(rootOf(doc).hasAttribute('InResponseTo')).toBe(false);
  });

  test.each<[SignatureAlgorithmName, DigestAlgorithmName]>([
    ['rsa-sha1', 'sha1'],
    ['rsa-sha512', 'sha512'],
    ['rsa-sha256', 'sha512'],
  ])('signs with %s / %s', (signatureAlgorithm, digestAlgorithm) => {
    const xml = idp.responseXml(input(), { sign: 'both', signatureAlgorithm, digestAlgorithm });
    for (const signature of all(parseXml(xml), DS_NS, 'Signature')) {
      expectEnvelopedSignatureShape(signature, {
        signature: SIGNATURE_ALGORITHMS[signatureAlgorithm],
        digest: DIGEST_ALGORITHMS[digestAlgorithm],
      });
      expect(verifySignature(xml, signature, idpKeys.certificatePem)).toBe('valid');
    }
  });

  test('includeKeyInfo=false leaves KeyInfo out and still verifies with the pinned certificate', () => {
    const xml = idp.responseXml(input(), { sign: 'both', includeKeyInfo: false });
    expect(all(parseXml(xml), DS_NS, 'KeyInfo')).toHaveLength(0);
    expect(verdicts(xml, idpKeys.certificatePem)).toEqual(['valid', 'valid']);
  });

  test('signingKeys signs with another key, whose certificate goes in KeyInfo (certificate faking)', () => {
    const xml = idp.responseXml(input(), { sign: 'both', signingKeys: attackerKeys });
    const doc = parseXml(xml);
    expect(all(doc, DS_NS, 'X509Certificate').map((c) => c.textContent)).toEqual([
      attackerKeys.certificateBase64,
      attackerKeys.certificateBase64,
    ]);
    expect(verdicts(xml, attackerKeys.certificatePem)).toEqual(['valid', 'valid']);
    for (const v of verdicts(xml, idpKeys.certificatePem)) expect(v).toMatch(/^(invalid|error: )/);
  });

  test('is deterministic given fixed IDs, session index and time', () => {
    const fixed = input({
      now: new Date(Date.UTC(2030, 1, 2, 3, 4, 5)),
      assertionId: '_a1',
      responseId: '_r1',
      sessionIndex: '_s1',
    });
    const first = idp.responseXml(fixed, { sign: 'both' });
    expect(idp.responseXml(fixed, { sign: 'both' })).toBe(first);
    expect(rootOf(parseXml(first)).getAttribute('ID')).toBe('_r1');
    expect(one(parseXml(first), SAML_NS, 'Assertion').getAttribute('ID')).toBe('_a1');
    expect(idp.responseXml(input(), { sign: 'both' })).not.toBe(idp.responseXml(input(), { sign: 'both' }));
  });

  test.each<[string, string[]]>([
    ['Requester', ['urn:oasis:names:tc:SAML:2.0:status:Requester']],
    [
      'AuthnFailed',
      ['urn:oasis:names:tc:SAML:2.0:status:Responder', 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed'],
    ],
    [
      'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
      ['urn:oasis:names:tc:SAML:2.0:status:Responder', 'urn:oasis:names:tc:SAML:2.0:status:NoPassive'],
    ],
  ])('statusCode %s yields an error Response without an assertion', (statusCode, codes) => {
    const xml = idp.responseXml(input({ statusCode }), { sign: 'both' });
    const doc = parseXml(xml);
    expect(all(doc, SAML_NS, 'Assertion')).toHaveLength(0);
    expect(all(doc, SAMLP_NS, 'StatusCode').map((c) => c.getAttribute('Value'))).toEqual(codes);
    expect(verdicts(xml, idpKeys.certificatePem)).toEqual(['valid']);
  });

  test('encrypts the signed assertion into EncryptedAssertion (returns a Promise) and signs the Response after', async () => {
    const pending = idp.responseXml(input(), {
      sign: 'both',
      encrypt: { spCertificatePem: spKeys.certificatePem, dataAlgorithm: 'aes128-gcm' },
    });
    expect(pending).toBeInstanceOf(Promise);
    const xml = await pending;
    const doc = parseXml(xml);
    expect(childElements(rootOf(doc)).map((e) => e.localName)).toEqual([
      'Issuer',
      'Signature',
      'Status',
      'EncryptedAssertion',
    ]);
    expect(all(doc, SAML_NS, 'Assertion')).toHaveLength(0);
    expect(xml).not.toContain(USER);
    expect(one(doc, XENC_NS, 'EncryptedData').getAttribute('Type')).toBe(
      'http://www.w3.org/2001/04/xmlenc#Element',
    );
    expect(all(doc, XENC_NS, 'EncryptionMethod').map((m) => m.getAttribute('Algorithm'))).toEqual(
      expect.arrayContaining([
        'http://www.w3.org/2009/xmlenc11#aes128-gcm',
        'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
      ]),
    );
    expect(verdicts(xml, idpKeys.certificatePem)).toEqual(['valid']);
    await expect(idp.responseXmlAsync(input(), { sign: 'none' })).resolves.toContain('<saml:Assertion');
  });
});

// ---------------------------------------------------------------------------------------------------------
// node-saml 5.1.0 accepts what the IdP issues
// ---------------------------------------------------------------------------------------------------------

describe('node-saml 5.1.0 accepts the test IdP', () => {
  test.each<[string, Omit<ResponseOptions, 'encrypt'> & { sign: SignMode; encryption?: Encryption }]>([
    ['assertion-signed', { sign: 'assertion' }],
    ['response-signed', { sign: 'response' }],
    ['both signed', { sign: 'both' }],
    [
      'assertion-signed, rsa-sha512',
      { sign: 'assertion', signatureAlgorithm: 'rsa-sha512', digestAlgorithm: 'sha512' },
    ],
    ['assertion-signed, no KeyInfo', { sign: 'assertion', includeKeyInfo: false }],
    ['encrypted aes256-gcm + rsa-oaep, signed assertion inside', { sign: 'assertion', encryption: {} }],
    [
      'encrypted aes256-cbc + rsa-oaep, signed assertion inside',
      { sign: 'assertion', encryption: { dataAlgorithm: 'aes256-cbc' } },
    ],
    ['encrypted aes256-gcm, both signed', { sign: 'both', encryption: {} }],
    ['encrypted aes256-gcm, response-signed only', { sign: 'response', encryption: {} }],
  ])('%s', async (_label, { encryption, ...opts }) => {
    const encrypt = encryption && { ...encryption, spCertificatePem: spKeys.certificatePem };
    const xml = await idp.responseXmlAsync(input({ inResponseTo: '_req42' }), { ...opts, encrypt });
    const result = await postToNodeSaml(opts.sign, xml);
    expect(result.loggedOut).toBe(false);
    expectProfile(result.profile);
    expect(result.profile?.inResponseTo).toBe('_req42');
  });

  test('a signed LogoutResponse (POST) is accepted as a logout', async () => {
    const xml = idp.logoutResponseXml({ destination: SLO_URL, inResponseTo: '_logout1' }, { sign: true });
    expectEnvelopedSignatureShape(one(parseXml(xml), DS_NS, 'Signature'));
    await expect(postToNodeSaml('response', xml)).resolves.toEqual({ profile: null, loggedOut: true });
  });

  test('a signed LogoutRequest (POST) is accepted with NameID and SessionIndex', async () => {
    const xml = idp.logoutRequestXml(
      { spEntityId: SP_ENTITY_ID, destination: SLO_URL, nameId: USER, sessionIndex: '_sess1', id: '_lr1' },
      { sign: true },
    );
    const doc = parseXml(xml);
    expectEnvelopedSignatureShape(one(doc, DS_NS, 'Signature'));
    expect(rootOf(doc).getAttribute('NotOnOrAfter')).toMatch(/Z$/);
    const result = await nodeSaml('response', { idpIssuer: idp.entityId }).validatePostRequestAsync({
      SAMLRequest: Buffer.from(xml).toString('base64'),
    });
    expect(result).toMatchObject({
      loggedOut: true,
      profile: {
        ID: '_lr1',
        issuer: idp.entityId,
        nameID: USER,
        nameIDFormat: NAMEID_PERSISTENT,
        sessionIndex: '_sess1',
      },
    });
  });

  test('a Redirect-binding LogoutRequest and LogoutResponse with query signatures are accepted', async () => {
    const saml = nodeSaml('response', { idpIssuer: idp.entityId });
    const request = idp.logoutRequestXml({ spEntityId: SP_ENTITY_ID, destination: SLO_URL, nameId: USER });
    const requestQuery = idp.redirectBindingQuery('SAMLRequest', request, 'rs-1', { sign: true });
    await expect(saml.validateRedirectAsync(parseQuery(requestQuery), requestQuery)).resolves.toMatchObject({
      loggedOut: true,
      profile: { nameID: USER, issuer: idp.entityId },
    });
    const response = idp.logoutResponseXml({ destination: SLO_URL, inResponseTo: '_x' });
    const responseQuery = idp.redirectBindingQuery('SAMLResponse', response, undefined, {
      sign: true,
      sigAlg: 'rsa-sha1',
    });
    await expect(saml.validateRedirectAsync(parseQuery(responseQuery), responseQuery)).resolves.toEqual({
      profile: null,
      loggedOut: true,
    });
    const forged = requestQuery.replace('RelayState=rs-1', 'RelayState=rs-2');
    await expect(saml.validateRedirectAsync(parseQuery(forged), forged)).rejects.toThrow(
      'Invalid query signature',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Attack builders
// ---------------------------------------------------------------------------------------------------------

describe('attack builders', () => {
  test('xswVariants builds XSW1/2 from a response-signed input and the rest from an assertion-signed one', () => {
    const ids = (xml: string): string[] => xswVariants(xml, EVIL).map((v) => v.id);
    expect(ids(signedResponse('response'))).toEqual(XSW_RESPONSE_IDS);
    expect(ids(signedResponse('assertion'))).toEqual(XSW_ASSERTION_IDS);
    expect(ids(signedResponse('both'))).toEqual([...XSW_RESPONSE_IDS, ...XSW_ASSERTION_IDS]);
    expect(ids(signedResponse('none'))).toEqual([]);
    for (const v of [
      ...xswVariants(signedResponse('response'), EVIL),
      ...xswVariants(signedResponse('assertion'), EVIL),
    ]) {
      expect(v.description.length).toBeGreaterThan(20);
      expect(v.xml).toContain(`>${EVIL.nameId}</saml:NameID>`);
      expect(v.xml).toContain(`>${EVIL.email}</saml:AttributeValue>`);
      expect(v.xml).toContain(`>${USER}</saml:NameID>`); // the genuine signed copy is still there
    }
  });

  // The premise of a wrapping attack: a plain xml-crypto verifier (pinned cert, no SAML-level checks)
  // still finds a valid IdP signature in the document. xml-crypto 6.3.2 itself refuses duplicate IDs.
  test.each<[string, () => string, RegExp]>([
    ['XSW1', () => pick(xswVariants(signedResponse('response'), EVIL), 'XSW1'), /^valid$/],
    ['XSW2', () => pick(xswVariants(signedResponse('response'), EVIL), 'XSW2'), /^valid$/],
    ['XSW3', () => pick(xswVariants(signedResponse('assertion'), EVIL), 'XSW3'), /^valid$/],
    ['XSW4', () => pick(xswVariants(signedResponse('assertion'), EVIL), 'XSW4'), /^valid$/],
    ['XSW5', () => pick(xswVariants(signedResponse('assertion'), EVIL), 'XSW5'), /^valid$/],
    ['XSW6', () => pick(xswVariants(signedResponse('assertion'), EVIL), 'XSW6'), /^valid$/],
    [
      'XSW7',
      () => pick(xswVariants(signedResponse('assertion'), EVIL), 'XSW7'),
      /multiple elements with the same value/,
    ],
    [
      'XSW8',
      () => pick(xswVariants(signedResponse('assertion'), EVIL), 'XSW8'),
      /multiple elements with the same value/,
    ],
    ['advice-wrap', () => pick(xswVariants(signedResponse('assertion'), EVIL), 'advice-wrap'), /^valid$/],
    [
      'subjectconfirmationdata-wrap',
      () => pick(xswVariants(signedResponse('assertion'), EVIL), 'subjectconfirmationdata-wrap'),
      /^valid$/,
    ],
    ['comment-injection', () => commentInjection(signedResponse('both')).xml, /^valid$/],
    ['ds-object-wrap (response)', () => dsObjectWrap(signedResponse('response')).xml, /^valid$/],
    ['ds-object-wrap (assertion)', () => dsObjectWrap(signedResponse('assertion')).xml, /^valid$/],
    ['doctype external-dtd', () => withDoctype(signedResponse('both'), 'external-dtd').xml, /^valid$/],
    ['dup-id', () => pick(duplicateIdVariants(signedResponse('assertion')), 'dup-id'), /multiple elements/],
    [
      'dup-Id-attr',
      () => pick(duplicateIdVariants(signedResponse('response')), 'dup-Id-attr'),
      /multiple elements/,
    ],
    ['second-signedinfo', () => secondSignedInfo(signedResponse('assertion')).xml, /multiple SignedInfo/],
    [
      'comment-in-digestvalue',
      () => commentInDigestValue(signedResponse('assertion')).xml,
      /^(invalid|error: )/,
    ],
    ['hmac', () => hmacSignatureMethod(signedResponse('assertion')).xml, /^error: .*(not supported|hmac)/i],
    ['tamper nameid', () => tamperByte(signedResponse('assertion'), 'nameid').xml, /^(invalid|error: )/],
    ['tamper attribute', () => tamperByte(signedResponse('response'), 'attribute').xml, /^(invalid|error: )/],
    ['tamper issuer', () => tamperByte(signedResponse('assertion'), 'issuer').xml, /^(invalid|error: )/],
  ])('%s: plain xml-crypto verdict on the first valid-looking signature', (_id, build, expected) => {
    const results = verdicts(build(), idpKeys.certificatePem);
    const best = results.find((v) => v === 'valid') ?? results[0];
    expect(best).toMatch(expected);
  });

  test('commentInjection splits the NameID text with an empty comment', () => {
    const vector = commentInjection(signedResponse('assertion'));
    expect(vector.xml).toContain('>admin@victim.com<!---->.evil.com</saml:NameID>');
    const nameId = one(parseXml(vector.xml), SAML_NS, 'NameID');
    expect(nameId.firstChild?.nodeValue).toBe('admin@victim.com'); // what a naive reader sees
    expect(commentInjection(signedResponse('assertion', { nameId: 'abcdef' }), 2).xml).toContain(
      'ab<!---->cdef',
    );
  });

  test('stripSignatures, trailingRoot, withDoctype, hmac and tamperByte produce the documented shapes', () => {
    const both = signedResponse('both');
    expect(stripSignatures(both).xml).not.toContain('Signature');
    const trailing = trailingRoot(both).xml;
    expect(trailing.startsWith(both)).toBe(true);
    expect(trailing.slice(both.length)).toMatch(
      /^<samlp:Response[\s\S]*attacker@evil\.example[\s\S]*<\/samlp:Response>$/,
    );
    expect(withDoctype(both, 'xxe').xml).toMatch(
      /^<!DOCTYPE samlp:Response \[<!ENTITY xxe SYSTEM "file:\/\/\/etc\/passwd">\]><samlp:Response[\s\S]*<samlp:StatusMessage>&xxe;<\/samlp:StatusMessage>/,
    );
    expect(withDoctype(both, 'billion-laughs').xml).toContain('<!ENTITY lol9 "&lol8;&lol8;');
    expect(withDoctype(`<?xml version="1.0"?>${both}`, 'external-dtd').xml).toMatch(
      /^<\?xml version="1.0"\?><!DOCTYPE samlp:Response SYSTEM "http:\/\/attacker\.example\/evil\.dtd"><samlp:Response/,
    );
    expect(hmacSignatureMethod(both).xml).toContain(
      'Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"',
    );
    expect(tamperByte(both, 'nameid').xml).toContain('>admin@victim.com.evil.cox</saml:NameID>');
    expect(tamperByte(both, 'issuer').xml).toContain(
      '>https://idp.test.example/metadatx</saml:Issuer><ds:Signature',
    );
    const second = secondSignedInfo(both).xml;
    expect(all(parseXml(second), DS_NS, 'SignedInfo')).toHaveLength(3);
    expect(second).toContain(`>${EVIL_NAME_ID}</saml:NameID>`);
    expect(commentInDigestValue(both).xml).toMatch(
      /<ds:DigestValue><!--[A-Za-z0-9+/=]{44}-->[A-Za-z0-9+/=]{44}</,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// What node-saml 5.1.0 stops on its own, and what it lets through
// ---------------------------------------------------------------------------------------------------------

interface Case {
  id: string;
  /** How node-saml is configured (wantAssertionsSigned / wantAuthnResponseSigned per the signing mode). */
  mode: SignMode;
  xml: () => string | Promise<string>;
  config?: Partial<SamlConfig>;
}

describe('node-saml 5.1.0 rejects on its own', () => {
  const assertionXsw =
    (id: string): (() => string) =>
    () =>
      pick(xswVariants(signedResponse('assertion'), EVIL), id);
  const responseXsw =
    (id: string): (() => string) =>
    () =>
      pick(xswVariants(signedResponse('response'), EVIL), id);
  const encrypted =
    (sign: SignMode, encryption: Encryption = {}): (() => Promise<string>) =>
    () =>
      idp.responseXmlAsync(input(), {
        sign,
        encrypt: { ...encryption, spCertificatePem: spKeys.certificatePem },
      });

  test.each<Case & { error: string | RegExp }>([
    {
      id: 'XSW1',
      mode: 'response',
      xml: responseXsw('XSW1'),
      error: "Referenced node does not refer to it's parent",
    },
    {
      id: 'XSW2',
      mode: 'response',
      xml: responseXsw('XSW2'),
      error: "Referenced node does not refer to it's parent",
    },
    {
      id: 'XSW3',
      mode: 'assertion',
      xml: assertionXsw('XSW3'),
      error: 'Invalid signature: multiple assertions',
    },
    { id: 'XSW4', mode: 'assertion', xml: assertionXsw('XSW4'), error: /^Invalid signature$/ },
    {
      id: 'XSW5',
      mode: 'assertion',
      xml: assertionXsw('XSW5'),
      error: 'Invalid signature: multiple assertions',
    },
    {
      id: 'XSW6',
      mode: 'assertion',
      xml: assertionXsw('XSW6'),
      error: "Referenced node does not refer to it's parent",
    },
    {
      id: 'XSW7',
      mode: 'assertion',
      xml: assertionXsw('XSW7'),
      error: 'ID cannot refer to more than one element',
    },
    {
      id: 'XSW8',
      mode: 'assertion',
      xml: assertionXsw('XSW8'),
      error: 'ID cannot refer to more than one element',
    },
    {
      id: 'advice-wrap',
      mode: 'assertion',
      xml: assertionXsw('advice-wrap'),
      error: /^Invalid signature$/, // the top-level assertion node-saml consumes has no signature
    },
    {
      id: 'subjectconfirmationdata-wrap',
      mode: 'assertion',
      xml: assertionXsw('subjectconfirmationdata-wrap'),
      error: /^Invalid signature$/,
    },
    {
      id: 'strip-signatures (assertion)',
      mode: 'assertion',
      xml: () => stripSignatures(signedResponse('assertion')).xml,
      error: /^Invalid signature$/,
    },
    {
      id: 'strip-signatures, nothing required by config',
      mode: 'none',
      xml: () => stripSignatures(signedResponse('both')).xml,
      config: { wantAssertionsSigned: false, wantAuthnResponseSigned: false },
      error: /^Invalid signature$/,
    },
    {
      id: 'dup-id (assertion-signed)',
      mode: 'assertion',
      xml: () => pick(duplicateIdVariants(signedResponse('assertion')), 'dup-id'),
      error: 'ID cannot refer to more than one element',
    },
    {
      id: 'dup-id (response-signed)',
      mode: 'response',
      xml: () => pick(duplicateIdVariants(signedResponse('response')), 'dup-id'),
      error: 'ID cannot refer to more than one element',
    },
    {
      // node-saml's lookup is //*[@ID=…], but xpath 0.0.34 matches the attribute name case-insensitively.
      id: 'dup-Id-attr (assertion-signed)',
      mode: 'assertion',
      xml: () => pick(duplicateIdVariants(signedResponse('assertion')), 'dup-Id-attr'),
      error: 'ID cannot refer to more than one element',
    },
    {
      id: 'dup-Id-attr (response-signed)',
      mode: 'response',
      xml: () => pick(duplicateIdVariants(signedResponse('response')), 'dup-Id-attr'),
      error: 'ID cannot refer to more than one element',
    },
    {
      id: 'multiple assertions',
      mode: 'assertion',
      xml: () =>
        multipleAssertions(signedResponse('assertion'), idp.assertionXml(input({ nameId: EVIL.nameId }))).xml,
      error: 'Invalid signature: multiple assertions',
    },
    {
      id: 'Assertion + EncryptedAssertion',
      mode: 'assertion',
      xml: async () =>
        assertionPlusEncrypted(
          signedResponse('assertion'),
          await encryptAssertion(idp.assertionXml(input({ nameId: EVIL.nameId })), {
            spCertificatePem: spKeys.certificatePem,
          }),
        ).xml,
      error: 'Invalid signature: multiple assertions',
    },
    {
      id: 'trailing root (assertion)',
      mode: 'assertion',
      xml: () => trailingRoot(signedResponse('assertion')).xml,
      error: /Only one element can be added/,
    },
    {
      id: 'trailing root (response)',
      mode: 'response',
      xml: () => trailingRoot(signedResponse('response')).xml,
      error: /Only one element can be added/,
    },
    {
      id: 'DOCTYPE xxe',
      mode: 'assertion',
      xml: () => withDoctype(signedResponse('assertion'), 'xxe').xml,
      error: 'entity not found:&xxe;',
    },
    {
      id: 'DOCTYPE billion-laughs',
      mode: 'assertion',
      xml: () => withDoctype(signedResponse('assertion'), 'billion-laughs').xml,
      error: 'entity not found',
    },
    {
      // Stopped by node-saml's "at most 2 Transforms" rule before xml-crypto's single-SignedInfo rule.
      id: 'second SignedInfo (CVE-2025-29774)',
      mode: 'assertion',
      xml: () => secondSignedInfo(signedResponse('assertion')).xml,
      error: 'Invalid signature, too many transforms',
    },
    {
      id: 'second SignedInfo, response-signed',
      mode: 'response',
      xml: () => secondSignedInfo(signedResponse('response')).xml,
      error: 'Invalid signature, too many transforms',
    },
    {
      id: 'comment in DigestValue (CVE-2025-29775)',
      mode: 'assertion',
      xml: () => commentInDigestValue(signedResponse('assertion')).xml,
      error: /^Invalid signature$/,
    },
    {
      id: 'comment in DigestValue, response-signed',
      mode: 'response',
      xml: () => commentInDigestValue(signedResponse('response')).xml,
      error: 'Invalid document signature',
    },
    {
      id: 'hmac-sha1 SignatureMethod',
      mode: 'assertion',
      xml: () => hmacSignatureMethod(signedResponse('assertion')).xml,
      error: /^Invalid signature$/,
    },
    {
      id: 'tamper nameid',
      mode: 'assertion',
      xml: () => tamperByte(signedResponse('assertion'), 'nameid').xml,
      error: /^Invalid signature$/,
    },
    {
      id: 'tamper attribute',
      mode: 'assertion',
      xml: () => tamperByte(signedResponse('assertion'), 'attribute').xml,
      error: /^Invalid signature$/,
    },
    {
      id: 'tamper issuer',
      mode: 'response',
      xml: () => tamperByte(signedResponse('response'), 'issuer').xml,
      error: 'Invalid document signature',
    },
    {
      id: "attacker's key and cert in KeyInfo",
      mode: 'assertion',
      xml: () => idp.responseXml(input(), { signingKeys: attackerKeys }),
      error: /^Invalid signature$/,
    },
    {
      id: 'response-signed only, but assertions must be signed',
      mode: 'response',
      xml: () => signedResponse('response'),
      config: { wantAssertionsSigned: true },
      error: /^Invalid signature$/,
    },
    {
      id: 'encrypted but unsigned assertion',
      mode: 'assertion',
      xml: encrypted('none'),
      error: 'Invalid signature from encrypted assertion',
    },
    {
      id: 'expired',
      mode: 'assertion',
      xml: () => signedResponse('assertion', { now: new Date(Date.now() - 3600_000) }),
      error: 'SAML assertion expired',
    },
    {
      id: 'not yet valid',
      mode: 'assertion',
      xml: () => signedResponse('assertion', { now: new Date(Date.now() + 600_000) }),
      error: 'SAML assertion not yet valid',
    },
    {
      id: 'audience of another SP',
      mode: 'assertion',
      xml: () => signedResponse('assertion', { audience: 'https://other-sp.example/metadata' }),
      error: 'SAML assertion audience mismatch',
    },
    {
      id: "unsolicited, with validateInResponseTo 'always'",
      mode: 'assertion',
      xml: () => signedResponse('assertion'),
      config: { validateInResponseTo: ValidateInResponseTo.always },
      error: 'InResponseTo is missing from response',
    },
  ])('$id', async ({ mode, xml, config, error }) => {
    // xml-encryption warns about rsa-1_5 on every decryption.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await expect(postToNodeSaml(mode, await xml(), config)).rejects.toThrow(error);
    } finally {
      warn.mockRestore();
    }
  });

  // Not node-saml: Node 20 (from 20.11) refuses RSA_PKCS1_PADDING private decryption (CVE-2023-46809), but
  // Node 24 performs it (CI runs this on both), so on Node 24 node-saml accepts rsa-1_5 key transport on its
  // own. The bridge refuses it itself on every runtime (saml_encryption_algorithm_forbidden:
  // acs-checks.spec.ts, saml-attacks.api.spec.ts).
  test('rsa-1_5 key transport: refused only where the Node runtime refuses PKCS#1 v1.5 decryption', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const outcome = postToNodeSaml(
        'assertion',
        await encrypted('assertion', { keyAlgorithm: 'rsa-1_5' })(),
      );
      if (runtimeRefusesPkcs1Decryption(spKeys)) {
        await expect(outcome).rejects.toThrow(
          'RSA_PKCS1_PADDING is no longer supported for private decryption',
        );
      } else {
        await expect(outcome).resolves.toMatchObject({ profile: { nameID: expect.any(String) } });
      }
    } finally {
      warn.mockRestore();
    }
  });

  test('an error status is reported as SamlStatusError, signed or not', async () => {
    const xml = signedResponse('response', { statusCode: 'AuthnFailed' });
    await expect(postToNodeSaml('response', xml)).rejects.toBeInstanceOf(SamlStatusError);
    await expect(postToNodeSaml('response', xml)).rejects.toThrow(
      'SAML provider returned Responder error: AuthnFailed',
    );
  });

  test('comment injection is not exploitable: node-saml reads the signed (comment-free) bytes', async () => {
    for (const mode of ['assertion', 'response'] as const) {
      const vector = commentInjection(signedResponse(mode));
      expect(vector.xml).toContain('admin@victim.com<!---->.evil.com');
      const { profile } = await postToNodeSaml(mode, vector.xml);
      // Accepted (the signature is genuinely valid), and the identity is the full, genuine NameID.
      expect(profile?.nameID).not.toBe('admin@victim.com');
      expect(profile?.nameID).toBe('admin@victim.com.evil.com');
    }
  });
});

describe('gaps our policy layer must close: node-saml 5.1.0 accepts these', () => {
  const encrypted = (dataAlgorithm: 'aes256-cbc' | 'aes128-cbc' | 'tripledes-cbc') => (): Promise<string> =>
    idp.responseXmlAsync(input(), { encrypt: { spCertificatePem: spKeys.certificatePem, dataAlgorithm } });

  test.each<Case>([
    {
      id: 'Destination of another endpoint',
      mode: 'both',
      xml: () => signedResponse('both', { destination: 'https://evil.example/acs' }),
    },
    {
      id: 'no Destination on a signed Response',
      mode: 'both',
      xml: () => signedResponse('both', { destination: null }),
    },
    {
      id: 'Recipient of another endpoint',
      mode: 'assertion',
      xml: () => signedResponse('assertion', { recipient: 'https://evil.example/acs' }),
    },
    {
      id: 'Issuer of another IdP (signed with the trusted key)',
      mode: 'both',
      xml: () => signedResponse('both', { issuer: 'https://other-idp.example/metadata' }),
    },
    {
      id: 'SubjectConfirmation Method holder-of-key (not bearer)',
      mode: 'assertion',
      xml: () =>
        signedResponse('assertion', { confirmationMethod: 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key' }),
    },
    {
      id: 'SessionNotOnOrAfter in the past',
      mode: 'assertion',
      xml: () => signedResponse('assertion', { sessionNotOnOrAfter: new Date(Date.now() - 60_000) }),
    },
    {
      id: 'IssueInstant 2 h old (long NotOnOrAfter, maxAssertionAgeMs unset)',
      mode: 'assertion',
      xml: () =>
        signedResponse('assertion', { now: new Date(Date.now() - 7200_000), lifetimeSeconds: 3 * 3600 }),
    },
    {
      id: 'unsolicited / InResponseTo unchecked (validateInResponseTo never, the default)',
      mode: 'assertion',
      xml: () => signedResponse('assertion', { inResponseTo: '_never-issued' }),
    },
    {
      id: 'rsa-sha1 signature with sha1 digest',
      mode: 'both',
      xml: () =>
        idp.responseXml(input(), { sign: 'both', signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1' }),
    },
    {
      id: 'DOCTYPE with external DTD',
      mode: 'assertion',
      xml: () => withDoctype(signedResponse('assertion'), 'external-dtd').xml,
    },
    {
      id: 'ds:Object with an evil copy (assertion-signed)',
      mode: 'assertion',
      xml: () => dsObjectWrap(signedResponse('assertion')).xml,
    },
    {
      id: 'ds:Object with an evil copy (response-signed)',
      mode: 'response',
      xml: () => dsObjectWrap(signedResponse('response')).xml,
    },
    { id: 'aes256-cbc encryption', mode: 'assertion', xml: encrypted('aes256-cbc') },
    { id: 'aes128-cbc encryption', mode: 'assertion', xml: encrypted('aes128-cbc') },
    { id: 'tripledes-cbc encryption', mode: 'assertion', xml: encrypted('tripledes-cbc') },
  ])('$id', async ({ mode, xml, config }) => {
    // xml-encryption warns about 3DES on every decryption.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const result = await postToNodeSaml(mode, await xml(), config);
      expect(result.loggedOut).toBe(false);
      // In every case the identity is still the genuine one: these are policy gaps, not forgeries.
      expect(result.profile?.nameID).toBe(USER);
    } finally {
      warn.mockRestore();
    }
  });

  test('replay: the same response is accepted twice (node-saml keeps no assertion-ID cache)', async () => {
    const saml = nodeSaml('assertion');
    const body = idp.postBinding(signedResponse('assertion'));
    await expect(saml.validatePostResponseAsync(body)).resolves.toMatchObject({ profile: { nameID: USER } });
    await expect(saml.validatePostResponseAsync(body)).resolves.toMatchObject({ profile: { nameID: USER } });
  });

  test('an unsigned Redirect-binding LogoutRequest is accepted (validateRedirectAsync checks a Signature only if present)', async () => {
    const query = idp.redirectBindingQuery(
      'SAMLRequest',
      idp.logoutRequestXml({ spEntityId: SP_ENTITY_ID, destination: SLO_URL, nameId: USER }),
    );
    await expect(
      nodeSaml('response', { idpIssuer: idp.entityId }).validateRedirectAsync(parseQuery(query), query),
    ).resolves.toMatchObject({ loggedOut: true, profile: { nameID: USER } });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Bindings and size
// ---------------------------------------------------------------------------------------------------------

describe('redirectBindingQuery', () => {
  test.each<['rsa-sha256' | 'rsa-sha1', string]>([
    ['rsa-sha256', 'RSA-SHA256'],
    ['rsa-sha1', 'RSA-SHA1'],
  ])('%s: the Signature verifies with node crypto over the exact octets', (sigAlg, nodeAlg) => {
    const xml = idp.logoutRequestXml({ spEntityId: SP_ENTITY_ID, destination: SLO_URL, nameId: USER });
    const relayState = 'https://sp.test.example/after?x=1&y=2 3';
    const query = idp.redirectBindingQuery('SAMLRequest', xml, relayState, { sign: true, sigAlg });
    expect(query.startsWith('?')).toBe(false);
    const at = query.indexOf('&Signature=');
    const signedOctets = query.slice(0, at);
    expect(signedOctets.split('&').map((p) => p.split('=')[0])).toEqual([
      'SAMLRequest',
      'RelayState',
      'SigAlg',
    ]);
    const params = parseQuery(query);
    expect(params.RelayState).toBe(relayState);
    expect(params.SigAlg).toBe(SIGNATURE_ALGORITHMS[sigAlg]);
    expect(
      inflateRawSync(Buffer.from(need(params.SAMLRequest, 'SAMLRequest'), 'base64')).toString('utf8'),
    ).toBe(xml);
    const signature = decodeURIComponent(query.slice(at + '&Signature='.length));
    expect(signature).toBe(params.Signature);
    const verify = (octets: string, certPem: string): boolean =>
      createVerify(nodeAlg).update(octets, 'utf8').verify(certPem, signature, 'base64');
    expect(verify(signedOctets, idpKeys.certificatePem)).toBe(true);
    expect(verify(signedOctets, attackerKeys.certificatePem)).toBe(false);
    expect(verify(signedOctets.replace('RelayState=', 'RelayState=x'), idpKeys.certificatePem)).toBe(false);
  });

  test('without signing there is no SigAlg or Signature, and RelayState is optional', () => {
    const xml = idp.logoutResponseXml({ destination: SLO_URL, inResponseTo: '_r', statusCode: 'Requester' });
    const query = idp.redirectBindingQuery('SAMLResponse', xml);
    expect(Object.keys(parseQuery(query))).toEqual(['SAMLResponse']);
    expect(
      inflateRawSync(Buffer.from(need(parseQuery(query).SAMLResponse, 'SAMLResponse'), 'base64')).toString(
        'utf8',
      ),
    ).toBe(xml);
    expect(xml).toContain('<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"/>');
  });
});

describe('size attacks', () => {
  test('deflateBomb inflates ~1000:1 to 50 MiB (> 10 MB) and trips an inflate cap', () => {
    const { SAMLRequest } = deflateBomb();
    const compressed = Buffer.from(SAMLRequest, 'base64');
    expect(compressed.length).toBeLessThan(100 * 1024);
    const inflated = inflateRawSync(compressed);
    expect(inflated.length).toBeGreaterThan(10 * 1024 * 1024);
    expect(inflated.length).toBeGreaterThanOrEqual(50 * 1024 * 1024);
    expect(inflated.subarray(0, 21).toString('utf8')).toBe('<samlp:LogoutRequest ');
    expect(inflated.subarray(inflated.length - 22).toString('utf8')).toBe('</samlp:LogoutRequest>');
    expect(() => inflateRawSync(compressed, { maxOutputLength: 1024 * 1024 })).toThrow(
      /larger than 1048576 bytes/,
    );
    expect(inflateRawSync(Buffer.from(deflateBomb(1).SAMLRequest, 'base64')).length).toBeLessThan(
      1.1 * 1024 * 1024,
    );
  });

  test('hugeBase64Response is a base64 string of exactly that many MiB', () => {
    const b64 = hugeBase64Response(2);
    expect(b64.length).toBe(2 * 1024 * 1024);
    expect(b64).toMatch(/^[A-Za-z0-9+/]+$/);
    const decoded = Buffer.from(b64, 'base64').toString('utf8');
    expect(decoded.startsWith('<samlp:Response ')).toBe(true);
    expect(decoded.endsWith('--></samlp:Response>')).toBe(true);
    expect(hugeBase64Response(0.25).length).toBe(256 * 1024);
  });
});

/** Whether this Node.js refuses RSA PKCS#1 v1.5 private decryption (CVE-2023-46809), probed with the key pair. */
function runtimeRefusesPkcs1Decryption(keys: TestKeyPair): boolean {
  const sealed = publicEncrypt(
    { key: keys.certificatePem, padding: constants.RSA_PKCS1_PADDING },
    Buffer.from('probe'),
  );
  try {
    privateDecrypt({ key: keys.privateKeyPem, padding: constants.RSA_PKCS1_PADDING }, sealed);
    return false;
  } catch (err) {
    if (/RSA_PKCS1_PADDING is no longer supported/.test((err as Error).message)) return true;
    throw err;
  }
}
