import { X509Certificate } from 'node:crypto';
import type { Document, Element, Node } from 'xmldom-0.9';
import { SignedXml } from 'xml-crypto';
import { soleItem } from '../../common/defined';
import { attribute, childElements, parseXsDateTime } from '../../common/xml-dom';
import { MetadataError, type MetadataErrorCode } from './metadata.errors';
import {
  DEFAULT_MAX_XML_BYTES,
  XmlSafetyError,
  type XmlSafetyErrorCode,
  assertNoDoctype,
  assertXmlSize,
  decodeXmlBytes,
  parseXmlStrict,
} from '../../common/xml-safety';

/**
 * SAML 2.0 IdP metadata → the few facts a SAML SP needs (entity ID, SSO/SLO endpoints, signing certificates).
 *
 * Elements are selected by namespace URI + local name only (never by prefix), and only the IDPSSODescriptor
 * of the SAML 2.0 metadata namespace is read: WS-Federation RoleDescriptors (Entra ID, AD FS),
 * SPSSODescriptors and AttributeAuthorityDescriptors next to it are ignored.
 */

export const SAML_BINDINGS = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
  postSimpleSign: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST-SimpleSign',
  artifact: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact',
  soap: 'urn:oasis:names:tc:SAML:2.0:bindings:SOAP',
  paos: 'urn:oasis:names:tc:SAML:2.0:bindings:PAOS',
} as const;

export interface IdpEndpoint {
  /** Full binding URN, e.g. {@link SAML_BINDINGS.redirect}. */
  binding: string;
  location: string;
  responseLocation?: string;
}

export interface IdpCertificate {
  /** Normalised PEM: 64-character lines, no whitespace inside the base64. */
  pem: string;
  /** Uppercase hex with colons, as node's `X509Certificate.fingerprint256`. */
  fingerprintSha256: string;
  subject: string;
  issuer: string;
  /** ISO 8601. */
  notBefore: string;
  /** ISO 8601. */
  notAfter: string;
  serialNumber: string;
  /** A KeyDescriptor without `use` is for both. */
  use: 'signing' | 'encryption' | 'both';
}

export interface ParsedIdpMetadata {
  entityId: string;
  /** SingleSignOnService, in document order (exact duplicates removed). */
  ssoEndpoints: IdpEndpoint[];
  /** SingleLogoutService, in document order (exact duplicates removed). */
  sloEndpoints: IdpEndpoint[];
  /** Every certificate usable for signing (use="signing" or no use), deduplicated by fingerprint. */
  signingCertificates: IdpCertificate[];
  encryptionCertificates: IdpCertificate[];
  wantAuthnRequestsSigned: boolean;
  nameIdFormats: string[];
  /** ISO; the earliest validUntil of the chosen entity, its IDPSSODescriptor and enclosing EntitiesDescriptors. */
  validUntil?: string;
  /** The shortest applicable cacheDuration, in seconds. */
  cacheDurationSeconds?: number;
  signature: 'absent' | 'present-unverified' | 'verified';
  /** entityIDs of every EntityDescriptor in the document that has a SAML 2.0 IDPSSODescriptor. */
  availableEntityIds: string[];
  /** Machine-readable notes, e.g. 'valid_until_passed'. */
  warnings: string[];
}

export interface ParseIdpMetadataOptions {
  /** Choose this EntityDescriptor in an EntitiesDescriptor. */
  entityId?: string;
  /**
   * When given, the document must carry one enveloped signature on its root element that verifies with
   * this certificate (PEM or bare base64); the data is then read only from the signed bytes.
   */
  pinnedCertificatePem?: string;
  /** Default {@link DEFAULT_MAX_XML_BYTES}. */
  maxBytes?: number;
  /** Default `new Date()`; only used for warnings. */
  now?: Date;
}

const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const NODE_ELEMENT = 1;

const WHERE_METADATA_IS =
  '(in Okta: Applications → your app → Sign On → Metadata URL; ' +
  'in Microsoft Entra ID: Enterprise applications → your app → Single sign-on → SAML Certificates → ' +
  'Federation Metadata XML; in AD FS: https://<your AD FS host>/FederationMetadata/2007-06/FederationMetadata.xml; ' +
  'in Google Workspace: Admin console → Apps → Web and mobile apps → your app → Download metadata)';
const WHERE_TO_DOWNLOAD = `Download the metadata of your identity provider ${WHERE_METADATA_IS}.`;

// ---------------------------------------------------------------------------------------------------------
// DOM helpers (namespace URI + local name only)

function describe(el: Element): string {
  return el.namespaceURI ? `<${el.localName}> (namespace ${el.namespaceURI})` : `<${el.localName}>`;
}

// ---------------------------------------------------------------------------------------------------------
// Certificates

/** Real certificates are 1–4 KB of base64; the bound also keeps the PEM regex cheap on hostile input. */
const MAX_CERTIFICATE_CHARS = 64 * 1024;

function toPem(der: Buffer): string {
  const b64 = der.toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function certificateInvalid(message: string, details?: Record<string, unknown>): MetadataError {
  return new MetadataError('metadata_certificate_invalid', message, details);
}

function extractCertificateBase64(input: string): string {
  const text = input.replace(/\\r|\\n/g, '\n').trim();
  let body = text;
  if (text.includes('-----BEGIN')) {
    const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)].map(
      ([, label = '', content = '']) => ({ label, content }),
    );
    const certs = blocks.filter((b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE');
    const [onlyCert] = certs;
    if (onlyCert === undefined) {
      const labels = blocks.map((b) => b.label);
      if (labels.some((l) => l.includes('PRIVATE KEY'))) {
        throw certificateInvalid(
          'This is a PRIVATE KEY, not a certificate. Never share a private key: revoke it if it was exposed, ' +
            'and provide the X.509 signing certificate of your identity provider (BEGIN CERTIFICATE).',
        );
      }
      throw certificateInvalid(
        labels.length > 0
          ? `This PEM holds a ${labels[0]}, not an X.509 certificate. Provide the identity provider's signing certificate (-----BEGIN CERTIFICATE-----).`
          : 'The PEM is incomplete: it has a BEGIN line without a matching END CERTIFICATE line. Copy the whole certificate.',
      );
    }
    if (certs.length > 1) {
      throw certificateInvalid(
        `The PEM holds ${certs.length} certificates; provide only the identity provider's signing certificate.`,
      );
    }
    body = onlyCert.content;
  }
  const b64 = body.replace(/\s+/g, '');
  if (b64 === '') throw certificateInvalid('The certificate is empty.');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw certificateInvalid(
      'The certificate is not valid base64 (it contains characters such as quotes, dashes or spaces in the wrong place). ' +
        'Copy the certificate again from your identity provider.',
    );
  }
  return b64;
}

function isoFromOpensslDate(value: string, which: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw certificateInvalid(`The certificate's ${which} date (${value}) cannot be read.`);
  return new Date(t).toISOString();
}

/** PEM or bare base64 (whitespace allowed) → a normalised summary. Throws `metadata_certificate_invalid`. */
export function summarizeCertificate(
  pemOrBase64: string,
  use: IdpCertificate['use'] = 'signing',
): IdpCertificate {
  if (pemOrBase64.length > MAX_CERTIFICATE_CHARS) {
    throw certificateInvalid(
      `The certificate is ${pemOrBase64.length} characters long; an X.509 certificate is a few kilobytes. ` +
        "Provide only the identity provider's signing certificate.",
    );
  }
  const b64 = extractCertificateBase64(pemOrBase64);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(b64, 'base64'));
  } catch (err) {
    throw certificateInvalid(
      'The certificate is not a readable DER-encoded X.509 certificate. Copy the complete certificate ' +
        '(the base64 text between BEGIN CERTIFICATE and END CERTIFICATE, or the content of <ds:X509Certificate>) ' +
        'from your identity provider.',
      { reason: err instanceof Error ? err.message : String(err) },
    );
  }
  return {
    pem: toPem(cert.raw),
    fingerprintSha256: cert.fingerprint256,
    subject: cert.subject.split('\n').join(', '),
    issuer: cert.issuer.split('\n').join(', '),
    notBefore: isoFromOpensslDate(cert.validFrom, 'start of validity'),
    notAfter: isoFromOpensslDate(cert.validTo, 'end of validity'),
    serialNumber: cert.serialNumber.toUpperCase(),
    use,
  };
}

// ---------------------------------------------------------------------------------------------------------
// xs:duration and xs:dateTime

/**
 * xs:duration → seconds (a year counts 365 days, a month 30). Returns undefined for anything that is not
 * a non-negative xs:duration.
 */
export function parseXsDurationSeconds(value: string): number | undefined {
  const m =
    /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?!$)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(
      value.trim(),
    );
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  const n = (v: string | undefined): number => (v === undefined ? 0 : Number(v));
  const seconds = n(y) * 365 * 86400 + n(mo) * 30 * 86400 + n(d) * 86400 + n(h) * 3600 + n(mi) * 60 + n(s);
  return Number.isFinite(seconds) ? seconds : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Errors

const SAFETY_CODES: Record<XmlSafetyErrorCode, MetadataErrorCode> = {
  empty: 'metadata_empty',
  too_large: 'metadata_too_large',
  doctype_forbidden: 'metadata_doctype_forbidden',
  malformed_xml: 'metadata_malformed_xml',
  too_complex: 'metadata_too_complex',
};

function fromSafetyError(err: XmlSafetyError, maxBytes: number): MetadataError {
  const code = SAFETY_CODES[err.code];
  switch (err.code) {
    case 'empty':
      return new MetadataError(
        code,
        'The metadata is empty. Upload the XML file or paste the whole document, which starts with ' +
          '<EntityDescriptor (or <md:EntityDescriptor). ' +
          WHERE_TO_DOWNLOAD,
      );
    case 'too_large':
      return new MetadataError(
        code,
        `The metadata is larger than the ${Math.round(maxBytes / 1024)} KB limit. The metadata of one identity ` +
          'provider is normally under 100 KB: if this is a federation-wide aggregate (e.g. InCommon, eduGAIN), ' +
          'download the metadata of your identity provider only.',
        { maxBytes, reason: err.message },
      );
    case 'doctype_forbidden':
      return new MetadataError(
        code,
        'The metadata contains a DOCTYPE or ENTITY declaration, which is refused for security reasons ' +
          '(XML external entity and entity-expansion attacks). Metadata published by identity providers never ' +
          'contains one: download it again directly from your identity provider.',
        { reason: err.message },
      );
    case 'too_complex':
      return new MetadataError(
        code,
        `The metadata is too complex to process safely (${err.message.replace(/^The XML is too complex: /, '').replace(/\.$/, '')}). ` +
          'Real IdP metadata is small and shallow: download the metadata of your identity provider only.',
        { reason: err.message },
      );
    case 'malformed_xml':
      return new MetadataError(
        code,
        `The metadata is not well-formed XML: ${err.message.replace(/^The XML is not well-formed: /, '').replace(/\.?$/, '.')} ` +
          'The file may be truncated, re-encoded or edited by hand; download it again from your identity provider ' +
          'rather than copying it from a web page.',
        { reason: err.message },
      );
  }
}

function notSaml(message: string, details?: Record<string, unknown>): MetadataError {
  return new MetadataError('metadata_not_saml', message, details);
}

function signatureInvalid(message: string, details?: Record<string, unknown>): MetadataError {
  return new MetadataError('metadata_signature_invalid', message, details);
}

// ---------------------------------------------------------------------------------------------------------
// Signature

const SHA1_URIS = new Set([
  'http://www.w3.org/2000/09/xmldsig#sha1',
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  'http://www.w3.org/2000/09/xmldsig#dsa-sha1',
  'http://www.w3.org/2000/09/xmldsig#hmac-sha1',
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1',
]);

function isSha1(uri: string | undefined): boolean {
  return uri !== undefined && (SHA1_URIS.has(uri.trim()) || /sha-?1$/i.test(uri.trim()));
}

function readPinnedCertificate(pem: string): string {
  try {
    return summarizeCertificate(pem, 'signing').pem;
  } catch (err) {
    if (err instanceof MetadataError) {
      throw new MetadataError(
        'metadata_certificate_invalid',
        `The pinned certificate used to verify the metadata signature is unusable: ${err.message}`,
        { ...err.details, certificate: 'pinned' },
      );
    }
    throw err;
  }
}

/**
 * Verifies the one enveloped signature on the root element with the pinned certificate (never KeyInfo) and
 * returns a document re-parsed from the bytes that the signature covers, so nothing unsigned is ever read.
 */
function verifyAndExtractSignedDocument(doc: Document, text: string, pinnedPem: string): Document {
  const root = doc.documentElement as Element;
  const allSignatures = doc.getElementsByTagNameNS(DS_NS, 'Signature');
  const rootSignatures = childElements(root, DS_NS, 'Signature');
  const [signature] = rootSignatures;
  if (signature === undefined) {
    throw new MetadataError(
      'metadata_signature_missing',
      allSignatures.length > 0
        ? 'The metadata is not signed as a whole: its root element carries no signature (only inner elements do). ' +
            'Signature verification is enabled for this connection, so the whole document must be signed by the pinned ' +
            'certificate. Download the signed metadata from your identity provider, or turn signature verification off.'
        : 'The metadata is not signed, but signature verification is enabled for this connection. Download the ' +
            'signed metadata from your identity provider (Microsoft Entra ID and AD FS sign their federation metadata), ' +
            'or turn signature verification off and check the certificates manually.',
    );
  }
  if (rootSignatures.length > 1 || allSignatures.length > 1) {
    throw signatureInvalid(
      `The metadata contains ${allSignatures.length} signatures; exactly one, on the root element, is accepted. ` +
        'Download the metadata again directly from your identity provider.',
    );
  }
  const signedInfo = soleItem(childElements(signature, DS_NS, 'SignedInfo'));
  if (signedInfo === undefined) {
    throw signatureInvalid('The metadata signature is malformed: it must contain exactly one SignedInfo.');
  }
  const references = childElements(signedInfo, DS_NS, 'Reference');
  const reference = soleItem(references);
  if (reference === undefined) {
    throw signatureInvalid(
      `The metadata signature has ${references.length} references; exactly one, covering the whole document, is accepted.`,
    );
  }
  const uri = attribute(reference, 'URI') ?? '';
  const rootId = attribute(root, 'ID');
  if (uri !== '' && (rootId === undefined || uri !== `#${rootId}`)) {
    throw signatureInvalid(
      `The metadata signature does not cover the whole document: it references "${uri}" but the root element's ID is ` +
        `${rootId === undefined ? 'missing' : `"${rootId}"`}.`,
      { referenceUri: uri, rootId },
    );
  }
  const signatureMethod = childElements(signedInfo, DS_NS, 'SignatureMethod')
    .map((e) => attribute(e, 'Algorithm'))
    .at(0);
  const digestMethod = childElements(reference, DS_NS, 'DigestMethod')
    .map((e) => attribute(e, 'Algorithm'))
    .at(0);
  if (isSha1(signatureMethod) || isSha1(digestMethod)) {
    throw signatureInvalid(
      'The metadata is signed with SHA-1, which is no longer accepted because SHA-1 signatures can be forged. ' +
        'Configure your identity provider to sign with RSA-SHA256 (in AD FS: Set-AdfsRelyingPartyTrust ' +
        '-SignatureAlgorithm http://www.w3.org/2001/04/xmldsig-more#rsa-sha256) and download the metadata again.',
      { signatureMethod, digestMethod },
    );
  }

  const verifier = new SignedXml({ publicCert: pinnedPem, getCertFromKeyInfo: () => null });
  let valid: boolean;
  try {
    // xml-crypto types its parameter with the global DOM `Node`; an @xmldom/xmldom element is what it uses at run time.
    verifier.loadSignature(signature as unknown as Parameters<SignedXml['loadSignature']>[0]);
    valid = verifier.checkSignature(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw signatureInvalid(
      'The metadata signature could not be verified with the pinned certificate: it was signed with another ' +
        'certificate (e.g. after a certificate rollover at your identity provider) or modified after it was signed. ' +
        'Download the metadata again and check which certificate is pinned.',
      {
        reason: /^invalid signature: the signature value/.test(reason)
          ? 'the signature value does not verify with the pinned certificate'
          : reason.slice(0, 300),
        pinnedFingerprint: summarizeCertificate(pinnedPem).fingerprintSha256,
        // Informational only, never trusted: which certificate the document claims to be signed with.
        keyInfoFingerprint: keyInfoFingerprint(signature),
      },
    );
  }
  const signedReference = valid ? soleItem(verifier.getSignedReferences()) : undefined;
  if (signedReference === undefined) {
    throw signatureInvalid(
      'The metadata signature does not match the document: the document was modified after it was signed ' +
        '(even reformatting breaks the signature). Download the metadata again directly from your identity provider.',
    );
  }
  if (
    verifier.getReferences().some((r) => isSha1(r.digestAlgorithm)) ||
    isSha1(verifier.signatureAlgorithm)
  ) {
    throw signatureInvalid('The metadata is signed with SHA-1, which is no longer accepted.');
  }

  let signedDoc: Document;
  try {
    signedDoc = parseXmlStrict(signedReference);
  } catch (err) {
    throw signatureInvalid('The signed part of the metadata cannot be read back.', {
      reason: err instanceof Error ? err.message : String(err),
    });
  }
  const signedRoot = signedDoc.documentElement as Element;
  if (
    signedRoot.namespaceURI !== root.namespaceURI ||
    signedRoot.localName !== root.localName ||
    attribute(signedRoot, 'ID') !== rootId
  ) {
    throw signatureInvalid('The metadata signature covers another element than the document root.');
  }
  return signedDoc;
}

/** Fingerprint of the certificate in the signature's KeyInfo, for diagnostics only (never used to verify). */
function keyInfoFingerprint(signature: Element): string | undefined {
  for (const keyInfo of childElements(signature, DS_NS, 'KeyInfo')) {
    for (const data of childElements(keyInfo, DS_NS, 'X509Data')) {
      for (const certEl of childElements(data, DS_NS, 'X509Certificate')) {
        try {
          return summarizeCertificate(certEl.textContent ?? '').fingerprintSha256;
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Entities

interface EntityCandidate {
  element: Element;
  entityId: string;
  /** IDPSSODescriptors that support SAML 2.0. */
  idpDescriptors: Element[];
  /** IDPSSODescriptors without SAML 2.0 in protocolSupportEnumeration. */
  otherIdpDescriptors: Element[];
  hasSpDescriptor: boolean;
  /** Enclosing EntitiesDescriptors, outermost first. */
  enclosing: Element[];
}

function supportsSaml2(descriptor: Element): boolean {
  return (attribute(descriptor, 'protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL);
}

function collectEntities(root: Element): EntityCandidate[] {
  const out: EntityCandidate[] = [];
  const visit = (el: Element, enclosing: Element[]): void => {
    if (el.localName === 'EntitiesDescriptor') {
      const next = [...enclosing, el];
      for (let n: Node | null = el.firstChild; n !== null; n = n.nextSibling) {
        if (n.nodeType !== NODE_ELEMENT) continue;
        const child = n as Element;
        if (
          child.namespaceURI === MD_NS &&
          (child.localName === 'EntityDescriptor' || child.localName === 'EntitiesDescriptor')
        ) {
          visit(child, next);
        }
      }
      return;
    }
    const entityId = (attribute(el, 'entityID') ?? '').trim();
    if (entityId === '') {
      throw notSaml(
        'The metadata has an EntityDescriptor without an entityID attribute, so it is not valid SAML metadata. ' +
          WHERE_TO_DOWNLOAD,
      );
    }
    const idps = childElements(el, MD_NS, 'IDPSSODescriptor');
    out.push({
      element: el,
      entityId,
      idpDescriptors: idps.filter(supportsSaml2),
      otherIdpDescriptors: idps.filter((d) => !supportsSaml2(d)),
      hasSpDescriptor: childElements(el, MD_NS, 'SPSSODescriptor').length > 0,
      enclosing,
    });
  };
  visit(root, []);
  return out;
}

function noIdpDescriptor(entity: EntityCandidate | undefined, available: string[]): MetadataError {
  const details: Record<string, unknown> = { available };
  if (entity) details.entityId = entity.entityId;
  const who = entity ? `The entity "${entity.entityId}"` : 'The metadata';
  if (entity && entity.otherIdpDescriptors.length > 0) {
    return new MetadataError(
      'metadata_no_idp_descriptor',
      `${who} has an IDPSSODescriptor, but it does not support SAML 2.0 (protocolSupportEnumeration ` +
        `"${attribute(entity.otherIdpDescriptors[0], 'protocolSupportEnumeration') ?? ''}" lacks ${SAML2_PROTOCOL}). ` +
        'Enable SAML 2.0 on your identity provider and download its metadata again.',
      details,
    );
  }
  if (entity?.hasSpDescriptor || (!entity && available.length === 0)) {
    return new MetadataError(
      'metadata_no_idp_descriptor',
      `${who} has no IDPSSODescriptor: this looks like service-provider metadata. ${WHERE_TO_DOWNLOAD}`,
      details,
    );
  }
  return new MetadataError(
    'metadata_no_idp_descriptor',
    `${who} has no IDPSSODescriptor, so it does not describe a SAML 2.0 identity provider. ${WHERE_TO_DOWNLOAD}`,
    details,
  );
}

/** The entity the connection describes, with its first SAML 2.0 IDPSSODescriptor. */
interface ChosenEntity {
  entity: EntityCandidate;
  idp: Element;
}

function chooseEntity(candidates: EntityCandidate[], wanted: string | undefined): ChosenEntity {
  const idpCandidates = candidates.filter((c) => c.idpDescriptors.length > 0);
  const available = [...new Set(idpCandidates.map((c) => c.entityId))];
  if (wanted !== undefined && wanted.trim() !== '') {
    const matches = candidates.filter((c) => c.entityId === wanted.trim());
    const [match] = matches;
    if (match === undefined) {
      throw new MetadataError(
        'metadata_entity_not_found',
        `The metadata has no entity with entityID "${wanted.trim()}". ` +
          (available.length > 0
            ? `Identity providers in this document: ${available.join(', ')}. Pick one of them.`
            : 'It describes no SAML 2.0 identity provider at all.'),
        { entityId: wanted.trim(), available },
      );
    }
    if (matches.length > 1) {
      throw new MetadataError(
        'metadata_entity_ambiguous',
        `The metadata has ${matches.length} entities with entityID "${wanted.trim()}"; it is inconsistent. ` +
          'Download the metadata of your identity provider only.',
        { entityId: wanted.trim(), available },
      );
    }
    const [idp] = match.idpDescriptors;
    if (idp === undefined) throw noIdpDescriptor(match, available);
    return { entity: match, idp };
  }
  const [onlyCandidate, ...otherCandidates] = idpCandidates;
  const [onlyCandidateIdp] = onlyCandidate?.idpDescriptors ?? [];
  if (onlyCandidate && onlyCandidateIdp && otherCandidates.length === 0) {
    return { entity: onlyCandidate, idp: onlyCandidateIdp };
  }
  if (idpCandidates.length > 1) {
    throw new MetadataError(
      'metadata_entity_ambiguous',
      `The metadata describes ${idpCandidates.length} identity providers (${available.join(', ')}). ` +
        'Choose the entity ID of yours.',
      { available },
    );
  }
  throw noIdpDescriptor(candidates.length === 1 ? candidates[0] : undefined, available);
}

// ---------------------------------------------------------------------------------------------------------
// Descriptor content

function readEndpoints(descriptor: Element, localName: string, warnings: Set<string>): IdpEndpoint[] {
  const out: IdpEndpoint[] = [];
  const seen = new Set<string>();
  for (const el of childElements(descriptor, MD_NS, localName)) {
    const binding = attribute(el, 'Binding')?.trim();
    const location = attribute(el, 'Location')?.trim();
    if (!binding || !location) {
      warnings.add('endpoint_without_binding_or_location');
      continue;
    }
    const responseLocation = attribute(el, 'ResponseLocation')?.trim() || undefined;
    const key = `${binding}\n${location}\n${responseLocation ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(
      responseLocation === undefined ? { binding, location } : { binding, location, responseLocation },
    );
  }
  return out;
}

function httpUrl(location: string): URL | undefined {
  try {
    const url = new URL(location);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

interface CertificateEntry {
  summary: IdpCertificate;
  signing: boolean;
  encryption: boolean;
}

function readCertificates(descriptor: Element, warnings: Set<string>): Map<string, CertificateEntry> {
  const byFingerprint = new Map<string, CertificateEntry>();
  const keyDescriptors = childElements(descriptor, MD_NS, 'KeyDescriptor');
  keyDescriptors.forEach((kd, index) => {
    const useAttr = attribute(kd, 'use')?.trim();
    if (useAttr !== undefined && useAttr !== 'signing' && useAttr !== 'encryption') {
      warnings.add('key_descriptor_unknown_use');
      return;
    }
    const signing = useAttr !== 'encryption';
    const encryption = useAttr !== 'signing';
    const certElements: Element[] = [];
    for (const keyInfo of childElements(kd, DS_NS, 'KeyInfo')) {
      for (const x509Data of childElements(keyInfo, DS_NS, 'X509Data')) {
        certElements.push(...childElements(x509Data, DS_NS, 'X509Certificate'));
      }
    }
    if (certElements.length === 0) warnings.add('key_descriptor_without_certificate');
    for (const certEl of certElements) {
      let summary: IdpCertificate;
      try {
        summary = summarizeCertificate(certEl.textContent ?? '', useAttr === undefined ? 'both' : useAttr);
      } catch (err) {
        if (!(err instanceof MetadataError)) throw err;
        throw new MetadataError(
          'metadata_certificate_invalid',
          `The ${useAttr ?? 'signing/encryption'} certificate in KeyDescriptor #${index + 1} of the IDPSSODescriptor ` +
            `is unusable. ${err.message}`,
          { ...err.details, keyDescriptor: index + 1, use: useAttr ?? 'both' },
        );
      }
      const existing = byFingerprint.get(summary.fingerprintSha256);
      if (existing) {
        existing.signing ||= signing;
        existing.encryption ||= encryption;
      } else {
        byFingerprint.set(summary.fingerprintSha256, { summary, signing, encryption });
      }
    }
  });
  return byFingerprint;
}

function useOf(entry: CertificateEntry): IdpCertificate['use'] {
  if (entry.signing && entry.encryption) return 'both';
  return entry.signing ? 'signing' : 'encryption';
}

// ---------------------------------------------------------------------------------------------------------
// Entry point

function rootProblem(root: Element): MetadataError {
  const name = root.localName ?? root.nodeName;
  if (name.toLowerCase() === 'html') {
    return notSaml(
      'This is an HTML web page, not SAML metadata (often the identity provider’s sign-in page, or a page that ' +
        `links to the metadata). ${WHERE_TO_DOWNLOAD}`,
      { rootElement: name },
    );
  }
  if (name === 'Response' || name === 'Assertion' || name === 'AuthnRequest' || name === 'LogoutRequest') {
    return notSaml(`This is a SAML message (${describe(root)}), not SAML metadata. ${WHERE_TO_DOWNLOAD}`, {
      rootElement: name,
      namespace: root.namespaceURI,
    });
  }
  if ((name === 'EntityDescriptor' || name === 'EntitiesDescriptor') && root.namespaceURI !== MD_NS) {
    return notSaml(
      `The root element ${describe(root)} is not in the SAML 2.0 metadata namespace (${MD_NS}). ` +
        `This is not SAML 2.0 metadata. ${WHERE_TO_DOWNLOAD}`,
      { rootElement: name, namespace: root.namespaceURI },
    );
  }
  return notSaml(
    `This XML is not SAML metadata: its root element is ${describe(root)} instead of <EntityDescriptor> ` +
      `(namespace ${MD_NS}). ${WHERE_TO_DOWNLOAD}`,
    { rootElement: name, namespace: root.namespaceURI },
  );
}

const HTML_DOCTYPE = /^<!DOCTYPE\s+html(?:\s+PUBLIC\s+"[^"<>]*"(?:\s+"[^"<>]*")?)?\s*>/i;

/** An HTML5/XHTML page (`<!DOCTYPE html>` after optional whitespace and comments), scanned without backtracking. */
function isHtmlPage(text: string): boolean {
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text.charAt(i))) i++;
    if (!text.startsWith('<!--', i)) break;
    const end = text.indexOf('-->', i + 4);
    if (end === -1) return false;
    i = end + 3;
  }
  return HTML_DOCTYPE.test(text.slice(i, i + 200)) && !/<!ENTITY/i.test(text);
}

export function parseIdpMetadata(
  input: string | Buffer,
  options: ParseIdpMetadataOptions = {},
): ParsedIdpMetadata {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  const now = options.now ?? new Date();
  const pinnedPem =
    options.pinnedCertificatePem !== undefined
      ? readPinnedCertificate(options.pinnedCertificatePem)
      : undefined;

  let text: string;
  let doc: Document;
  try {
    assertXmlSize(input, maxBytes);
    text = decodeXmlBytes(input);
    if (isHtmlPage(text)) {
      throw notSaml(
        'This is an HTML web page, not SAML metadata (often the identity provider’s sign-in page, or a page that ' +
          `links to the metadata). ${WHERE_TO_DOWNLOAD}`,
      );
    }
    assertNoDoctype(text);
    const trimmed = text.trimStart();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      throw notSaml(
        'This is JSON (for example an OpenID Connect discovery document), not SAML metadata. The connection ' +
          `needs SAML 2.0 metadata in XML. ${WHERE_TO_DOWNLOAD}`,
      );
    }
    if (!trimmed.startsWith('<')) {
      throw new MetadataError(
        'metadata_malformed_xml',
        'The metadata is not XML: it must start with "<" (for example <?xml …?> or <EntityDescriptor>). If you ' +
          `pasted a URL, a certificate or a file name, paste the content of the metadata document instead. ${WHERE_TO_DOWNLOAD}`,
      );
    }
    doc = parseXmlStrict(text);
  } catch (err) {
    if (err instanceof XmlSafetyError) throw fromSafetyError(err, maxBytes);
    throw err;
  }

  let root = doc.documentElement as Element;
  if (
    root.namespaceURI !== MD_NS ||
    (root.localName !== 'EntityDescriptor' && root.localName !== 'EntitiesDescriptor')
  ) {
    throw rootProblem(root);
  }

  let signature: ParsedIdpMetadata['signature'];
  if (pinnedPem !== undefined) {
    doc = verifyAndExtractSignedDocument(doc, text, pinnedPem);
    root = doc.documentElement as Element;
    signature = 'verified';
  } else {
    signature = childElements(root, DS_NS, 'Signature').length > 0 ? 'present-unverified' : 'absent';
  }

  const candidates = collectEntities(root);
  const availableEntityIds = [
    ...new Set(candidates.filter((c) => c.idpDescriptors.length > 0).map((c) => c.entityId)),
  ];
  const { entity, idp } = chooseEntity(candidates, options.entityId);
  if (signature === 'absent' && childElements(entity.element, DS_NS, 'Signature').length > 0) {
    signature = 'present-unverified';
  }

  const warnings = new Set<string>();
  if (entity.idpDescriptors.length > 1) warnings.add('multiple_idp_descriptors');

  // Endpoints
  const allSso = readEndpoints(idp, 'SingleSignOnService', warnings);
  if (allSso.length === 0) {
    throw new MetadataError(
      'metadata_no_sso_endpoint',
      `The identity provider "${entity.entityId}" publishes no SingleSignOnService, so there is no URL to send ` +
        'users to for sign-in. Check that SAML single sign-on is enabled for this application at your identity ' +
        `provider, then download its metadata again ${WHERE_METADATA_IS}.`,
      { entityId: entity.entityId },
    );
  }
  const browserBindings: string[] = [SAML_BINDINGS.redirect, SAML_BINDINGS.post];
  const ssoEndpoints = allSso.filter((e) => {
    if (!browserBindings.includes(e.binding)) return true;
    const url = httpUrl(e.location);
    if (!url) {
      warnings.add('sso_endpoint_invalid_location');
      return false;
    }
    if (url.protocol === 'http:') warnings.add('sso_endpoint_not_https');
    return true;
  });
  if (!ssoEndpoints.some((e) => browserBindings.includes(e.binding))) {
    throw new MetadataError(
      'metadata_no_sso_endpoint',
      `The identity provider "${entity.entityId}" has no usable HTTP-Redirect or HTTP-POST SingleSignOnService ` +
        `(it offers: ${[...new Set(allSso.map((e) => e.binding))].join(', ')}). Enable the HTTP-Redirect or ` +
        'HTTP-POST binding for SAML single sign-on at your identity provider and download its metadata again.',
      { entityId: entity.entityId, bindings: allSso.map((e) => e.binding) },
    );
  }
  const sloEndpoints = readEndpoints(idp, 'SingleLogoutService', warnings);

  // Certificates
  const certificates = [...readCertificates(idp, warnings).values()];
  const signingCertificates = certificates
    .filter((c) => c.signing)
    .map((c) => ({ ...c.summary, use: useOf(c) }));
  const encryptionCertificates = certificates
    .filter((c) => c.encryption)
    .map((c) => ({ ...c.summary, use: useOf(c) }));
  if (signingCertificates.length === 0) {
    throw new MetadataError(
      'metadata_no_signing_certificate',
      (encryptionCertificates.length > 0
        ? `The identity provider "${entity.entityId}" publishes only an encryption certificate and no signing certificate, `
        : `The identity provider "${entity.entityId}" publishes no signing certificate (no <ds:X509Certificate> in a ` +
          'KeyDescriptor of its IDPSSODescriptor), ') +
        'so its SAML responses cannot be verified. Make sure a signing certificate is active for this application ' +
        'at your identity provider and download its metadata again, or upload the signing certificate separately.',
      { entityId: entity.entityId },
    );
  }
  if (signingCertificates.some((c) => Date.parse(c.notAfter) < now.getTime())) {
    warnings.add('signing_certificate_expired');
  }

  // Other descriptor facts
  const wantAuthnRequestsSigned = ['true', '1'].includes(
    (attribute(idp, 'WantAuthnRequestsSigned') ?? '').trim(),
  );
  const nameIdFormats = [
    ...new Set(
      childElements(idp, MD_NS, 'NameIDFormat')
        .map((e) => (e.textContent ?? '').trim())
        .filter((v) => v !== ''),
    ),
  ];

  // validUntil / cacheDuration: the most restrictive of the enclosing EntitiesDescriptors, the entity and the role
  const scopes = [...entity.enclosing, entity.element, idp];
  let validUntilMs: number | undefined;
  let cacheDurationSeconds: number | undefined;
  for (const scope of scopes) {
    const vu = attribute(scope, 'validUntil');
    if (vu !== undefined) {
      // Strict xs:dateTime, as for SAML messages: a value without a time zone is unreadable, not UTC.
      const t = parseXsDateTime(vu)?.getTime();
      if (t === undefined) warnings.add('valid_until_unreadable');
      else if (validUntilMs === undefined || t < validUntilMs) validUntilMs = t;
    }
    const cd = attribute(scope, 'cacheDuration');
    if (cd !== undefined) {
      const s = parseXsDurationSeconds(cd);
      if (s === undefined) warnings.add('cache_duration_unreadable');
      else if (cacheDurationSeconds === undefined || s < cacheDurationSeconds) cacheDurationSeconds = s;
    }
  }
  if (validUntilMs !== undefined && validUntilMs < now.getTime()) warnings.add('valid_until_passed');

  const result: ParsedIdpMetadata = {
    entityId: entity.entityId,
    ssoEndpoints,
    sloEndpoints,
    signingCertificates,
    encryptionCertificates,
    wantAuthnRequestsSigned,
    nameIdFormats,
    signature,
    availableEntityIds,
    warnings: [...warnings],
  };
  if (validUntilMs !== undefined) result.validUntil = new Date(validUntilMs).toISOString();
  if (cacheDurationSeconds !== undefined) result.cacheDurationSeconds = cacheDurationSeconds;
  return result;
}
