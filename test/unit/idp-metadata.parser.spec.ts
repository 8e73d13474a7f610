import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  SAML_BINDINGS,
  parseIdpMetadata,
  parseXsDurationSeconds,
  summarizeCertificate,
  type ParseIdpMetadataOptions,
  type ParsedIdpMetadata,
} from '../../src/connections/metadata/idp-metadata.parser';
import { MetadataError, type MetadataErrorCode } from '../../src/connections/metadata/metadata.errors';
import {
  DEFAULT_MAX_XML_BYTES,
  XmlSafetyError,
  assertNoDoctype,
  assertXmlSize,
  decodeXmlBytes,
  parseXmlStrict,
} from '../../src/common/xml-safety';
import { need } from '../support/defined';

const FIXTURES = path.resolve(__dirname, '../../../shared/fixtures/real-idp');
const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
const SAML2 = 'urn:oasis:names:tc:SAML:2.0:protocol';

function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, 'metadata', name));
}
function fixtureText(name: string): string {
  return fixture(name)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

function metadataError(input: string | Buffer, options?: ParseIdpMetadataOptions): MetadataError {
  const err = catchError(() => parseIdpMetadata(input, options));
  if (!(err instanceof MetadataError)) throw err;
  return err;
}

function expectMetadataError(
  input: string | Buffer,
  code: MetadataErrorCode,
  options?: ParseIdpMetadataOptions,
): MetadataError {
  const err = metadataError(input, options);
  expect(err.code).toBe(code);
  expect(err.message.length).toBeGreaterThan(40);
  return err;
}

function safetyError(fn: () => unknown): XmlSafetyError {
  const err = catchError(fn);
  if (!(err instanceof XmlSafetyError)) throw err;
  return err;
}

/** The base64 of the first X509Certificate inside the root's ds:Signature KeyInfo. */
function signatureCertificate(text: string): string {
  const m = /<(?:ds:)?Signature\b[\s\S]*?<(?:ds:)?X509Certificate>([^<]+)<\/(?:ds:)?X509Certificate>/.exec(
    text,
  );
  if (!m) throw new Error('no signature certificate');
  return need(m[1], 'signature certificate');
}

const OKTA_2024_CERT = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(
  fixtureText('okta__metadata__2024.xml'),
)?.[1] as string;
const ENTRA_FILE = 'entra-id__federationmetadata__signed.xml';
const ADFS_FILE = 'adfs__FederationMetadata__signed-but-edited.xml';

/** A minimal IdP metadata document, with every part replaceable. */
function idpXml(
  parts: {
    entityId?: string;
    rootAttrs?: string;
    idpAttrs?: string;
    protocols?: string;
    keys?: string;
    sso?: string;
    before?: string;
    after?: string;
  } = {},
): string {
  const keys =
    parts.keys ??
    `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${OKTA_2024_CERT}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
  const sso =
    parts.sso ??
    `<md:SingleSignOnService Binding="${SAML_BINDINGS.redirect}" Location="https://idp.example.com/sso/redirect"/>` +
      `<md:SingleSignOnService Binding="${SAML_BINDINGS.post}" Location="https://idp.example.com/sso/post"/>`;
  return (
    `<md:EntityDescriptor xmlns:md="${MD_NS}" xmlns:ds="${DS_NS}" entityID="${parts.entityId ?? 'https://idp.example.com/saml'}"${parts.rootAttrs ?? ''}>` +
    (parts.before ?? '') +
    `<md:IDPSSODescriptor protocolSupportEnumeration="${parts.protocols ?? SAML2}"${parts.idpAttrs ?? ''}>${keys}${sso}</md:IDPSSODescriptor>` +
    (parts.after ?? '') +
    `</md:EntityDescriptor>`
  );
}

function location(result: ParsedIdpMetadata, binding: string): string | undefined {
  return result.ssoEndpoints.find((e) => e.binding === binding)?.location;
}

// ---------------------------------------------------------------------------------------------------------

describe('parseIdpMetadata: every real IdP metadata fixture', () => {
  interface Case {
    file: string;
    entityId: string;
    redirect: string | undefined;
    post: string | undefined;
    signingNotAfter: string[];
    encryptionNotAfter: string[];
  }
  const entraSso = 'https://login.microsoftonline.com/a9054a0f-2011-4e31-b3ac-fd8c354146ec/saml2';
  const oktaSso2024 =
    'https://trial-1022863.okta.com/app/trial-1022863_oktalocalhostbis_1/exkdoocxa1VmjpXmX697/sso/saml';
  const oktaSso2020 =
    'https://dev-513394.oktapreview.com/app/rstudioincdev513394_dev_1/exkppsa1qwuFV4D7z0h7/sso/saml';
  const cases: Case[] = [
    {
      file: ENTRA_FILE,
      entityId: 'https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/',
      redirect: entraSso,
      post: entraSso,
      signingNotAfter: ['2026-11-16T20:41:29.000Z'],
      encryptionNotAfter: [],
    },
    {
      file: ADFS_FILE,
      entityId: 'http://adfs.server.url/adfs/services/trust',
      redirect: 'https://adfs.server.url/adfs/ls/',
      post: 'https://adfs.server.url/adfs/ls/',
      signingNotAfter: ['2015-01-30T23:32:00.000Z'],
      encryptionNotAfter: ['2015-01-30T23:31:59.000Z'],
    },
    {
      file: 'okta__metadata__2024.xml',
      entityId: 'http://www.okta.com/exkdoocxa1VmjpXmX697',
      redirect: oktaSso2024,
      post: oktaSso2024,
      signingNotAfter: ['2034-04-25T20:31:02.000Z'],
      encryptionNotAfter: [],
    },
    {
      file: 'okta__metadata__2020.xml',
      entityId: 'http://www.okta.com/exkppsa1qwuFV4D7z0h7',
      redirect: oktaSso2020,
      post: oktaSso2020,
      signingNotAfter: ['2028-09-07T14:33:59.000Z'],
      encryptionNotAfter: [],
    },
    {
      file: 'google-workspace__metadata__2023.xml',
      entityId: 'https://accounts.google.com/o/saml2?idpid=C029op2ga',
      redirect: 'https://accounts.google.com/o/saml2/idp?idpid=C029op2ga',
      post: 'https://accounts.google.com/o/saml2/idp?idpid=C029op2ga',
      signingNotAfter: ['2028-07-19T17:28:34.000Z'],
      encryptionNotAfter: [],
    },
    {
      // Google's 2016 metadata lists the same HTTP-POST endpoint twice and has no HTTP-Redirect endpoint.
      file: 'google-workspace__metadata__2016.xml',
      entityId: 'https://accounts.google.com/o/saml2?idpid=C02dfl1r1',
      redirect: undefined,
      post: 'https://accounts.google.com/o/saml2/idp?idpid=C02dfl1r1',
      signingNotAfter: ['2021-01-03T16:17:49.000Z'],
      encryptionNotAfter: [],
    },
    {
      // The KeyDescriptor has no use=, so the one certificate is for signing and encryption.
      file: 'shibboleth-idp__testshib__entities.xml',
      entityId: 'https://idp.testshib.org/idp/shibboleth',
      redirect: 'https://idp.testshib.org/idp/profile/SAML2/Redirect/SSO',
      post: 'https://idp.testshib.org/idp/profile/SAML2/POST/SSO',
      signingNotAfter: ['2036-08-23T21:20:54.000Z'],
      encryptionNotAfter: ['2036-08-23T21:20:54.000Z'],
    },
    {
      file: 'shibboleth-idp__samltest-id.xml',
      entityId: 'https://samltest.id/saml/idp',
      redirect: 'https://samltest.id/idp/profile/SAML2/Redirect/SSO',
      post: 'https://samltest.id/idp/profile/SAML2/POST/SSO',
      signingNotAfter: ['2038-08-24T21:14:10.000Z', '2038-08-24T21:14:09.000Z'],
      encryptionNotAfter: ['2038-08-24T21:14:09.000Z'],
    },
    {
      // OneLogin: HTTP-POST twice (deduplicated) and SOAP, no HTTP-Redirect.
      file: 'onelogin__metadata.xml',
      entityId: 'https://app.onelogin.com/saml/metadata/503983',
      redirect: undefined,
      post: 'https://app.onelogin.com/trust/saml2/http-post/sso/503983',
      signingNotAfter: ['2018-10-01T19:35:44.000Z'],
      encryptionNotAfter: [],
    },
    {
      file: 'keycloak__metadata.xml',
      entityId: 'http://localhost:8085/realms/master',
      redirect: 'http://localhost:8085/realms/master/protocol/saml',
      post: 'http://localhost:8085/realms/master/protocol/saml',
      signingNotAfter: ['2034-05-20T20:48:49.000Z'],
      encryptionNotAfter: [],
    },
  ];

  it('covers every file of the fixtures metadata/ folder', () => {
    const files = readFileSync(path.join(FIXTURES, 'MANIFEST.md'), 'utf8');
    expect(cases).toHaveLength(10);
    for (const c of cases) expect(files).toContain(c.file);
  });

  it.each(cases)('$file', (c) => {
    const result = parseIdpMetadata(fixture(c.file));
    expect(result.entityId).toBe(c.entityId);
    expect(location(result, SAML_BINDINGS.redirect)).toBe(c.redirect);
    expect(location(result, SAML_BINDINGS.post)).toBe(c.post);
    expect(result.signingCertificates.map((s) => s.notAfter)).toEqual(c.signingNotAfter);
    expect(result.encryptionCertificates.map((s) => s.notAfter)).toEqual(c.encryptionNotAfter);
    expect(result.availableEntityIds).toEqual([c.entityId]);
    expect(new Set(result.signingCertificates.map((s) => s.fingerprintSha256)).size).toBe(
      c.signingNotAfter.length,
    );
    for (const cert of [...result.signingCertificates, ...result.encryptionCertificates]) {
      // The PEM is normalised and round-trips through node's parser to the same fingerprint.
      expect(cert.pem).toMatch(
        /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/,
      );
      expect(new X509Certificate(cert.pem).fingerprint256).toBe(cert.fingerprintSha256);
    }
    // Endpoints are unique (some IdPs repeat them).
    const keys = result.ssoEndpoints.map((e) => `${e.binding} ${e.location}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('Entra ID: BOM, one line, the one certificate listed 4× dedupes to 1, WS-Fed RoleDescriptors ignored', () => {
    const raw = fixture(ENTRA_FILE);
    expect([...raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = raw.toString('utf8');
    expect(text.trimEnd()).not.toContain('\n');
    expect(text.match(/MIIC8DCCAdigAwIBAgIQMpPj09W9gapOzSSHgW/g)).toHaveLength(4);

    const result = parseIdpMetadata(raw);
    expect(result.signingCertificates).toHaveLength(1);
    const cert = need(result.signingCertificates[0]);
    expect(cert.subject).toBe('CN=Microsoft Azure Federated SSO Certificate');
    expect(cert.issuer).toBe('CN=Microsoft Azure Federated SSO Certificate');
    expect(cert.use).toBe('signing');
    expect(cert.notBefore).toBe('2023-11-16T20:41:29.000Z');
    expect(cert.serialNumber).toBe('3293E3D3D5BD81AA4ECD2487816FB97C');
    expect(cert.fingerprintSha256).toBe(
      '20:76:D8:86:41:0A:00:A7:5A:CD:B8:AE:DB:93:D3:87:7B:4F:AD:BD:8E:A9:72:F6:37:30:77:91:7B:2E:50:49',
    );
    // Only the SAML endpoints, none of the WS-Federation (/wsfed) ones.
    expect(result.ssoEndpoints).toEqual([
      {
        binding: SAML_BINDINGS.redirect,
        location: 'https://login.microsoftonline.com/a9054a0f-2011-4e31-b3ac-fd8c354146ec/saml2',
      },
      {
        binding: SAML_BINDINGS.post,
        location: 'https://login.microsoftonline.com/a9054a0f-2011-4e31-b3ac-fd8c354146ec/saml2',
      },
    ]);
    expect(result.sloEndpoints).toEqual([
      {
        binding: SAML_BINDINGS.redirect,
        location: 'https://login.microsoftonline.com/a9054a0f-2011-4e31-b3ac-fd8c354146ec/saml2',
      },
    ]);
    expect(result.signature).toBe('present-unverified');
    expect(result.wantAuthnRequestsSigned).toBe(false);
    // The same document given as a string (BOM included) parses identically.
    expect(parseIdpMetadata(text)).toEqual(result);
  });

  it('AD FS: RoleDescriptors and SPSSODescriptor ignored, signing and encryption certificates', () => {
    const result = parseIdpMetadata(fixture(ADFS_FILE), { now: new Date('2014-06-01T00:00:00Z') });
    expect(result.signingCertificates).toHaveLength(1);
    expect(need(result.signingCertificates[0]).subject).toBe('CN=ADFS Signing - sts.unilever.com');
    expect(need(result.signingCertificates[0]).use).toBe('signing');
    expect(result.encryptionCertificates).toHaveLength(1);
    expect(need(result.encryptionCertificates[0]).subject).toBe('CN=ADFS Encryption - sts.unilever.com');
    expect(need(result.encryptionCertificates[0]).use).toBe('encryption');
    expect(result.ssoEndpoints).toHaveLength(2);
    expect(result.sloEndpoints.map((e) => e.binding)).toEqual([SAML_BINDINGS.redirect, SAML_BINDINGS.post]);
    expect(result.nameIdFormats).toEqual([
      'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
    ]);
    expect(result.signature).toBe('present-unverified');
    expect(result.warnings).not.toContain('signing_certificate_expired');
    expect(parseIdpMetadata(fixture(ADFS_FILE)).warnings).toContain('signing_certificate_expired');
  });

  it('TestShib EntitiesDescriptor: auto-chooses the IdP; the SP entityID is not an IdP', () => {
    const file = fixture('shibboleth-idp__testshib__entities.xml');
    const auto = parseIdpMetadata(file);
    expect(auto.entityId).toBe('https://idp.testshib.org/idp/shibboleth');
    expect(auto.availableEntityIds).toEqual(['https://idp.testshib.org/idp/shibboleth']);
    expect(need(auto.signingCertificates[0]).use).toBe('both');
    expect(auto.nameIdFormats).toEqual([
      'urn:mace:shibboleth:1.0:nameIdentifier',
      'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
    ]);
    // The Shibboleth 1.x AuthnRequest and the SOAP endpoint are kept, in document order.
    expect(auto.ssoEndpoints.map((e) => e.binding)).toEqual([
      'urn:mace:shibboleth:1.0:profiles:AuthnRequest',
      SAML_BINDINGS.post,
      SAML_BINDINGS.redirect,
      SAML_BINDINGS.soap,
    ]);

    expect(parseIdpMetadata(file, { entityId: 'https://idp.testshib.org/idp/shibboleth' })).toEqual(auto);

    const sp = expectMetadataError(file, 'metadata_no_idp_descriptor', {
      entityId: 'https://sp.testshib.org/shibboleth-sp',
    });
    expect(sp.message).toContain('service-provider metadata');
    expect(sp.details?.available).toEqual(['https://idp.testshib.org/idp/shibboleth']);

    const missing = expectMetadataError(file, 'metadata_entity_not_found', {
      entityId: 'https://nope.example.com',
    });
    expect(missing.details?.available).toEqual(['https://idp.testshib.org/idp/shibboleth']);
    expect(missing.message).toContain('https://idp.testshib.org/idp/shibboleth');
  });

  it('samltest.id: two signing certificates kept (rotation), one encryption certificate, 3 SLO endpoints', () => {
    const result = parseIdpMetadata(fixture('shibboleth-idp__samltest-id.xml'));
    expect(result.signingCertificates.map((c) => c.use)).toEqual(['signing', 'signing']);
    expect(need(result.signingCertificates[0]).fingerprintSha256).not.toBe(
      need(result.signingCertificates[1]).fingerprintSha256,
    );
    expect(need(result.encryptionCertificates[0]).use).toBe('encryption');
    expect(result.sloEndpoints).toHaveLength(3);
    expect(result.validUntil).toBe('2100-01-01T00:00:42.000Z');
    expect(result.warnings).toEqual([]);
  });

  it('Keycloak: WantAuthnRequestsSigned, name ID formats, KeyName next to the certificate, http endpoints', () => {
    const result = parseIdpMetadata(fixture('keycloak__metadata.xml'));
    expect(result.wantAuthnRequestsSigned).toBe(true);
    expect(result.nameIdFormats).toHaveLength(4);
    expect(result.sloEndpoints).toHaveLength(4);
    expect(result.ssoEndpoints).toHaveLength(4);
    expect(need(result.signingCertificates[0]).subject).toBe('CN=master');
    expect(result.warnings).toContain('sso_endpoint_not_https');
  });

  it('Okta 2020: spaces and newlines inside <ds:X509Certificate> and around NameIDFormat', () => {
    const result = parseIdpMetadata(fixture('okta__metadata__2020.xml'));
    expect(need(result.signingCertificates[0]).subject).toContain('CN=dev-513394');
    expect(result.nameIdFormats).toEqual([
      'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
      'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    ]);
  });

  it('Google: validUntil is reported, and a passed validUntil is a warning', () => {
    const g2023 = parseIdpMetadata(fixture('google-workspace__metadata__2023.xml'), {
      now: new Date('2024-01-01T00:00:00Z'),
    });
    expect(g2023.validUntil).toBe('2028-07-19T17:28:34.000Z');
    expect(g2023.warnings).toEqual([]);

    const g2016 = parseIdpMetadata(fixture('google-workspace__metadata__2016.xml'), {
      now: new Date('2024-01-01T00:00:00Z'),
    });
    expect(g2016.validUntil).toBe('2021-01-03T16:17:49.000Z');
    expect(g2016.warnings).toContain('valid_until_passed');
    expect(g2016.ssoEndpoints).toHaveLength(1);

    const before = parseIdpMetadata(fixture('google-workspace__metadata__2016.xml'), {
      now: new Date('2020-01-01T00:00:00Z'),
    });
    expect(before.warnings).not.toContain('valid_until_passed');
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('parseIdpMetadata: metadata signature', () => {
  const entra = fixture(ENTRA_FILE);
  const entraText = entra.toString('utf8');
  const entraCert = signatureCertificate(entraText);

  it('verifies the Entra ID metadata with its own signing certificate pinned', () => {
    const result = parseIdpMetadata(entra, { pinnedCertificatePem: entraCert });
    expect(result.signature).toBe('verified');
    expect(result.entityId).toBe('https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/');
    expect(result.ssoEndpoints).toHaveLength(2);
    expect(result.signingCertificates).toHaveLength(1);
    // PEM form works as well as the bare base64.
    const pem = summarizeCertificate(entraCert).pem;
    expect(parseIdpMetadata(entraText, { pinnedCertificatePem: pem }).signature).toBe('verified');
    // Without a pinned certificate the signature is only reported.
    expect(parseIdpMetadata(entra).signature).toBe('present-unverified');
  });

  it('fails with another certificate pinned (Okta)', () => {
    expectMetadataError(entra, 'metadata_signature_invalid', { pinnedCertificatePem: OKTA_2024_CERT });
  });

  it('fails on the AD FS "signed-but-edited" file with its own signing certificate', () => {
    const adfsText = fixtureText(ADFS_FILE);
    expectMetadataError(fixture(ADFS_FILE), 'metadata_signature_invalid', {
      pinnedCertificatePem: signatureCertificate(adfsText),
    });
  });

  it('requires a signature when a certificate is pinned', () => {
    const err = expectMetadataError(fixture('okta__metadata__2024.xml'), 'metadata_signature_missing', {
      pinnedCertificatePem: OKTA_2024_CERT,
    });
    expect(err.message).toContain('not signed');
  });

  it('detects a one-byte change in the signed entityID', () => {
    const tampered = entraText.replace(
      'entityID="https://sts.windows.net/a9054a0f',
      'entityID="https://sts.windows.net/a9054a0e',
    );
    expect(tampered).not.toBe(entraText);
    expect(Buffer.byteLength(tampered)).toBe(entra.length);
    expectMetadataError(tampered, 'metadata_signature_invalid', { pinnedCertificatePem: entraCert });
  });

  it('detects a changed SSO location', () => {
    const tampered = entraText.replace(
      'SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://login.microsoftonline.com/',
      'SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://login.microsoftonlinx.com/',
    );
    expect(tampered).not.toBe(entraText);
    expectMetadataError(tampered, 'metadata_signature_invalid', { pinnedCertificatePem: entraCert });
  });

  it('refuses a signed document wrapped in an unsigned EntitiesDescriptor with an attacker entity', () => {
    const signedEntity = entraText.replace(/^\uFEFF/, '').replace(/^<\?xml[^>]*\?>/, '');
    const wrapped =
      `<EntitiesDescriptor xmlns="${MD_NS}">` +
      idpXml({ entityId: 'https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/' }) +
      signedEntity +
      `</EntitiesDescriptor>`;
    const err = expectMetadataError(wrapped, 'metadata_signature_missing', {
      pinnedCertificatePem: entraCert,
    });
    expect(err.message).toContain('root element');
  });

  it('refuses SHA-1 signatures with a clear message', () => {
    const sha1 = entraText.replace(
      'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
    );
    const err = expectMetadataError(sha1, 'metadata_signature_invalid', { pinnedCertificatePem: entraCert });
    expect(err.message).toContain('SHA-1');
    const sha1Digest = entraText.replace(
      '<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256" />',
      '<DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1" />',
    );
    expect(sha1Digest).not.toBe(entraText);
    expect(metadataError(sha1Digest, { pinnedCertificatePem: entraCert }).message).toContain('SHA-1');
  });

  it('refuses a second signature anywhere in the document', () => {
    const sig = /<Signature [\s\S]*<\/Signature>/.exec(entraText)?.[0] as string;
    const twice = entraText.replace(
      '<IDPSSODescriptor ',
      `${sig.replace('<Signature ', '<Signature Id="x" ')}<IDPSSODescriptor `,
    );
    expect(twice).not.toBe(entraText);
    const err = expectMetadataError(twice, 'metadata_signature_invalid', { pinnedCertificatePem: entraCert });
    expect(err.message).toContain('2 signatures');
  });

  it('refuses a signature whose Reference points elsewhere than the root', () => {
    const otherRef = entraText.replace('<Reference URI="#_6a7269b2', '<Reference URI="#_7a7269b2');
    expect(otherRef).not.toBe(entraText);
    expectMetadataError(otherRef, 'metadata_signature_invalid', { pinnedCertificatePem: entraCert });
  });

  it('refuses an unreadable pinned certificate', () => {
    expectMetadataError(entra, 'metadata_certificate_invalid', { pinnedCertificatePem: 'bm90IGEgY2VydA==' });
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('parseIdpMetadata: hostile and broken input', () => {
  const xxe =
    '<?xml version="1.0"?><!DOCTYPE md:EntityDescriptor [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' +
    idpXml({ entityId: '&xxe;' });
  const billionLaughs =
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">' +
    '<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>' +
    idpXml({ entityId: '&lol9;' });

  it('empty input', () => {
    expectMetadataError('', 'metadata_empty');
    expectMetadataError('  \n\t ', 'metadata_empty');
    expectMetadataError(Buffer.alloc(0), 'metadata_empty');
    expectMetadataError(Buffer.from([0xef, 0xbb, 0xbf, 0x20]), 'metadata_empty');
  });

  it('2 MB input', () => {
    const big = idpXml({ after: `<!--${'x'.repeat(2 * 1024 * 1024)}-->` });
    const err = expectMetadataError(big, 'metadata_too_large');
    expect(err.details?.maxBytes).toBe(DEFAULT_MAX_XML_BYTES);
    expectMetadataError(Buffer.from(big), 'metadata_too_large');
    // The limit is configurable.
    expectMetadataError(idpXml(), 'metadata_too_large', { maxBytes: 100 });
  });

  it('DOCTYPE with an external entity (XXE)', () => {
    expectMetadataError(xxe, 'metadata_doctype_forbidden');
  });

  it('billion laughs', () => {
    expectMetadataError(billionLaughs, 'metadata_doctype_forbidden');
  });

  it('UTF-16 encoded DOCTYPE (Buffer), with and without BOM, LE and BE', () => {
    const le = Buffer.from(xxe, 'utf16le');
    expectMetadataError(Buffer.concat([Buffer.from([0xff, 0xfe]), le]), 'metadata_doctype_forbidden');
    expectMetadataError(le, 'metadata_doctype_forbidden');
    const be = Buffer.from(le).swap16();
    expectMetadataError(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'metadata_doctype_forbidden');
    expectMetadataError(be, 'metadata_doctype_forbidden');
  });

  it('malformed XML', () => {
    const err = expectMetadataError(
      `<md:EntityDescriptor xmlns:md="${MD_NS}" entityID="x"><md:IDPSSODescriptor></md:EntityDescriptor>`,
      'metadata_malformed_xml',
    );
    expect(err.message).toContain('not well-formed');
    expectMetadataError(idpXml().slice(0, -10), 'metadata_malformed_xml');
    expectMetadataError(`<md:EntityDescriptor entityID="x"/>`, 'metadata_malformed_xml'); // unbound prefix
    expectMetadataError('https://idp.example.com/metadata', 'metadata_malformed_xml');
  });

  it('trailing second root element', () => {
    expectMetadataError(
      idpXml() + idpXml({ entityId: 'https://evil.example.com' }),
      'metadata_malformed_xml',
    );
    expectMetadataError(idpXml() + 'trailing text', 'metadata_malformed_xml');
  });

  it('not SAML metadata', () => {
    const html = expectMetadataError('<html><body><p>Sign in</p></body></html>', 'metadata_not_saml');
    expect(html.message).toContain('HTML');
    expectMetadataError('<!DOCTYPE html>\n<html><body>Sign in</body></html>', 'metadata_not_saml');
    expectMetadataError('<!-- a -->\n<!-- b --><!DOCTYPE html><html><body/></html>', 'metadata_not_saml');
    // Many leading comments and no DOCTYPE: no regex backtracking blow-up.
    expectMetadataError('<!-- x -->'.repeat(5000) + '<html/>', 'metadata_not_saml');
    expectMetadataError('{"issuer":"https://login.example.com"}', 'metadata_not_saml');
    expectMetadataError('<root><child/></root>', 'metadata_not_saml');
    // Right local name, wrong namespace (selection is by namespace URI, not by prefix).
    expectMetadataError(
      idpXml().replace(`xmlns:md="${MD_NS}"`, 'xmlns:md="urn:example:not-metadata"'),
      'metadata_not_saml',
    );
    // A SAML response is not metadata.
    expectMetadataError(
      '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1"/>',
      'metadata_not_saml',
    );
  });

  it('SP-only metadata (no IDPSSODescriptor)', () => {
    const sp =
      `<EntityDescriptor xmlns="${MD_NS}" entityID="https://sp.example.com">` +
      `<SPSSODescriptor protocolSupportEnumeration="${SAML2}">` +
      `<AssertionConsumerService index="0" Binding="${SAML_BINDINGS.post}" Location="https://sp.example.com/acs"/>` +
      `</SPSSODescriptor></EntityDescriptor>`;
    const err = expectMetadataError(sp, 'metadata_no_idp_descriptor');
    expect(err.message).toBe(
      'The entity "https://sp.example.com" has no IDPSSODescriptor: this looks like service-provider metadata. ' +
        'Download the metadata of your identity provider (in Okta: Applications → your app → Sign On → Metadata URL; ' +
        'in Microsoft Entra ID: Enterprise applications → your app → Single sign-on → SAML Certificates → ' +
        'Federation Metadata XML; in AD FS: https://<your AD FS host>/FederationMetadata/2007-06/FederationMetadata.xml; ' +
        'in Google Workspace: Admin console → Apps → Web and mobile apps → your app → Download metadata).',
    );
  });

  it('an IDPSSODescriptor without SAML 2.0 in protocolSupportEnumeration counts as none', () => {
    const err = expectMetadataError(
      idpXml({ protocols: 'urn:oasis:names:tc:SAML:1.1:protocol urn:mace:shibboleth:1.0' }),
      'metadata_no_idp_descriptor',
    );
    expect(err.message).toContain('SAML 2.0');
  });

  it('IdP without a SingleSignOnService', () => {
    expectMetadataError(idpXml({ sso: '' }), 'metadata_no_sso_endpoint');
    // Only non-browser bindings.
    const soapOnly = expectMetadataError(
      idpXml({
        sso: `<md:SingleSignOnService Binding="${SAML_BINDINGS.soap}" Location="https://idp.example.com/soap"/>`,
      }),
      'metadata_no_sso_endpoint',
    );
    expect(soapOnly.message).toContain('HTTP-Redirect');
    // A browser binding whose Location is not an http(s) URL is unusable.
    expectMetadataError(
      idpXml({
        sso: `<md:SingleSignOnService Binding="${SAML_BINDINGS.post}" Location="javascript:alert(1)"/>`,
      }),
      'metadata_no_sso_endpoint',
    );
  });

  it('IdP without any certificate', () => {
    expectMetadataError(idpXml({ keys: '' }), 'metadata_no_signing_certificate');
    // KeyName only.
    expectMetadataError(
      idpXml({
        keys: '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:KeyName>k1</ds:KeyName></ds:KeyInfo></md:KeyDescriptor>',
      }),
      'metadata_no_signing_certificate',
    );
    // Encryption certificate only.
    const enc = expectMetadataError(
      idpXml({
        keys: `<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${OKTA_2024_CERT}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
      }),
      'metadata_no_signing_certificate',
    );
    expect(enc.message).toContain('encryption');
  });

  it('an unreadable certificate', () => {
    const err = expectMetadataError(
      idpXml({
        keys: '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>bm90IGEgY2VydA==</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>',
      }),
      'metadata_certificate_invalid',
    );
    expect(err.details?.keyDescriptor).toBe(1);
  });

  it('100 000-deep nesting', () => {
    const started = Date.now();
    const deep = idpXml({
      after: '<md:Extensions>' + '<x>'.repeat(100_000) + '</x>'.repeat(100_000) + '</md:Extensions>',
    });
    expectMetadataError(deep, 'metadata_too_complex');
    expect(Date.now() - started).toBeLessThan(5000); // generous; it takes a few ms
  });

  it('50 000 nodes', () => {
    const wide = idpXml({ after: '<md:Extensions>' + '<x/>'.repeat(50_000) + '</md:Extensions>' });
    expectMetadataError(wide, 'metadata_too_complex');
  });

  it('UTF-16 LE with BOM (and other encodings) parse fine', () => {
    const text = fixtureText('okta__metadata__2024.xml');
    const expected = parseIdpMetadata(text);
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect(parseIdpMetadata(le)).toEqual(expected);
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    expect(parseIdpMetadata(be)).toEqual(expected);
    expect(parseIdpMetadata(Buffer.from(text, 'utf16le'))).toEqual(expected);
    const keycloak = fixtureText('keycloak__metadata.xml');
    expect(parseIdpMetadata(Buffer.from(keycloak, 'utf16le')).entityId).toBe(
      'http://localhost:8085/realms/master',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('parseIdpMetadata: structure', () => {
  it('chooses by entityId in an EntitiesDescriptor with several IdPs, ambiguous without one', () => {
    const two =
      `<md:EntitiesDescriptor xmlns:md="${MD_NS}" xmlns:ds="${DS_NS}">` +
      idpXml({ entityId: 'https://idp-a.example.com' }).replace(/ xmlns:(md|ds)="[^"]+"/g, '') +
      idpXml({ entityId: 'https://idp-b.example.com' }).replace(/ xmlns:(md|ds)="[^"]+"/g, '') +
      `</md:EntitiesDescriptor>`;
    const err = expectMetadataError(two, 'metadata_entity_ambiguous');
    expect(err.details?.available).toEqual(['https://idp-a.example.com', 'https://idp-b.example.com']);
    const b = parseIdpMetadata(two, { entityId: 'https://idp-b.example.com' });
    expect(b.entityId).toBe('https://idp-b.example.com');
    expect(b.availableEntityIds).toEqual(['https://idp-a.example.com', 'https://idp-b.example.com']);
    const notFound = expectMetadataError(two, 'metadata_entity_not_found', {
      entityId: 'https://idp-c.example.com',
    });
    expect(notFound.details?.available).toEqual(['https://idp-a.example.com', 'https://idp-b.example.com']);
  });

  it('an entityId option that does not match a single EntityDescriptor is not found', () => {
    expectMetadataError(idpXml(), 'metadata_entity_not_found', { entityId: 'https://other.example.com' });
  });

  it('selects by namespace, never by prefix', () => {
    // Any prefix (or none) for the metadata and xmldsig namespaces.
    const other = idpXml()
      .replace(/md:/g, 'm:')
      .replace(/xmlns:md=/g, 'xmlns:m=')
      .replace(/ds:/g, 'sig:')
      .replace(/xmlns:ds=/g, 'xmlns:sig=');
    expect(other).toContain('<m:IDPSSODescriptor');
    expect(parseIdpMetadata(other).signingCertificates).toHaveLength(1);

    // An "md:IDPSSODescriptor" whose prefix is bound to another namespace is ignored.
    const fake = idpXml().replace(
      '<md:IDPSSODescriptor ',
      '<md:IDPSSODescriptor xmlns:md="urn:example:fake" ',
    );
    expectMetadataError(fake, 'metadata_no_idp_descriptor');

    // ds:X509Certificate in another namespace is ignored.
    const fakeDs = idpXml().replace('<ds:KeyInfo>', '<ds:KeyInfo xmlns:ds="urn:example:fake">');
    expectMetadataError(fakeDs, 'metadata_no_signing_certificate');
  });

  it('ignores certificates and endpoints of RoleDescriptors and SPSSODescriptors', () => {
    const entraCert = signatureCertificate(fixtureText(ENTRA_FILE));
    const keyDescriptor = (use: string, b64: string): string =>
      `<md:KeyDescriptor use="${use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
    const xml = idpXml({
      before:
        `<md:RoleDescriptor xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706" xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706">${keyDescriptor('signing', entraCert)}</md:RoleDescriptor>` +
        `<md:SPSSODescriptor protocolSupportEnumeration="${SAML2}">${keyDescriptor('signing', entraCert)}` +
        `<md:SingleLogoutService Binding="${SAML_BINDINGS.post}" Location="https://sp.example.com/slo"/></md:SPSSODescriptor>`,
    });
    const result = parseIdpMetadata(xml);
    expect(result.signingCertificates).toHaveLength(1);
    expect(need(result.signingCertificates[0]).subject).toContain('trial-1022863');
    expect(result.sloEndpoints).toEqual([]);
  });

  it('keeps several signing certificates, merges uses of a repeated certificate, keeps SLO ResponseLocation', () => {
    const entraCert = signatureCertificate(fixtureText(ENTRA_FILE));
    const keyDescriptor = (use: string | undefined, b64: string): string =>
      `<md:KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n  ${b64.replace(/(.{76})/g, '$1\n  ')}\n</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
    const xml = idpXml({
      idpAttrs: ' WantAuthnRequestsSigned="1"',
      keys:
        keyDescriptor('signing', OKTA_2024_CERT) +
        keyDescriptor(undefined, entraCert) +
        keyDescriptor('encryption', OKTA_2024_CERT),
      sso:
        `<md:SingleLogoutService Binding="${SAML_BINDINGS.redirect}" Location="https://idp.example.com/slo" ResponseLocation="https://idp.example.com/slo/response"/>` +
        `<md:SingleSignOnService Binding="${SAML_BINDINGS.redirect}" Location="https://idp.example.com/sso"/>`,
    });
    const result = parseIdpMetadata(xml);
    expect(result.wantAuthnRequestsSigned).toBe(true);
    expect(result.signingCertificates.map((c) => c.use)).toEqual(['both', 'both']);
    expect(need(result.signingCertificates[0]).subject).toContain('trial-1022863');
    expect(result.encryptionCertificates).toHaveLength(2);
    expect(result.sloEndpoints).toEqual([
      {
        binding: SAML_BINDINGS.redirect,
        location: 'https://idp.example.com/slo',
        responseLocation: 'https://idp.example.com/slo/response',
      },
    ]);
    expect(result.signature).toBe('absent');
  });

  it('validUntil and cacheDuration: the earliest of the enclosing EntitiesDescriptor, the entity and the role', () => {
    const xml =
      `<md:EntitiesDescriptor xmlns:md="${MD_NS}" xmlns:ds="${DS_NS}" validUntil="2030-01-01T00:00:00Z" cacheDuration="P1D">` +
      idpXml({ rootAttrs: ' validUntil="2031-01-01T00:00:00.0000000Z" cacheDuration="PT1H"' }).replace(
        / xmlns:(md|ds)="[^"]+"/g,
        '',
      ) +
      `</md:EntitiesDescriptor>`;
    const result = parseIdpMetadata(xml, { now: new Date('2029-01-01T00:00:00Z') });
    expect(result.validUntil).toBe('2030-01-01T00:00:00.000Z');
    expect(result.cacheDurationSeconds).toBe(3600);
    expect(result.warnings).toEqual([]);
    expect(parseIdpMetadata(xml, { now: new Date('2030-06-01T00:00:00Z') }).warnings).toContain(
      'valid_until_passed',
    );

    const week = parseIdpMetadata(idpXml({ rootAttrs: ' cacheDuration="PT604800S"' }));
    expect(week.cacheDurationSeconds).toBe(604800);
    expect(week.validUntil).toBeUndefined();

    const unreadable = parseIdpMetadata(
      idpXml({ rootAttrs: ' cacheDuration="1 hour" validUntil="tomorrow"' }),
    );
    expect(unreadable.cacheDurationSeconds).toBeUndefined();
    expect(unreadable.validUntil).toBeUndefined();
    expect(unreadable.warnings).toEqual(
      expect.arrayContaining(['cache_duration_unreadable', 'valid_until_unreadable']),
    );
  });

  it('validUntil is a strict xs:dateTime, as in SAML messages: without a time zone it is unreadable', () => {
    // Formerly read as UTC, while the ACS refused such a time; both now follow src/common/xml-dom.ts.
    const local = parseIdpMetadata(idpXml({ rootAttrs: ' validUntil="2030-01-01T00:00:00"' }));
    expect(local.validUntil).toBeUndefined();
    expect(local.warnings).toContain('valid_until_unreadable');
    const offset = parseIdpMetadata(idpXml({ rootAttrs: ' validUntil="2030-01-01T02:00:00+02:00"' }));
    expect(offset.validUntil).toBe('2030-01-01T00:00:00.000Z');
  });

  it('xs:duration parsing', () => {
    expect(parseXsDurationSeconds('PT1H')).toBe(3600);
    expect(parseXsDurationSeconds('P1D')).toBe(86400);
    expect(parseXsDurationSeconds('PT604800S')).toBe(604800);
    expect(parseXsDurationSeconds('PT30M')).toBe(1800);
    expect(parseXsDurationSeconds('P1DT1H1M1.5S')).toBe(90061.5);
    expect(parseXsDurationSeconds('P1Y')).toBe(365 * 86400);
    expect(parseXsDurationSeconds('P1M')).toBe(30 * 86400);
    for (const bad of ['', 'P', 'PT', 'P1H', '1H', '-P1D', 'P1DT', 'PT1.H', 'one hour']) {
      expect(parseXsDurationSeconds(bad)).toBeUndefined();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('summarizeCertificate', () => {
  const der = Buffer.from(OKTA_2024_CERT.replace(/\s+/g, ''), 'base64');
  const node = new X509Certificate(der);

  it('reads bare base64 with whitespace, and PEM with CRLF, to the same normalised summary', () => {
    const a = summarizeCertificate(OKTA_2024_CERT);
    const pemCrlf = `-----BEGIN CERTIFICATE-----\r\n${der.toString('base64').replace(/(.{64})/g, '$1\r\n')}\r\n-----END CERTIFICATE-----\r\n`;
    const b = summarizeCertificate(pemCrlf);
    expect(b).toEqual(a);
    expect(a.fingerprintSha256).toBe(node.fingerprint256);
    expect(a.serialNumber).toBe(node.serialNumber.toUpperCase());
    expect(a.notAfter).toBe('2034-04-25T20:31:02.000Z');
    expect(a.use).toBe('signing');
    expect(summarizeCertificate(OKTA_2024_CERT, 'encryption').use).toBe('encryption');
    expect(a.pem.split('\n').every((line) => line.length <= 64)).toBe(true);
  });

  it('refuses what is not a certificate', () => {
    for (const bad of [
      'bm90IGEgY2VydA==',
      '',
      'not base64 at all!',
      '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----',
      '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----',
      `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}`,
    ]) {
      const err = catchError(() => summarizeCertificate(bad));
      expect(err).toBeInstanceOf(MetadataError);
      expect((err as MetadataError).code).toBe('metadata_certificate_invalid');
    }
    const huge = `-----BEGIN X-----`.repeat(10_000);
    expect((catchError(() => summarizeCertificate(huge)) as MetadataError).code).toBe(
      'metadata_certificate_invalid',
    );
    const twoCerts =
      `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`.repeat(2);
    expect((catchError(() => summarizeCertificate(twoCerts)) as MetadataError).message).toContain(
      '2 certificates',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('xml-safety', () => {
  describe('decodeXmlBytes', () => {
    const xml = '<?xml version="1.0"?><a>é ✓ 𝄞</a>';

    it('decodes UTF-8 with and without BOM, strips a BOM from strings', () => {
      expect(decodeXmlBytes(Buffer.from(xml, 'utf8'))).toBe(xml);
      expect(decodeXmlBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(xml)]))).toBe(xml);
      expect(decodeXmlBytes(`\uFEFF${xml}`)).toBe(xml);
      expect(decodeXmlBytes(xml)).toBe(xml);
    });

    it('decodes UTF-16 LE/BE with a BOM and without one', () => {
      const le = Buffer.from(xml, 'utf16le');
      const be = Buffer.from(le).swap16();
      expect(decodeXmlBytes(Buffer.concat([Buffer.from([0xff, 0xfe]), le]))).toBe(xml);
      expect(decodeXmlBytes(Buffer.concat([Buffer.from([0xfe, 0xff]), be]))).toBe(xml);
      expect(decodeXmlBytes(le)).toBe(xml);
      expect(decodeXmlBytes(be)).toBe(xml);
      expect(decodeXmlBytes(Buffer.from(`\n${xml}`, 'utf16le'))).toBe(`\n${xml}`);
      expect(safetyError(() => decodeXmlBytes(Buffer.from([0xff, 0xfe, 0x3c]))).code).toBe('malformed_xml');
    });

    it('honours a declared ISO-8859-1 encoding; refuses invalid UTF-8', () => {
      const latin1 = Buffer.concat([
        Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><a>'),
        Buffer.from([0xe9]),
        Buffer.from('</a>'),
      ]);
      expect(decodeXmlBytes(latin1)).toBe('<?xml version="1.0" encoding="ISO-8859-1"?><a>é</a>');
      const invalid = Buffer.concat([Buffer.from('<a>'), Buffer.from([0xe9]), Buffer.from('</a>')]);
      expect(safetyError(() => decodeXmlBytes(invalid)).code).toBe('malformed_xml');
    });
  });

  describe('assertNoDoctype', () => {
    it('refuses DOCTYPE and ENTITY in any case', () => {
      for (const bad of [
        '<!DOCTYPE a><a/>',
        '<!doctype a><a/>',
        '<a><!ENTITY x "y"></a>',
        '<!DocType a [ ]><a/>',
      ]) {
        expect(safetyError(() => assertNoDoctype(bad)).code).toBe('doctype_forbidden');
      }
      expect(() => assertNoDoctype('<a><!-- no doc type here --><![CDATA[x]]></a>')).not.toThrow();
    });
  });

  describe('assertXmlSize', () => {
    it('refuses too large and empty input', () => {
      expect(safetyError(() => assertXmlSize('<a/>', 3)).code).toBe('too_large');
      expect(safetyError(() => assertXmlSize('é', 1)).code).toBe('too_large'); // 2 bytes in UTF-8
      expect(safetyError(() => assertXmlSize(' \n', 10)).code).toBe('empty');
      expect(safetyError(() => assertXmlSize(Buffer.from([0xff, 0xfe, 0x20, 0x00]), 10)).code).toBe('empty');
      expect(() => assertXmlSize('<a/>', 4)).not.toThrow();
    });
  });

  describe('parseXmlStrict', () => {
    it('parses a well-formed document with namespaces, comments and an XML declaration', () => {
      const doc = parseXmlStrict(
        '<?xml version="1.0"?>\n<!-- c --><x:a xmlns:x="urn:x"><x:b/>text</x:a>\n<!-- end -->',
      );
      expect(doc.documentElement?.localName).toBe('a');
      expect(doc.documentElement?.namespaceURI).toBe('urn:x');
      expect(doc.getElementsByTagNameNS('urn:x', 'b')).toHaveLength(1);
    });

    it.each([
      ['trailing content', '<a/>x', 'malformed_xml'],
      ['two roots', '<a/><b/>', 'malformed_xml'],
      ['unclosed', '<a><b></a>', 'malformed_xml'],
      ['unbound prefix', '<x:a/>', 'malformed_xml'],
      ['duplicate attribute', '<a b="1" b="2"/>', 'malformed_xml'],
      ['undefined entity', '<a>&foo;</a>', 'malformed_xml'],
      ['control character', '<a>\u0001</a>', 'malformed_xml'],
      ['NUL', '<a>\u0000</a>', 'malformed_xml'],
      ['not XML', 'hello', 'malformed_xml'],
      ['empty', '  ', 'empty'],
      ['DOCTYPE', '<!DOCTYPE a><a/>', 'doctype_forbidden'],
    ])('%s', (_name, xml, code) => {
      expect(safetyError(() => parseXmlStrict(xml)).code).toBe(code);
    });

    it('reports where the XML is broken', () => {
      expect(safetyError(() => parseXmlStrict('<a>\n  <b></c>\n</a>')).message).toMatch(/line 2/);
    });

    it('enforces depth and node limits (defaults 64 and 20 000)', () => {
      const nest = (n: number): string => '<a>'.repeat(n) + '</a>'.repeat(n);
      expect(() => parseXmlStrict(nest(64))).not.toThrow();
      expect(safetyError(() => parseXmlStrict(nest(65))).code).toBe('too_complex');
      expect(safetyError(() => parseXmlStrict(nest(5), { maxDepth: 4 })).code).toBe('too_complex');
      expect(safetyError(() => parseXmlStrict(`<r>${'<a/>'.repeat(20_000)}</r>`)).code).toBe('too_complex');
      // Attributes and text count as nodes too (only the tree walk sees them).
      expect(safetyError(() => parseXmlStrict('<a x="1" y="2" z="3">t</a>', { maxNodes: 4 })).code).toBe(
        'too_complex',
      );
      expect(() => parseXmlStrict('<a x="1" y="2" z="3">t</a>', { maxNodes: 5 })).not.toThrow();
      // Markup inside comments, CDATA and attribute values does not confuse the pre-scan.
      expect(() =>
        parseXmlStrict(
          `<r a="&lt;x&gt; > --"><!-- ${'<a>'.repeat(100)} --><![CDATA[${'<a>'.repeat(100)}]]></r>`,
        ),
      ).not.toThrow();
    });

    it('refuses hostile sizes quickly', () => {
      const started = Date.now();
      expect(safetyError(() => parseXmlStrict('<a>'.repeat(100_000) + '</a>'.repeat(100_000))).code).toBe(
        'too_complex',
      );
      expect(safetyError(() => parseXmlStrict(`<r>${'<a/>'.repeat(50_000)}</r>`)).code).toBe('too_complex');
      expect(Date.now() - started).toBeLessThan(5000);
    });
  });
});
