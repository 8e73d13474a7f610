/**
 * The single logout checks one by one and the pipeline in order, on XML and query strings made by the test
 * IdP: no HTTP, no database (the ports are in-memory). The attack suite
 * (test/integration/saml-attacks.api.spec.ts §6) runs the same rules end to end.
 */
import { SAML } from '@node-saml/node-saml';
import type { ConnectionEntity } from '../../../src/connections/connection.entity';
import { parseSamlXml } from '../../../src/saml/acs/checks/message-intake';
import type { SamlRequestEntity } from '../../../src/saml/saml-request.entity';
import { readPostBinding, readRedirectBinding } from '../../../src/saml/slo/checks/binding-intake';
import { checkLogoutAddressing } from '../../../src/saml/slo/checks/logout-addressing';
import { checkLogoutInResponseTo } from '../../../src/saml/slo/checks/logout-in-response-to';
import { checkLogoutShape } from '../../../src/saml/slo/checks/logout-shape';
import { checkRedirectSignature } from '../../../src/saml/slo/checks/logout-signature';
import {
  checkPostSignatureShape,
  checkRedirectSignatureShape,
} from '../../../src/saml/slo/checks/logout-signature-shape';
import { checkLogoutRequestSubject } from '../../../src/saml/slo/checks/logout-subject';
import { checkLogoutWindows } from '../../../src/saml/slo/checks/logout-windows';
import { runSloPipeline, SLO_CHECKS, type SloPorts } from '../../../src/saml/slo/pipeline';
import type { SloInput, SloPolicy } from '../../../src/saml/slo/slo-message';
import { deflateBomb, withDoctype } from '../../support/saml-attacks';
import {
  generateTestKeyPair,
  type LogoutRequestInput,
  TestIdp,
  type TestKeyPair,
} from '../../support/saml-test-idp';
import { reasonOf, reasonOfAsync } from '../support/rejection-reason';

const SP = 'https://bridge.test/saml/unit/metadata';
const SLO = 'https://bridge.test/saml/unit/slo';
const RSA_MD5 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-md5';

let idp: TestIdp;
let attacker: TestKeyPair;
beforeAll(async () => {
  idp = new TestIdp({ keys: await generateTestKeyPair('SLO unit IdP') });
  attacker = await generateTestKeyPair('SLO attacker');
});

const policy = (over: Partial<SloPolicy> = {}): SloPolicy => ({
  sloUrl: SLO,
  idpEntityId: idp.entityId,
  allowSha1: false,
  clockSkewMs: 60_000,
  now: new Date(),
  ...over,
});
const request = (over: Partial<LogoutRequestInput> = {}, signer = idp, sign = false) =>
  signer.logoutRequestXml(
    { spEntityId: SP, destination: SLO, nameId: 'alice', sessionIndex: 'idx-1', ...over },
    { sign },
  );
const minutesFromNow = (m: number) => new Date(Date.now() + m * 60_000);

const rootOf = (xml: string) =>
  parseSamlXml(xml).documentElement as NonNullable<ReturnType<typeof parseSamlXml>['documentElement']>;

describe('SLO checks, one by one', () => {
  it('binding intake: Redirect parameters once each, DEFLATE bounded; POST one field', () => {
    const query = idp.redirectBindingQuery('SAMLRequest', request(), 'a b');
    const read = readRedirectBinding(query);
    expect(read.field).toBe('SAMLRequest');
    expect(read.relayState).toBe('a b');
    expect(read.xml).toContain('LogoutRequest');
    expect(reasonOf(() => readRedirectBinding(`${query}&RelayState=x&RelayState=y`))).toBe(
      'saml_logout_invalid',
    );
    expect(reasonOf(() => readRedirectBinding('RelayState=x'))).toBe('saml_message_missing');
    expect(reasonOf(() => readRedirectBinding('SAMLRequest=bm90IGRlZmxhdGU%3D'))).toBe('saml_malformed_xml');
    expect(
      reasonOf(() => readRedirectBinding(`SAMLRequest=${encodeURIComponent(deflateBomb(5).SAMLRequest)}`)),
    ).toBe('saml_message_too_large');
    expect(reasonOf(() => readRedirectBinding('SAMLRequest=%E0%A4%A'))).toBe('saml_logout_invalid');
    expect(readPostBinding({ SAMLResponse: Buffer.from('<x/>').toString('base64') }).field).toBe(
      'SAMLResponse',
    );
    expect(reasonOf(() => readPostBinding({}))).toBe('saml_message_missing');
  });

  it('message intake (the ACS check): no DOCTYPE', () => {
    expect(reasonOf(() => parseSamlXml(withDoctype(request(), 'xxe').xml))).toBe('saml_doctype_forbidden');
  });

  it('logout shape: a LogoutRequest/LogoutResponse in its own field, with an ID, plain values, strict times', () => {
    const ok = parseSamlXml(request());
    expect(checkLogoutShape(ok, 'SAMLRequest').kind).toBe('LogoutRequest');
    expect(reasonOf(() => checkLogoutShape(ok, 'SAMLResponse'))).toBe('saml_logout_invalid');
    const response = idp.logoutResponseXml({ destination: SLO, inResponseTo: '_r1' });
    expect(checkLogoutShape(parseSamlXml(response), 'SAMLResponse').kind).toBe('LogoutResponse');
    const notLogout = idp.responseXml({ spEntityId: SP, acsUrl: SLO, nameId: 'alice' }) as string;
    expect(reasonOf(() => checkLogoutShape(parseSamlXml(notLogout), 'SAMLRequest'))).toBe(
      'saml_logout_invalid',
    );
    expect(reasonOf(() => checkLogoutShape(parseSamlXml(request({ id: '' })), 'SAMLRequest'))).toBe(
      'saml_logout_invalid',
    );
    const commented = request({ nameId: 'victim@corp.example' }).replace('victim@corp', 'victim@corp<!---->');
    expect(reasonOf(() => checkLogoutShape(parseSamlXml(commented), 'SAMLRequest'))).toBe(
      'saml_comment_in_value',
    );
    const noZone = request().replace(/NotOnOrAfter="([^"]+)Z"/, 'NotOnOrAfter="$1"');
    expect(reasonOf(() => checkLogoutShape(parseSamlXml(noZone), 'SAMLRequest'))).toBe('saml_malformed_xml');
  });

  it('logout signature shape (Redirect): signed, SigAlg by the SHA-1 policy, signed parameters in order', () => {
    const signed = idp.redirectBindingQuery('SAMLRequest', request(), 'rs', { sign: true });
    const shape = (query: string, allowSha1 = false) =>
      checkRedirectSignatureShape(query, readRedirectBinding(query).params, 'SAMLRequest', { allowSha1 });
    expect(shape(signed).hash).toBe('sha256');
    expect(reasonOf(() => shape(idp.redirectBindingQuery('SAMLRequest', request())))).toBe(
      'saml_signature_missing',
    );
    const sha1 = idp.redirectBindingQuery('SAMLRequest', request(), undefined, {
      sign: true,
      sigAlg: 'rsa-sha1',
    });
    expect(reasonOf(() => shape(sha1))).toBe('saml_signature_algorithm_forbidden');
    expect(shape(sha1, true).hash).toBe('sha1');
    const md5 = `${idp.redirectBindingQuery('SAMLRequest', request())}&SigAlg=${encodeURIComponent(RSA_MD5)}&Signature=eA%3D%3D`;
    expect(reasonOf(() => shape(md5))).toBe('saml_signature_algorithm_forbidden');
    const [message, relay, sigAlg, signature] = signed.split('&');
    expect(reasonOf(() => shape([relay, message, sigAlg, signature].join('&')))).toBe('saml_logout_invalid');
  });

  it('logout signature shape (POST): an enveloped signature shaped as on the ACS', () => {
    const unsigned = parseSamlXml(request());
    expect(
      reasonOf(() => checkPostSignatureShape(unsigned, unsigned.documentElement as never, policy())),
    ).toBe('saml_signature_missing');
    const signed = parseSamlXml(request({}, idp, true));
    expect(
      reasonOf(() => checkPostSignatureShape(signed, signed.documentElement as never, policy())),
    ).toBeUndefined();
    const wrapped = parseSamlXml(
      request({}, idp, true).replace('</ds:SignedInfo>', '</ds:SignedInfo><!-- x -->'),
    );
    expect(reasonOf(() => checkPostSignatureShape(wrapped, wrapped.documentElement as never, policy()))).toBe(
      'saml_signature_malformed',
    );
  });

  it('logout addressing: Issuer is the IdP (required), Destination the SLO URL when named', () => {
    expect(checkLogoutAddressing(rootOf(request()), policy()).issuer).toBe(idp.entityId);
    expect(reasonOf(() => checkLogoutAddressing(rootOf(request({ issuer: 'https://evil' })), policy()))).toBe(
      'saml_issuer_mismatch',
    );
    expect(
      reasonOf(() =>
        checkLogoutAddressing(rootOf(request().replace(/<saml:Issuer>[^<]*<\/saml:Issuer>/, '')), policy()),
      ),
    ).toBe('saml_issuer_mismatch');
    expect(
      reasonOf(() => checkLogoutAddressing(rootOf(request({ destination: 'https://evil/slo' })), policy())),
    ).toBe('saml_destination_mismatch');
  });

  it('logout windows: NotOnOrAfter not passed, IssueInstant within 10 minutes (with the skew)', () => {
    expect(checkLogoutWindows(rootOf(request()), policy()).issueInstant).toBeInstanceOf(Date);
    const expired = request({ now: minutesFromNow(-60), notOnOrAfter: minutesFromNow(-50) });
    expect(reasonOf(() => checkLogoutWindows(rootOf(expired), policy()))).toBe('saml_expired');
    const stale = request({ now: minutesFromNow(-120), notOnOrAfter: minutesFromNow(30) });
    expect(reasonOf(() => checkLogoutWindows(rootOf(stale), policy()))).toBe('saml_expired');
    const future = request({ now: minutesFromNow(30) });
    expect(reasonOf(() => checkLogoutWindows(rootOf(future), policy()))).toBe('saml_expired');
    const skewed = request({ now: minutesFromNow(-10.5), notOnOrAfter: minutesFromNow(5) });
    expect(reasonOf(() => checkLogoutWindows(rootOf(skewed), policy()))).toBeUndefined();
  });

  it('logout signature (Redirect): verifies with a metadata certificate only', () => {
    const signed = (signer: TestIdp) => {
      const query = signer.redirectBindingQuery('SAMLRequest', request(), 'rs', { sign: true });
      return checkRedirectSignatureShape(query, readRedirectBinding(query).params, 'SAMLRequest', policy());
    };
    expect(reasonOf(() => checkRedirectSignature(signed(idp), [idp.keys.certificatePem]))).toBeUndefined();
    const forger = new TestIdp({ entityId: idp.entityId, keys: attacker });
    expect(reasonOf(() => checkRedirectSignature(signed(forger), [idp.keys.certificatePem]))).toBe(
      'saml_signature_invalid',
    );
  });

  it('logout subject: a LogoutRequest names its user', () => {
    expect(checkLogoutRequestSubject(rootOf(request()))).toEqual({
      nameId: 'alice',
      sessionIndexes: ['idx-1'],
    });
    const noNameId = request().replace(/<saml:NameID[^>]*>[^<]*<\/saml:NameID>/, '');
    expect(reasonOf(() => checkLogoutRequestSubject(rootOf(noNameId)))).toBe('saml_logout_invalid');
  });

  it('logout InResponseTo: answers a pending logout request of ours, once', async () => {
    const pending = new Map([['_ours', { id: '_ours', returnTo: '/bye' } as SamlRequestEntity]]);
    const consume = async (id: string) => {
      const found = pending.get(id) ?? null;
      pending.delete(id);
      return found;
    };
    expect((await checkLogoutInResponseTo('_ours', consume)).returnTo).toBe('/bye');
    expect(await reasonOfAsync(() => checkLogoutInResponseTo('_ours', consume))).toBe(
      'saml_in_response_to_unknown',
    );
    expect(await reasonOfAsync(() => checkLogoutInResponseTo(undefined, consume))).toBe(
      'saml_in_response_to_unknown',
    );
  });
});

describe('SLO pipeline', () => {
  const connection = () =>
    ({
      id: 'conn-slo',
      idpEntityId: idp.entityId,
      idp: { signingCertificates: [{ pem: idp.keys.certificatePem }] },
      options: { allowSha1: false, clockSkewSeconds: 60 },
    }) as unknown as ConnectionEntity;

  /** In-memory ports; the POST signature is verified by node-saml as SloService does. */
  function ports(pending: Record<string, SamlRequestEntity> = {}): SloPorts & { seen: Set<string> } {
    const seen = new Set<string>();
    const engine = new SAML({
      issuer: SP,
      callbackUrl: SLO,
      idpCert: idp.keys.certificatePem,
      idpIssuer: idp.entityId,
      audience: false,
      acceptedClockSkewMs: -1,
    });
    return {
      seen,
      verifyPostSignature: async (xml, field) => {
        const encoded = Buffer.from(xml).toString('base64');
        if (field === 'SAMLRequest') await engine.validatePostRequestAsync({ SAMLRequest: encoded });
        else await engine.validatePostResponseAsync({ SAMLResponse: encoded });
      },
      rememberLogoutRequest: async (id) => {
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      },
      consumeLogoutRequest: async (id) => {
        const found = pending[id] ?? null;
        delete pending[id];
        return found;
      },
    };
  }
  const run = (input: SloInput, p: SloPorts = ports()) =>
    runSloPipeline({ connection: connection(), input, policy: policy() }, p);
  const post = (xml: string): SloInput => ({
    binding: 'HTTP-POST',
    body: { SAMLRequest: Buffer.from(xml).toString('base64') },
  });

  it('lists the checks in order', () => {
    expect(SLO_CHECKS.map((c) => c.name)).toEqual([
      'binding intake',
      'message intake',
      'logout shape',
      'logout signature shape',
      'logout addressing and windows',
      'logout signature',
      'logout subject',
      'replay',
      'logout InResponseTo',
    ]);
  });

  it('accepts a signed LogoutRequest on both bindings, once each', async () => {
    const p = ports();
    const redirect = idp.redirectBindingQuery('SAMLRequest', request(), 'rs', { sign: true });
    const facts = await run({ binding: 'HTTP-Redirect', rawQuery: redirect }, p);
    expect(facts).toMatchObject({ kind: 'LogoutRequest', nameId: 'alice', sessionIndexes: ['idx-1'] });
    expect(await reasonOfAsync(() => run({ binding: 'HTTP-Redirect', rawQuery: redirect }, p))).toBe(
      'saml_replay',
    );
    const signedPost = request({}, idp, true);
    expect((await run(post(signedPost), p)).kind).toBe('LogoutRequest');
    expect(await reasonOfAsync(() => run(post(signedPost), p))).toBe('saml_replay');
  });

  it('accepts a signed LogoutResponse to a pending request of ours, and only once', async () => {
    const p = ports({ _ours: { id: '_ours', returnTo: null } as SamlRequestEntity });
    const query = idp.redirectBindingQuery(
      'SAMLResponse',
      idp.logoutResponseXml({ destination: SLO, inResponseTo: '_ours' }),
      undefined,
      { sign: true },
    );
    expect((await run({ binding: 'HTTP-Redirect', rawQuery: query }, p)).kind).toBe('LogoutResponse');
    expect(await reasonOfAsync(() => run({ binding: 'HTTP-Redirect', rawQuery: query }, p))).toBe(
      'saml_in_response_to_unknown',
    );
  });

  it('refuses in order: what the message says before its signature, state changes only after it', async () => {
    const forger = new TestIdp({ entityId: 'https://evil.example/idp', keys: attacker });
    const p = ports();
    // Another IdP's message signed with its own key: the issuer is named first.
    const foreign = forger.redirectBindingQuery(
      'SAMLRequest',
      request({ issuer: forger.entityId }, forger),
      undefined,
      {
        sign: true,
      },
    );
    expect(await reasonOfAsync(() => run({ binding: 'HTTP-Redirect', rawQuery: foreign }, p))).toBe(
      'saml_issuer_mismatch',
    );
    // A forged POST signature: refused by node-saml, and nothing was remembered.
    const sameIssuerForger = new TestIdp({ entityId: idp.entityId, keys: attacker });
    const forged = request({ id: '_forged' }, sameIssuerForger, true);
    expect(await reasonOfAsync(() => run(post(forged), p))).toBe('saml_signature_invalid');
    expect(p.seen.size).toBe(0);
    // The genuine message with the same ID is still accepted afterwards.
    expect((await run(post(request({ id: '_forged' }, idp, true)), p)).id).toBe('_forged');
    // Tampered after signing (POST): the signature no longer verifies.
    const tampered = request({ nameId: 'alice' }, idp, true).replace('>alice<', '>mallory<');
    expect(await reasonOfAsync(() => run(post(tampered), p))).toBe('saml_signature_invalid');
  });
});
