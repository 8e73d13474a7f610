/**
 * The ACS checks one by one, on XML made by the test IdP: no HTTP, no database. The attack suite
 * (test/integration/saml-attacks.api.spec.ts) runs the same rules end to end.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Element, XMLSerializer } from 'xmldom-0.9';
import type { Profile } from '@node-saml/node-saml';
import type { ConnectionEntity } from '../../../src/connections/connection.entity';
import { type AcsMessage, type PolicyContext } from '../../../src/saml/acs/acs-message';
import { checkAssertionIssuer, MAX_ASSERTION_AGE_MS } from '../../../src/saml/acs/checks/assertion-issuer';
import { checkConditionsAndWindows } from '../../../src/saml/acs/checks/conditions-and-windows';
import { decryptInPlace } from '../../../src/saml/acs/checks/decryption';
import {
  checkEncryptionEnvelope,
  encryptedAssertionsOf,
} from '../../../src/saml/acs/checks/encryption-envelope';
import { checkInResponseToBinding } from '../../../src/saml/acs/checks/in-response-to-binding';
import { parseSamlXml } from '../../../src/saml/acs/checks/message-intake';
import { checkMessageShape } from '../../../src/saml/acs/checks/message-shape';
import { checkPendingRequest } from '../../../src/saml/acs/checks/pending-request';
import { checkReplay } from '../../../src/saml/acs/checks/replay';
import { checkRequiredSignature } from '../../../src/saml/acs/checks/required-signature';
import { checkResponseAddressing } from '../../../src/saml/acs/checks/response-addressing';
import { checkSignatureShapes } from '../../../src/saml/acs/checks/signature-shape';
import { checkSubjectConfirmation } from '../../../src/saml/acs/checks/subject-confirmation';
import { checkUserState } from '../../../src/saml/acs/checks/user-state';
import { ACS_CHECKS, type AcsPorts, runAcsPipeline } from '../../../src/saml/acs/pipeline';
import { decryptAssertions } from '../../../src/saml/saml-decryption';
import type { SamlRequestEntity } from '../../../src/saml/saml-request.entity';
import { SamlRejection } from '../../../src/saml/saml-rejection';
import { commentInjection } from '../../support/saml-attacks';
import {
  type AssertionInput,
  encryptAssertion,
  generateTestKeyPair,
  type ResponseOptions,
  TestIdp,
  type TestKeyPair,
} from '../../support/saml-test-idp';
import { need } from '../../support/defined';
import { reasonOf, reasonOfAsync } from '../support/rejection-reason';

const SP = 'https://bridge.test/saml/unit/metadata';
const ACS = 'https://bridge.test/saml/unit/acs';

let idp: TestIdp;
let spKeys: TestKeyPair;
beforeAll(async () => {
  idp = new TestIdp({ keys: await generateTestKeyPair('Unit IdP') });
  spKeys = await generateTestKeyPair('Unit SP');
});

const policy = (over: Partial<PolicyContext> = {}): PolicyContext => ({
  acsUrl: ACS,
  spEntityId: SP,
  idpEntityId: idp.entityId,
  allowSha1: false,
  clockSkewMs: 60_000,
  now: new Date(),
  ...over,
});
const input = (over: Partial<AssertionInput> = {}): AssertionInput => ({
  spEntityId: SP,
  acsUrl: ACS,
  nameId: 'alice',
  inResponseTo: '_req1',
  attributes: { email: 'alice@example.com' },
  ...over,
});
const response = (over: Partial<AssertionInput> = {}, opts: ResponseOptions = { sign: 'assertion' }) =>
  idp.responseXml(input(over), opts) as string;

const assertionOf = (xml: string): Element => checkMessageShape(parseSamlXml(xml)).assertion;

describe('ACS checks on XML fixtures', () => {
  it('the pipeline lists every check in order, each in its own file', () => {
    expect(ACS_CHECKS.map((c) => c.name)).toEqual([
      'message intake',
      'encryption envelope',
      'decryption',
      'message shape',
      'signature shape',
      'response addressing',
      'required signature',
      'pending request',
      'engine verification',
      'signed assertion',
      'conditions and windows',
      'assertion issuer',
      'subject confirmation',
      'InResponseTo binding',
      'authn context',
      'subject mapping',
      'user state',
      'single use',
    ]);
    for (const check of ACS_CHECKS) {
      const file = `${check.name.replace(/InResponseTo/, 'in-response-to').replace(/ /g, '-')}.ts`;
      expect({
        check: check.name,
        exists: existsSync(join(__dirname, '../../../src/saml/acs/checks', file)),
      }).toEqual({
        check: check.name,
        exists: true,
      });
    }
  });

  it('message shape: a Response with unique IDs, plain values, strict times, Success and one direct assertion', () => {
    const ok = response();
    expect(reasonOf(() => checkMessageShape(parseSamlXml(ok)))).toBeUndefined();
    const shape = (xml: string) => reasonOf(() => checkMessageShape(parseSamlXml(xml)));
    expect(shape(idp.assertionXml(input()))).toBe('saml_not_a_response');
    const assertionId = /<saml:Assertion [^>]*ID="([^"]+)"/.exec(ok)?.[1] as string;
    expect(
      shape(
        ok.replace(
          '<samlp:Status>',
          `<samlp:Extensions><x:m xmlns:x="urn:x" ID="${assertionId}"/></samlp:Extensions><samlp:Status>`,
        ),
      ),
    ).toBe('saml_duplicate_id');
    expect(shape(commentInjection(response({ nameId: 'admin@example.com.evil.com' })).xml)).toBe(
      'saml_comment_in_value',
    );
    expect(shape(ok.replace(/(<saml:Conditions [^>]*NotOnOrAfter=")([^"]+)Z"/, '$1$2"'))).toBe(
      'saml_malformed_xml',
    );
    expect(shape(response({ statusCode: 'AuthnFailed' }))).toBe('saml_idp_error_status');
    expect(shape(ok.replace(/<saml:Assertion[\s\S]*<\/saml:Assertion>/, ''))).toBe('saml_no_assertion');
    const assertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(ok)?.[0] as string;
    expect(
      shape(
        ok.replace(
          '</samlp:Response>',
          `${idp.assertionXml(input({ assertionId: '_other' }))}</samlp:Response>`,
        ),
      ),
    ).toBe('saml_multiple_assertions');
    expect(shape(ok.replace(assertion, `<samlp:Extensions>${assertion}</samlp:Extensions>`))).toBe(
      'saml_assertion_misplaced',
    );
  });

  it('signature shape: allowed algorithms only (SHA-1 only when the connection allows it), on the Response or the assertion', () => {
    const sha1 = response({}, { sign: 'assertion', signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1' });
    const doc = parseSamlXml(sha1);
    const { root, assertion } = checkMessageShape(doc);
    expect(reasonOf(() => checkSignatureShapes(doc, [root, assertion], { allowSha1: false }))).toBe(
      'saml_signature_algorithm_forbidden',
    );
    expect(reasonOf(() => checkSignatureShapes(doc, [root, assertion], { allowSha1: true }))).toBeUndefined();
    expect(reasonOf(() => checkSignatureShapes(doc, [root], { allowSha1: true }))).toBe(
      'saml_signature_malformed',
    );
  });

  it('response addressing and required signature', () => {
    const facts = (xml: string, ctx = policy()) => {
      const { root, assertion } = checkMessageShape(parseSamlXml(xml));
      return checkResponseAddressing(root, assertion, ctx, false);
    };
    expect(facts(response())).toMatchObject({
      destination: ACS,
      inResponseTo: '_req1',
      responseSigned: false,
      assertionSigned: true,
    });
    expect(reasonOf(() => facts(response({ destination: 'https://evil.example/acs' })))).toBe(
      'saml_destination_mismatch',
    );
    expect(reasonOf(() => facts(response({ destination: null }, { sign: 'response' })))).toBe(
      'saml_destination_mismatch',
    );
    expect(reasonOf(() => facts(response(), policy({ idpEntityId: 'https://other-idp.example' })))).toBe(
      'saml_issuer_mismatch',
    );
    const conn = (requiredSignature: string) =>
      ({ options: { requiredSignature } }) as unknown as ConnectionEntity;
    const assertionSigned = facts(response());
    expect(reasonOf(() => checkRequiredSignature(conn('either'), assertionSigned))).toBeUndefined();
    expect(reasonOf(() => checkRequiredSignature(conn('response'), assertionSigned))).toBe(
      'saml_signature_missing',
    );
    expect(
      reasonOf(() => checkRequiredSignature(conn('either'), facts(response({}, { sign: 'none' })))),
    ).toBe('saml_signature_missing');
  });

  it('encryption envelope: the algorithms decryption will use, one EncryptedData and one EncryptedKey', async () => {
    const envelope = async (over: Parameters<typeof encryptAssertion>[1], edit = (x: string) => x) => {
      const xml = edit(await idp.responseXml(input(), { sign: 'assertion', encrypt: over }));
      const doc = parseSamlXml(xml);
      return checkEncryptionEnvelope(doc, encryptedAssertionsOf(doc));
    };
    const gcm = { spCertificatePem: spKeys.certificatePem };
    expect(await envelope(gcm)).toEqual({ malleable: false });
    expect(await envelope({ ...gcm, dataAlgorithm: 'aes256-cbc' })).toEqual({ malleable: true });
    expect(await reasonOfAsync(() => envelope({ ...gcm, dataAlgorithm: 'tripledes-cbc' }))).toBe(
      'saml_encryption_algorithm_forbidden',
    );
    expect(await reasonOfAsync(() => envelope({ ...gcm, keyAlgorithm: 'rsa-1_5' }))).toBe(
      'saml_encryption_algorithm_forbidden',
    );
    // xml-encryption takes the first EncryptionMethod it finds by local name: a second one is refused.
    const smuggled = (x: string) =>
      x.replace(
        /(<xenc:EncryptedData[^>]*>)/,
        '$1<x:w xmlns:x="urn:x"><xenc:EncryptedData><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#tripledes-cbc"/></xenc:EncryptedData></x:w>',
      );
    expect(await reasonOfAsync(() => envelope(gcm, smuggled))).toBe('saml_encrypted_assertion_invalid');
  });

  it('decryption puts the assertion, as the IdP serialised it, where its EncryptedAssertion was', async () => {
    const xml = await idp.responseXml(input({ nameId: 'bob' }), {
      sign: 'assertion',
      encrypt: { spCertificatePem: spKeys.certificatePem },
    });
    const doc = parseSamlXml(xml);
    const encrypted = encryptedAssertionsOf(doc);
    const decryption = await decryptAssertions([spKeys.privateKeyPem], Buffer.from(xml).toString('base64'));
    decryptInPlace(encrypted, decryption);
    const { assertion } = checkMessageShape(doc);
    expect(checkSubjectConfirmation(assertion, policy()).nameId).toBe('bob');
    // Something that is not a SAML Assertion gets the one answer of every decryption failure.
    const other = parseSamlXml(xml);
    const bogus = {
      ...decryption,
      items: [{ ...need(decryption.items[0]), plaintext: '<x:Assertion xmlns:x="urn:x"/>' }],
    };
    expect(reasonOf(() => decryptInPlace(encryptedAssertionsOf(other), bogus))).toBe(
      'saml_encrypted_assertion_invalid',
    );
  });

  it('assertion issuer, subject confirmation, conditions and windows', () => {
    const ctx = policy();
    expect(reasonOf(() => checkAssertionIssuer(assertionOf(response()), ctx))).toBeUndefined();
    expect(
      reasonOf(() =>
        checkAssertionIssuer(
          assertionOf(
            response({ now: new Date(Date.now() - MAX_ASSERTION_AGE_MS - 120_000), lifetimeSeconds: 3600 }),
          ),
          ctx,
        ),
      ),
    ).toBe('saml_expired');
    expect(
      reasonOf(() =>
        checkAssertionIssuer(assertionOf(response({ now: new Date(Date.now() + 600_000) })), ctx),
      ),
    ).toBe('saml_not_yet_valid');
    expect(
      reasonOf(() =>
        checkSubjectConfirmation(assertionOf(response({ recipient: 'https://evil.example/acs' })), ctx),
      ),
    ).toBe('saml_recipient_mismatch');
    expect(
      reasonOf(() =>
        checkSubjectConfirmation(
          assertionOf(response({ confirmationMethod: 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key' })),
          ctx,
        ),
      ),
    ).toBe('saml_confirmation_invalid');
    expect(
      reasonOf(() =>
        checkSubjectConfirmation(assertionOf(response({ now: new Date(Date.now() - 3600_000) })), ctx),
      ),
    ).toBe('saml_expired');
    expect(
      reasonOf(() =>
        checkConditionsAndWindows(assertionOf(response({ audience: 'https://other-sp.example' })), ctx),
      ),
    ).toBe('saml_audience_mismatch');
    expect(
      reasonOf(() =>
        checkConditionsAndWindows(
          assertionOf(response({ sessionNotOnOrAfter: new Date(Date.now() - 3600_000) })),
          ctx,
        ),
      ),
    ).toBe('saml_session_expired');
    expect(checkConditionsAndWindows(assertionOf(response()), ctx).conditionsEnd).toBeInstanceOf(Date);
  });

  it('pending request, InResponseTo binding, replay and user state', async () => {
    const pending = { id: '_req1', context: {} } as unknown as SamlRequestEntity;
    const facts = {
      responseId: '_r',
      inResponseTo: '_req1',
      encrypted: false,
      responseSigned: false,
      assertionSigned: true,
    };
    const consume = async (id: string) => (id === '_req1' ? pending : null);
    expect(
      await checkPendingRequest(facts, { allowIdpInitiated: false, relayState: undefined }, consume),
    ).toBe(pending);
    expect(
      await reasonOfAsync(() =>
        checkPendingRequest(
          { ...facts, inResponseTo: '_unknown' },
          { allowIdpInitiated: true, relayState: undefined },
          consume,
        ),
      ),
    ).toBe('saml_in_response_to_unknown');
    expect(
      await reasonOfAsync(() =>
        checkPendingRequest(
          { ...facts, inResponseTo: undefined },
          { allowIdpInitiated: false, relayState: undefined },
          consume,
        ),
      ),
    ).toBe('saml_unsolicited_response');
    expect(
      await reasonOfAsync(() =>
        checkPendingRequest(facts, { allowIdpInitiated: false, relayState: '_other' }, consume),
      ),
    ).toBe('saml_relay_state_invalid');

    const assertion = {
      id: '_a',
      issuer: 'x',
      nameId: 'n',
      notOnOrAfter: new Date(),
      attributes: {},
      subjectConfirmationInResponseTo: '_req1',
    };
    expect(reasonOf(() => checkInResponseToBinding(pending, facts, assertion))).toBeUndefined();
    expect(
      reasonOf(() =>
        checkInResponseToBinding(pending, facts, { ...assertion, subjectConfirmationInResponseTo: '_req2' }),
      ),
    ).toBe('saml_in_response_to_mismatch');
    expect(reasonOf(() => checkInResponseToBinding(null, facts, assertion))).toBe(
      'saml_in_response_to_mismatch',
    );

    const seen = new Set<string>();
    const remember = async (id: string) => !seen.has(id) && Boolean(seen.add(id));
    expect(await reasonOfAsync(() => checkReplay(assertion, 0, remember))).toBeUndefined();
    expect(await reasonOfAsync(() => checkReplay(assertion, 0, remember))).toBe('saml_replay');

    expect(reasonOf(() => checkUserState({ id: 'u', disabled: true }, { showDisabled: false }))).toBe(
      'saml_user_disabled',
    );
    expect(
      reasonOf(() => checkUserState({ id: 'u', disabled: true }, { showDisabled: true })),
    ).toBeUndefined();
    expect(reasonOf(() => checkUserState(null, { showDisabled: false }))).toBeUndefined();
    expect(
      reasonOf(() =>
        checkUserState(
          { id: 'u', disabled: false, scimActive: false, scimDeletedAt: null },
          { showDisabled: false },
        ),
      ),
    ).toBe('user_deprovisioned');
    expect(
      reasonOf(() =>
        checkUserState(
          { id: 'u', disabled: false, scimActive: null, scimDeletedAt: new Date() },
          { showDisabled: false },
        ),
      ),
    ).toBe('user_deprovisioned');
    expect(
      reasonOf(() =>
        checkUserState(
          { id: 'u', disabled: false, scimActive: true, scimDeletedAt: null },
          { showDisabled: false },
        ),
      ),
    ).toBeUndefined();
  });

  describe('the pipeline with AES-CBC (no integrity): no format oracle', () => {
    /** Runs the whole pipeline with fake I/O; `verified` decides what the engine says of the signature. */
    async function run(xml: string, verified: boolean): Promise<string | undefined> {
      const key = { id: 'k', status: 'current' as const, ...spKeys };
      const verify = jest.fn(async () => {
        if (!verified) throw new SamlRejection('saml_encrypted_assertion_invalid', 'x');
        return { profile: null, loggedOut: false };
      });
      const ports: AcsPorts = {
        findRequest: async () => ({ id: '_req1', context: {} }) as unknown as SamlRequestEntity,
        decryptionKeys: async () => [key],
        decrypt: (keys, text) =>
          decryptAssertions(
            keys.map((k) => k.privateKeyPem),
            Buffer.from(text).toString('base64'),
          ),
        verify,
        acceptLogin: async () => ({ requestTaken: true, remembered: true, code: 'c' }),
        findUser: async () => null,
        disabledUserPolicy: () => ({ showDisabled: false }),
      };
      const connection = {
        options: { requiredSignature: 'either' },
        allowIdpInitiated: false,
      } as unknown as ConnectionEntity;
      const m: AcsMessage = { connection, xml, relayState: undefined, policy: policy() };
      return reasonOfAsync(() => runAcsPipeline(m, ports));
    }
    const cbc = (opts: ResponseOptions, over: Partial<AssertionInput> = {}) =>
      idp.responseXml(input(over), {
        ...opts,
        encrypt: { spCertificatePem: spKeys.certificatePem, dataAlgorithm: 'aes256-cbc' },
      });

    it('refuses decrypted content for what it is when the IdP signature over it verifies', async () => {
      const sha1 = await cbc({ sign: 'assertion', signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1' });
      expect(await run(sha1, true)).toBe('saml_signature_algorithm_forbidden');
    });

    it('gives the one answer of every decryption failure when it does not', async () => {
      const sha1 = await cbc({ sign: 'assertion', signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1' });
      expect(await run(sha1, false)).toBe('saml_encrypted_assertion_invalid');
      expect(await run(await cbc({ sign: 'none' }), false)).toBe('saml_encrypted_assertion_invalid');
    });
  });
});

describe('the pipeline writes once, last', () => {
  /** Runs every check with fake I/O over a signed response answering `_req1`; the engine returns its assertion. */
  async function run(over: Partial<AcsPorts> = {}) {
    const xml = idp.responseXml(input(), { sign: 'assertion' }) as string;
    const assertion = checkMessageShape(parseSamlXml(xml)).assertion;
    const assertionXml = new XMLSerializer().serializeToString(assertion);
    const accept = jest.fn(async () => ({ requestTaken: true, remembered: true, code: 'the-code' }));
    const ports: AcsPorts = {
      findRequest: async (id) =>
        id === '_req1'
          ? ({ id: '_req1', context: {}, createdAt: new Date() } as unknown as SamlRequestEntity)
          : null,
      decryptionKeys: async () => [],
      decrypt: async () => {
        throw new Error('not encrypted');
      },
      verify: async () => ({
        profile: { getAssertionXml: () => assertionXml } as unknown as Profile,
        loggedOut: false,
      }),
      acceptLogin: accept,
      findUser: async () => null,
      disabledUserPolicy: () => ({ showDisabled: false }),
      ...over,
    };
    const connection = {
      options: { requiredSignature: 'either', attributeMapping: {} },
      preset: 'generic',
      domains: [],
      allowIdpInitiated: false,
    } as unknown as ConnectionEntity;
    const m: AcsMessage = { connection, xml, relayState: undefined, policy: policy() };
    const reason = await reasonOfAsync(() => runAcsPipeline(m, ports));
    return { reason, m, accept: (over.acceptLogin as jest.Mock | undefined) ?? accept };
  }

  it('takes the request, remembers the assertion and stores the login in one call once every check passed', async () => {
    const { reason, m, accept } = await run();
    expect(reason).toBeUndefined();
    expect(accept).toHaveBeenCalledTimes(1);
    const [message, until] = accept.mock.calls[0] as unknown as [AcsMessage, Date];
    expect(message).toBe(m);
    // Kept in the replay cache until the assertion's NotOnOrAfter plus the clock skew.
    expect(until.getTime()).toBe(need(m.assertion).notOnOrAfter.getTime() + 60_000);
    expect(m.completionCode).toBe('the-code');
  });

  it('writes nothing for a login a check refuses, even the last read one (a disabled user)', async () => {
    const { reason, accept } = await run({
      findUser: async () => ({ id: 'u', disabled: true, scimActive: true, scimDeletedAt: null }),
    });
    expect(reason).toBe('saml_user_disabled');
    expect(accept).not.toHaveBeenCalled();
  });

  it('refuses a response whose request another response took first, and a replayed assertion', async () => {
    const lost = await run({
      acceptLogin: jest.fn(async () => ({ requestTaken: false, remembered: false })),
    });
    expect(lost.reason).toBe('saml_in_response_to_unknown');
    const replay = await run({
      acceptLogin: jest.fn(async () => ({ requestTaken: true, remembered: false })),
    });
    expect(replay.reason).toBe('saml_replay');
  });

  it('refuses an unknown request before the engine runs, without writing', async () => {
    const verify = jest.fn();
    const { reason, accept } = await run({ findRequest: async () => null, verify });
    expect(reason).toBe('saml_in_response_to_unknown');
    expect(verify).not.toHaveBeenCalled();
    expect(accept).not.toHaveBeenCalled();
  });
});
