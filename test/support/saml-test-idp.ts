/**
 * A small SAML 2.0 identity provider for tests: it issues genuinely signed (xml-crypto) and optionally
 * encrypted (xml-encryption) Responses, LogoutRequests and LogoutResponses, its metadata, and the POST and
 * Redirect binding encodings of them.
 *
 * Deterministic where possible: with fixed `now`, `assertionId`, `responseId` and `sessionIndex`, the same
 * keys and no encryption, the output is byte-for-byte identical (RSA PKCS#1 v1.5 signatures are
 * deterministic). Encryption always uses a fresh random key and IV.
 *
 * Never use this outside tests: it signs whatever it is asked to sign.
 */
import { createSign, randomBytes, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { generateSelfSignedKeyPair } from '../../src/keys/certificate-factory';
import { SignedXml } from 'xml-crypto';
import { encrypt as xmlEncrypt, type EncryptionAlgorithm, type KeyEncryptionAlgorithm } from 'xml-encryption';

// ---------------------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------------------

export const SAMLP_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
export const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
export const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const XENC_NS = 'http://www.w3.org/2001/04/xmlenc#';
export const XS_NS = 'http://www.w3.org/2001/XMLSchema';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

export const BINDING_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
export const BINDING_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

export const NAMEID_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
export const NAMEID_TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
export const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
export const CM_BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
export const ATTRNAME_FORMAT_URI = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';
export const AUTHN_CONTEXT_PPT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';

export const STATUS_PREFIX = 'urn:oasis:names:tc:SAML:2.0:status:';
export const STATUS_SUCCESS = `${STATUS_PREFIX}Success`;
/** The only status codes SAML core §3.2.2.2 allows at the top level; any other one is nested under Responder. */
const TOP_LEVEL_STATUS = new Set(
  ['Success', 'Requester', 'Responder', 'VersionMismatch'].map((s) => STATUS_PREFIX + s),
);

export const C14N_EXC = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const TRANSFORM_ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

export const SIGNATURE_ALGORITHMS = {
  'rsa-sha1': 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  'rsa-sha256': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'rsa-sha512': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
} as const;
export type SignatureAlgorithmName = keyof typeof SIGNATURE_ALGORITHMS;

export const DIGEST_ALGORITHMS = {
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha512: 'http://www.w3.org/2001/04/xmlenc#sha512',
} as const;
export type DigestAlgorithmName = keyof typeof DIGEST_ALGORITHMS;

export const DATA_ENCRYPTION_ALGORITHMS = {
  'aes128-cbc': 'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  'aes256-cbc': 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'aes128-gcm': 'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'aes256-gcm': 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  'tripledes-cbc': 'http://www.w3.org/2001/04/xmlenc#tripledes-cbc',
} as const satisfies Record<string, EncryptionAlgorithm>;
export type DataEncryptionAlgorithmName = keyof typeof DATA_ENCRYPTION_ALGORITHMS;

export const KEY_ENCRYPTION_ALGORITHMS = {
  'rsa-oaep-mgf1p': 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
  'rsa-1_5': 'http://www.w3.org/2001/04/xmlenc#rsa-1_5',
} as const satisfies Record<string, KeyEncryptionAlgorithm>;
export type KeyEncryptionAlgorithmName = keyof typeof KEY_ENCRYPTION_ALGORITHMS;

/** Redirect-binding SigAlg URIs and the node:crypto algorithm that computes them. */
const REDIRECT_SIG_ALGS = {
  'rsa-sha256': { uri: SIGNATURE_ALGORITHMS['rsa-sha256'], node: 'RSA-SHA256' },
  'rsa-sha1': { uri: SIGNATURE_ALGORITHMS['rsa-sha1'], node: 'RSA-SHA1' },
} as const;

const DEFAULT_ENTITY_ID = 'https://idp.test.example/metadata';

// ---------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------

/** A fresh xs:ID: `_` followed by 40 hex digits (an NCName must not start with a digit). */
export function newSamlId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

/** ISO 8601 in UTC with whole seconds, as most IdPs emit it: `2026-01-02T03:04:05Z`. */
export function samlInstant(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('Invalid date');
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Escapes character data (text content). */
export function escapeXmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes an attribute value delimited by double quotes (whitespace escaped so it survives normalisation). */
export function escapeXmlAttr(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

function attrs(pairs: ReadonlyArray<readonly [string, string | undefined | null]>): string {
  return pairs
    .filter((p): p is readonly [string, string] => typeof p[1] === 'string')
    .map(([name, value]) => ` ${name}="${escapeXmlAttr(value)}"`)
    .join('');
}

function addSeconds(date: Date, seconds: number): Date {
  return new Date(date.getTime() + seconds * 1000);
}

function toPem(label: string, der: ArrayBuffer | Buffer): string {
  const b64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Normalises a certificate given as PEM or bare base64 (any whitespace) to PEM. */
export function certificateToPem(cert: string): string {
  if (cert.includes('-----BEGIN CERTIFICATE-----')) return cert;
  return toPem('CERTIFICATE', Buffer.from(cert.replace(/\s+/g, ''), 'base64'));
}

/** Normalises a certificate given as PEM or base64 to bare base64 without headers or whitespace. */
export function certificateToBase64(cert: string): string {
  return cert
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
    .replace(/\s+/g, '')
    .trim();
}

function statusCodeUri(code: string | undefined): string {
  if (code === undefined) return STATUS_SUCCESS;
  return code.includes(':') ? code : STATUS_PREFIX + code;
}

/** `<samlp:Status>`; a second-level code (e.g. AuthnFailed) is nested under Responder as SAML core requires. */
function statusXml(code: string | undefined): string {
  const uri = statusCodeUri(code);
  if (TOP_LEVEL_STATUS.has(uri) || !uri.startsWith(STATUS_PREFIX)) {
    return `<samlp:Status><samlp:StatusCode Value="${escapeXmlAttr(uri)}"/></samlp:Status>`;
  }
  return (
    `<samlp:Status><samlp:StatusCode Value="${STATUS_PREFIX}Responder">` +
    `<samlp:StatusCode Value="${escapeXmlAttr(uri)}"/></samlp:StatusCode></samlp:Status>`
  );
}

// ---------------------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------------------

export interface TestKeyPair {
  privateKeyPem: string;
  certificatePem: string;
  /** The DER certificate in base64, without PEM headers or newlines (as in metadata/KeyInfo). */
  certificateBase64: string;
}

/**
 * A fresh RSA key (2048 bits by default) and a self-signed X.509 certificate for it: the same factory the
 * bridge uses for SP keys. Nothing is cached: every call makes a new key.
 */
export async function generateTestKeyPair(
  commonName = 'SAML Test IdP',
  opts?: { bits?: number; notAfter?: Date },
): Promise<TestKeyPair> {
  const pair = await generateSelfSignedKeyPair(commonName, {
    bits: opts?.bits,
    now: new Date(Date.now() - 24 * 3600 * 1000),
    notAfter: opts?.notAfter ?? new Date(Date.now() + 365 * 24 * 3600 * 1000),
  });
  return { ...pair, certificateBase64: certificateToBase64(pair.certificatePem) };
}

// ---------------------------------------------------------------------------------------------------------
// Signing and encryption
// ---------------------------------------------------------------------------------------------------------

export interface SignRootOptions {
  keys: TestKeyPair;
  signatureAlgorithm?: SignatureAlgorithmName;
  digestAlgorithm?: DigestAlgorithmName;
  /** Put the signer's X509Certificate in ds:KeyInfo (default true). */
  includeKeyInfo?: boolean;
}

/**
 * Signs the document element of `xml` (which must carry an `ID` and a `saml:Issuer` child) with an
 * enveloped, exclusive-c14n signature placed right after that Issuer, as the SAML schema requires for
 * Response, Assertion, LogoutRequest and LogoutResponse.
 */
export function signRootElement(xml: string, opts: SignRootOptions): string {
  const includeKeyInfo = opts.includeKeyInfo ?? true;
  const sig = new SignedXml({
    privateKey: opts.keys.privateKeyPem,
    publicCert: includeKeyInfo ? opts.keys.certificatePem : undefined,
    signatureAlgorithm: SIGNATURE_ALGORITHMS[opts.signatureAlgorithm ?? 'rsa-sha256'],
    canonicalizationAlgorithm: C14N_EXC,
  });
  sig.addReference({
    xpath: '/*',
    transforms: [TRANSFORM_ENVELOPED, C14N_EXC],
    digestAlgorithm: DIGEST_ALGORITHMS[opts.digestAlgorithm ?? 'sha256'],
  });
  sig.computeSignature(xml, {
    prefix: 'ds',
    location: {
      reference: `/*/*[local-name(.)='Issuer' and namespace-uri(.)='${SAML_NS}']`,
      action: 'after',
    },
  });
  return sig.getSignedXml();
}

/**
 * Signs a metadata document (an EntityDescriptor, given an `ID` if it has none) with an enveloped
 * signature as its first child, as IdPs such as Entra ID and AD FS publish it.
 */
export function signMetadata(xml: string, keys: TestKeyPair): string {
  const withId = /^<md:EntityDescriptor[^>]*\sID="/.test(xml)
    ? xml
    : xml.replace(/^<md:EntityDescriptor/, `<md:EntityDescriptor ID="${newSamlId()}"`);
  const sig = new SignedXml({
    privateKey: keys.privateKeyPem,
    publicCert: keys.certificatePem,
    signatureAlgorithm: SIGNATURE_ALGORITHMS['rsa-sha256'],
    canonicalizationAlgorithm: C14N_EXC,
    idAttribute: 'ID',
  });
  sig.addReference({
    xpath: '/*',
    transforms: [TRANSFORM_ENVELOPED, C14N_EXC],
    digestAlgorithm: DIGEST_ALGORITHMS.sha256,
  });
  sig.computeSignature(withId, { prefix: 'ds', location: { reference: '/*', action: 'prepend' } });
  return sig.getSignedXml();
}

export interface EncryptionSpec {
  /** The SP's encryption certificate (PEM); the assertion key is wrapped with its public key. */
  spCertificatePem: string;
  dataAlgorithm?: DataEncryptionAlgorithmName;
  keyAlgorithm?: KeyEncryptionAlgorithmName;
}

/**
 * Encrypts a (typically already signed) `saml:Assertion` into `<saml:EncryptedAssertion>` with
 * xml-encryption. Defaults: aes256-gcm and rsa-oaep-mgf1p. Insecure algorithms are allowed on purpose.
 */
export async function encryptAssertion(assertionXml: string, spec: EncryptionSpec): Promise<string> {
  const spCertPem = certificateToPem(spec.spCertificatePem);
  const publicKeyPem = new NodeX509Certificate(spCertPem).publicKey.export({ type: 'spki', format: 'pem' });
  return await new Promise<string>((resolve, reject) => {
    xmlEncrypt(
      assertionXml,
      {
        rsa_pub: publicKeyPem,
        pem: spCertPem,
        encryptionAlgorithm: DATA_ENCRYPTION_ALGORITHMS[spec.dataAlgorithm ?? 'aes256-gcm'],
        keyEncryptionAlgorithm: KEY_ENCRYPTION_ALGORITHMS[spec.keyAlgorithm ?? 'rsa-oaep-mgf1p'],
        disallowEncryptionWithInsecureAlgorithm: false,
        warnInsecureAlgorithm: false,
      },
      // The typings say `Error`, but xml-encryption passes null on success.
      (err: Error | null, result: string) => {
        if (err) reject(err);
        else resolve(`<saml:EncryptedAssertion xmlns:saml="${SAML_NS}">${result}</saml:EncryptedAssertion>`);
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------------------
// The IdP
// ---------------------------------------------------------------------------------------------------------

export interface TestIdpOptions {
  /** Default 'https://idp.test.example/metadata'. */
  entityId?: string;
  /** Default: `/sso` on the entity ID's origin. */
  ssoUrl?: string;
  /** Default: `/slo` on the entity ID's origin. */
  sloUrl?: string;
  keys: TestKeyPair;
  /** More signing certificates (base64 or PEM) published in metadata, e.g. for a rollover. */
  extraSigningCerts?: string[];
  wantAuthnRequestsSigned?: boolean;
}

export interface AssertionInput {
  spEntityId: string;
  acsUrl: string;
  inResponseTo?: string;
  nameId: string;
  /** Default persistent. */
  nameIdFormat?: string;
  attributes?: Record<string, string | string[]>;
  /** Default: a fresh ID. */
  sessionIndex?: string;
  /** Default PasswordProtectedTransport. */
  authnContextClassRef?: string;
  /** Default `new Date()`. */
  now?: Date;
  /** AuthnStatement@AuthnInstant (default `now`): when the IdP says it authenticated the user. */
  authnInstant?: Date;
  /** Conditions@NotBefore = now - this (default 60). */
  notBeforeSkewSeconds?: number;
  /** Conditions@NotOnOrAfter and SubjectConfirmationData@NotOnOrAfter = now + this (default 300). */
  lifetimeSeconds?: number;
  sessionNotOnOrAfter?: Date;
  /** Issuer of the Response and the Assertion (default the IdP entity ID). */
  issuer?: string;
  assertionId?: string;
  responseId?: string;
  /** Response@Destination (default acsUrl; null = omit). */
  destination?: string | null;
  /** SubjectConfirmationData@Recipient (default acsUrl). */
  recipient?: string;
  /** Default spEntityId. */
  audience?: string;
  /** Default bearer. */
  confirmationMethod?: string;
  /** Full URN or the last segment (e.g. 'Requester', 'AuthnFailed'). Default Success. */
  statusCode?: string;
}

export type SignMode = 'assertion' | 'response' | 'both' | 'none';

export interface ResponseOptions {
  /** Default 'assertion'. */
  sign?: SignMode;
  /** Default rsa-sha256. */
  signatureAlgorithm?: SignatureAlgorithmName;
  /** Default sha256. */
  digestAlgorithm?: DigestAlgorithmName;
  /**
   * Encrypts the assertion (after signing it, when `sign` includes the assertion) into
   * saml:EncryptedAssertion; a Response signature is computed after encryption. Encryption is
   * asynchronous, so `responseXml` then returns a Promise.
   */
  encrypt?: EncryptionSpec;
  /** Sign with these keys instead of the IdP's (an attacker's key). */
  signingKeys?: TestKeyPair;
  /** Default true: the signer's certificate in ds:KeyInfo/X509Data. */
  includeKeyInfo?: boolean;
}

export interface LogoutRequestInput {
  spEntityId: string;
  destination: string;
  nameId: string;
  nameIdFormat?: string;
  sessionIndex?: string;
  id?: string;
  now?: Date;
  /** Default now + 300 s. */
  notOnOrAfter?: Date;
  issuer?: string;
}

export interface LogoutResponseInput {
  destination: string;
  inResponseTo: string;
  statusCode?: string;
  id?: string;
  now?: Date;
  issuer?: string;
}

interface ResponseParts {
  /** Response start tag through Status: the assertion (or nothing) and `</samlp:Response>` follow. */
  head: string;
  /** The assertion, already signed if requested; null for a non-success status. */
  assertion: string | null;
}

export class TestIdp {
  readonly entityId: string;
  readonly keys: TestKeyPair;
  readonly ssoUrl: string;
  readonly sloUrl: string;
  private readonly extraSigningCerts: readonly string[];
  private readonly wantAuthnRequestsSigned: boolean;

  constructor(opts: TestIdpOptions) {
    this.entityId = opts.entityId ?? DEFAULT_ENTITY_ID;
    this.keys = opts.keys;
    this.ssoUrl = opts.ssoUrl ?? TestIdp.endpoint(this.entityId, '/sso');
    this.sloUrl = opts.sloUrl ?? TestIdp.endpoint(this.entityId, '/slo');
    this.extraSigningCerts = (opts.extraSigningCerts ?? []).map(certificateToBase64);
    this.wantAuthnRequestsSigned = opts.wantAuthnRequestsSigned ?? false;
  }

  private static endpoint(entityId: string, path: string): string {
    try {
      return new URL(path, entityId).toString();
    } catch {
      return `https://idp.test.example${path}`;
    }
  }

  /** The IdP's SAML 2.0 metadata (unsigned EntityDescriptor). */
  metadataXml(): string {
    const certs = [this.keys.certificateBase64, ...this.extraSigningCerts];
    const keyDescriptors = certs
      .map(
        (c) =>
          `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${c}` +
          `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
      )
      .join('');
    const service = (name: string, binding: string, location: string): string =>
      `<md:${name}${attrs([
        ['Binding', binding],
        ['Location', location],
      ])}/>`;
    return (
      `<md:EntityDescriptor xmlns:md="${MD_NS}" xmlns:ds="${DS_NS}"${attrs([['entityID', this.entityId]])}>` +
      `<md:IDPSSODescriptor${attrs([
        ['WantAuthnRequestsSigned', String(this.wantAuthnRequestsSigned)],
        ['protocolSupportEnumeration', SAMLP_NS],
      ])}>` +
      keyDescriptors +
      service('SingleLogoutService', BINDING_REDIRECT, this.sloUrl) +
      service('SingleLogoutService', BINDING_POST, this.sloUrl) +
      `<md:NameIDFormat>${NAMEID_PERSISTENT}</md:NameIDFormat>` +
      `<md:NameIDFormat>${NAMEID_EMAIL}</md:NameIDFormat>` +
      service('SingleSignOnService', BINDING_REDIRECT, this.ssoUrl) +
      service('SingleSignOnService', BINDING_POST, this.ssoUrl) +
      `</md:IDPSSODescriptor></md:EntityDescriptor>`
    );
  }

  /** An unsigned `saml:Assertion` with every element a web-SSO assertion normally has. */
  assertionXml(input: AssertionInput): string {
    const now = input.now ?? new Date();
    const notOnOrAfter = samlInstant(addSeconds(now, input.lifetimeSeconds ?? 300));
    const issuer = input.issuer ?? this.entityId;
    const format = input.nameIdFormat ?? NAMEID_PERSISTENT;
    const attributes = Object.entries(input.attributes ?? {});
    const attributeStatement =
      attributes.length === 0
        ? ''
        : '<saml:AttributeStatement>' +
          attributes
            .map(
              ([name, value]) =>
                `<saml:Attribute${attrs([
                  ['Name', name],
                  ['NameFormat', ATTRNAME_FORMAT_URI],
                ])}>` +
                (Array.isArray(value) ? value : [value])
                  .map(
                    (v) =>
                      `<saml:AttributeValue xsi:type="xs:string">${escapeXmlText(v)}</saml:AttributeValue>`,
                  )
                  .join('') +
                '</saml:Attribute>',
            )
            .join('') +
          '</saml:AttributeStatement>';
    return (
      `<saml:Assertion xmlns:saml="${SAML_NS}" xmlns:xs="${XS_NS}" xmlns:xsi="${XSI_NS}"${attrs([
        ['ID', input.assertionId ?? newSamlId()],
        ['Version', '2.0'],
        ['IssueInstant', samlInstant(now)],
      ])}>` +
      `<saml:Issuer>${escapeXmlText(issuer)}</saml:Issuer>` +
      '<saml:Subject>' +
      nameIdXml(input.nameId, format, input.spEntityId) +
      `<saml:SubjectConfirmation${attrs([['Method', input.confirmationMethod ?? CM_BEARER]])}>` +
      `<saml:SubjectConfirmationData${attrs([
        ['NotOnOrAfter', notOnOrAfter],
        ['Recipient', input.recipient ?? input.acsUrl],
        ['InResponseTo', input.inResponseTo],
      ])}/>` +
      '</saml:SubjectConfirmation></saml:Subject>' +
      `<saml:Conditions${attrs([
        ['NotBefore', samlInstant(addSeconds(now, -(input.notBeforeSkewSeconds ?? 60)))],
        ['NotOnOrAfter', notOnOrAfter],
      ])}>` +
      `<saml:AudienceRestriction><saml:Audience>${escapeXmlText(input.audience ?? input.spEntityId)}` +
      '</saml:Audience></saml:AudienceRestriction></saml:Conditions>' +
      `<saml:AuthnStatement${attrs([
        ['AuthnInstant', samlInstant(input.authnInstant ?? now)],
        ['SessionIndex', input.sessionIndex ?? newSamlId()],
        [
          'SessionNotOnOrAfter',
          input.sessionNotOnOrAfter ? samlInstant(input.sessionNotOnOrAfter) : undefined,
        ],
      ])}>` +
      '<saml:AuthnContext><saml:AuthnContextClassRef>' +
      escapeXmlText(input.authnContextClassRef ?? AUTHN_CONTEXT_PPT) +
      '</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>' +
      attributeStatement +
      '</saml:Assertion>'
    );
  }

  /**
   * A full `samlp:Response`, signed and/or encrypted per `opts`. Without `opts.encrypt` it returns the XML;
   * with it, a Promise of the XML (xml-encryption is asynchronous). `responseXmlAsync` always returns a
   * Promise. A non-Success `statusCode` yields a Response without an assertion.
   */
  responseXml(input: AssertionInput, opts: ResponseOptions & { encrypt: EncryptionSpec }): Promise<string>;
  responseXml(input: AssertionInput, opts?: ResponseOptions & { encrypt?: undefined }): string;
  responseXml(input: AssertionInput, opts?: ResponseOptions): string | Promise<string>;
  responseXml(input: AssertionInput, opts: ResponseOptions = {}): string | Promise<string> {
    const parts = this.responseParts(input, opts);
    const encrypt = opts.encrypt;
    if (encrypt !== undefined && parts.assertion !== null) {
      return encryptAssertion(parts.assertion, encrypt).then((encrypted) =>
        this.finishResponse(parts.head, encrypted, opts),
      );
    }
    const xml = this.finishResponse(parts.head, parts.assertion, opts);
    return encrypt !== undefined ? Promise.resolve(xml) : xml;
  }

  /** Same as `responseXml`, always asynchronous. */
  async responseXmlAsync(input: AssertionInput, opts: ResponseOptions = {}): Promise<string> {
    return this.responseXml(input, opts);
  }

  /** HTTP-POST binding form fields. */
  postBinding(xml: string): { SAMLResponse: string } {
    return { SAMLResponse: Buffer.from(xml, 'utf8').toString('base64') };
  }

  /** A `samlp:LogoutRequest`; with `sign`, an enveloped signature (for the POST binding). */
  logoutRequestXml(input: LogoutRequestInput, opts?: { sign?: boolean }): string {
    const now = input.now ?? new Date();
    const xml =
      `<samlp:LogoutRequest xmlns:samlp="${SAMLP_NS}" xmlns:saml="${SAML_NS}"${attrs([
        ['ID', input.id ?? newSamlId()],
        ['Version', '2.0'],
        ['IssueInstant', samlInstant(now)],
        ['Destination', input.destination],
        ['NotOnOrAfter', samlInstant(input.notOnOrAfter ?? addSeconds(now, 300))],
      ])}>` +
      `<saml:Issuer>${escapeXmlText(input.issuer ?? this.entityId)}</saml:Issuer>` +
      nameIdXml(input.nameId, input.nameIdFormat ?? NAMEID_PERSISTENT, input.spEntityId) +
      (input.sessionIndex === undefined
        ? ''
        : `<samlp:SessionIndex>${escapeXmlText(input.sessionIndex)}</samlp:SessionIndex>`) +
      '</samlp:LogoutRequest>';
    return opts?.sign ? signRootElement(xml, { keys: this.keys }) : xml;
  }

  /** A `samlp:LogoutResponse`; with `sign`, an enveloped signature (for the POST binding). */
  logoutResponseXml(input: LogoutResponseInput, opts?: { sign?: boolean }): string {
    const xml =
      `<samlp:LogoutResponse xmlns:samlp="${SAMLP_NS}" xmlns:saml="${SAML_NS}"${attrs([
        ['ID', input.id ?? newSamlId()],
        ['Version', '2.0'],
        ['IssueInstant', samlInstant(input.now ?? new Date())],
        ['Destination', input.destination],
        ['InResponseTo', input.inResponseTo],
      ])}>` +
      `<saml:Issuer>${escapeXmlText(input.issuer ?? this.entityId)}</saml:Issuer>` +
      statusXml(input.statusCode) +
      '</samlp:LogoutResponse>';
    return opts?.sign ? signRootElement(xml, { keys: this.keys }) : xml;
  }

  /**
   * HTTP-Redirect binding query string (without '?'): DEFLATE (raw) + base64 + URL-encoding. With `sign`,
   * the exact octets `SAMLRequest=…&RelayState=…&SigAlg=…` (bindings §3.4.4.1) are signed with the IdP key.
   * The XML should not carry an enveloped signature of its own.
   */
  redirectBindingQuery(
    kind: 'SAMLRequest' | 'SAMLResponse',
    xml: string,
    relayState?: string,
    opts?: { sign?: boolean; sigAlg?: 'rsa-sha256' | 'rsa-sha1' },
  ): string {
    let query = `${kind}=${encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`;
    if (relayState !== undefined) query += `&RelayState=${encodeURIComponent(relayState)}`;
    if (!opts?.sign) return query;
    const alg = REDIRECT_SIG_ALGS[opts.sigAlg ?? 'rsa-sha256'];
    query += `&SigAlg=${encodeURIComponent(alg.uri)}`;
    const signature = createSign(alg.node).update(query, 'utf8').sign(this.keys.privateKeyPem, 'base64');
    return `${query}&Signature=${encodeURIComponent(signature)}`;
  }

  private responseParts(input: AssertionInput, opts: ResponseOptions): ResponseParts {
    const now = input.now ?? new Date();
    const status = statusCodeUri(input.statusCode);
    const head =
      `<samlp:Response xmlns:samlp="${SAMLP_NS}" xmlns:saml="${SAML_NS}"${attrs([
        ['ID', input.responseId ?? newSamlId()],
        ['Version', '2.0'],
        ['IssueInstant', samlInstant(now)],
        ['Destination', input.destination === undefined ? input.acsUrl : input.destination],
        ['InResponseTo', input.inResponseTo],
      ])}>` +
      `<saml:Issuer>${escapeXmlText(input.issuer ?? this.entityId)}</saml:Issuer>` +
      statusXml(status);
    if (status !== STATUS_SUCCESS) return { head, assertion: null };
    const sign = opts.sign ?? 'assertion';
    let assertion = this.assertionXml({ ...input, now });
    if (sign === 'assertion' || sign === 'both')
      assertion = signRootElement(assertion, this.signOptions(opts));
    return { head, assertion };
  }

  private finishResponse(head: string, assertion: string | null, opts: ResponseOptions): string {
    const xml = `${head}${assertion ?? ''}</samlp:Response>`;
    const sign = opts.sign ?? 'assertion';
    return sign === 'response' || sign === 'both' ? signRootElement(xml, this.signOptions(opts)) : xml;
  }

  private signOptions(opts: ResponseOptions): SignRootOptions {
    return {
      keys: opts.signingKeys ?? this.keys,
      signatureAlgorithm: opts.signatureAlgorithm,
      digestAlgorithm: opts.digestAlgorithm,
      includeKeyInfo: opts.includeKeyInfo,
    };
  }
}

/** `saml:NameID`; persistent and transient identifiers are qualified with the SP's entity ID. */
function nameIdXml(nameId: string, format: string, spEntityId: string): string {
  const qualified = format === NAMEID_PERSISTENT || format === NAMEID_TRANSIENT;
  return `<saml:NameID${attrs([
    ['Format', format],
    ['SPNameQualifier', qualified ? spEntityId : undefined],
  ])}>${escapeXmlText(nameId)}</saml:NameID>`;
}
