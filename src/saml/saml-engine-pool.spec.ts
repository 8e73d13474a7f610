import { SAML, type Profile } from '@node-saml/node-saml';
import {
  generateTestKeyPair,
  TestIdp,
  type AssertionInput,
  type TestKeyPair,
} from '../../test/support/saml-test-idp';
import type { ConnectionEntity } from '../connections/connection.entity';
import type { LoadedSpKey } from '../keys/sp-keys.service';
import { decryptAssertions } from './saml-decryption';
import { AcsVerifier, SamlEngineFactory } from './saml-engine';
import { SamlEnginePool, SamlEnginePoolError, type CloneableSamlConfig } from './saml-engine-pool';
import { need } from '../../test/support/defined';

const SP_ENTITY_ID = 'https://bridge.test/saml/pool/metadata';
const ACS_URL = 'https://bridge.test/saml/pool/acs';

/** The fields of a connection the ACS options are built from. */
function connection(idp: TestIdp, requiredSignature: 'assertion' | 'response' | 'both'): ConnectionEntity {
  return {
    id: `conn-${requiredSignature}`,
    slug: 'pool',
    updatedAt: new Date('2026-11-01T00:00:00Z'),
    idpEntityId: idp.entityId,
    idp: { signingCertificates: [{ pem: idp.keys.certificatePem }] },
    options: {
      spEntityId: SP_ENTITY_ID,
      acsUrl: ACS_URL,
      clockSkewSeconds: 60,
      forceAuthn: false,
      requestedAuthnContext: [],
      requiredSignature,
    },
  } as unknown as ConnectionEntity;
}

const spKey = (id: string, keys: TestKeyPair): LoadedSpKey => ({ id, status: 'current', ...keys });

/** Profile data without node-saml's accessor functions. */
function data(profile: Profile | null): Record<string, unknown> | null {
  if (!profile) return null;
  return Object.fromEntries(Object.entries(profile).filter(([, v]) => typeof v !== 'function'));
}

const NO_CACHE = { saveAsync: async () => null, getAsync: async () => null, removeAsync: async () => null };

/** What the same options do in this thread (the ACS's verifier): the outcome, or the error message. */
async function inThread(config: CloneableSamlConfig, SAMLResponse: string) {
  return new AcsVerifier({ ...config, cacheProvider: NO_CACHE }).validatePostResponseAsync({ SAMLResponse });
}

/** node-saml as a whole (with its profile step) on the same options. */
async function withProfileStep(config: CloneableSamlConfig, SAMLResponse: string) {
  return new SAML({ ...config, cacheProvider: NO_CACHE }).validatePostResponseAsync({ SAMLResponse });
}

/** The NameID of the signed assertion the engine returned (the ACS's checks read it from that XML). */
function nameIdOf(outcome: { profile: Profile | null }): string | undefined {
  return /<saml:NameID[^>]*>([^<]*)</.exec(outcome.profile?.getAssertionXml?.() ?? '')?.[1];
}

async function messageOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    // Not `instanceof Error`: node:crypto errors come from another realm than jest's test globals.
    if (typeof err === 'object' && err !== null && 'message' in err) return String(err.message);
    return `not an Error: ${String(err)}`;
  }
  throw new Error('expected a rejection');
}

describe('SamlEnginePool', () => {
  const factory = new SamlEngineFactory();
  let idp: TestIdp;
  let sp: LoadedSpKey;
  let otherSp: LoadedSpKey;
  let otherKeys: TestKeyPair;
  let pool: SamlEnginePool;

  const input = (over: Partial<AssertionInput> = {}): AssertionInput => ({
    spEntityId: SP_ENTITY_ID,
    acsUrl: ACS_URL,
    nameId: 'alice',
    attributes: { email: 'alice@example.com', groups: ['staff', 'R&D'] },
    ...over,
  });
  const base64 = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');
  const acs = (requiredSignature: 'assertion' | 'response' | 'both' = 'assertion', key = sp) => {
    const conn = connection(idp, requiredSignature);
    return {
      key: factory.acsEngineKey(conn, key),
      config: factory.acsConfig(conn, 'https://bridge.test', key),
    };
  };

  beforeAll(async () => {
    let idpKeys: TestKeyPair, spKeys: TestKeyPair;
    [idpKeys, spKeys, otherKeys] = await Promise.all([
      generateTestKeyPair('Pool IdP'),
      generateTestKeyPair('Pool SP'),
      generateTestKeyPair('Other SP'),
    ]);
    idp = new TestIdp({ keys: idpKeys });
    sp = spKey('sp-1', spKeys);
    otherSp = spKey('sp-2', otherKeys);
    pool = new SamlEnginePool({ threads: 2 });
  });
  afterAll(() => pool.onModuleDestroy());

  it('validates a signed response on a worker with the same result as in-thread', async () => {
    const SAMLResponse = base64(idp.responseXml(input(), { sign: 'assertion' }));
    const { key, config } = acs();
    const [threaded, local] = await Promise.all([
      pool.validatePostResponse(key, config, SAMLResponse),
      inThread(config, SAMLResponse),
    ]);
    expect(nameIdOf(threaded)).toBe('alice');
    expect(threaded.loggedOut).toBe(local.loggedOut);
    expect(data(threaded.profile)).toEqual(data(local.profile));
    expect(threaded.profile?.getAssertionXml?.()).toBe(local.profile?.getAssertionXml?.());
    expect(pool.threadIds().length).toBeGreaterThanOrEqual(1);
  });

  it.each(['assertion', 'response', 'both'] as const)(
    'returns the signed assertion node-saml verified (%s signed), without a profile',
    async (sign) => {
      const SAMLResponse = base64(idp.responseXml(input(), { sign }));
      const { key, config } = acs(sign);
      const threaded = await pool.validatePostResponse(key, config, SAMLResponse);
      // The same assertion, byte for byte, as node-saml's own profile gives (its profile step is all that
      // is skipped), and none of the profile's fields: the ACS's checks read that assertion.
      expect(threaded.profile?.getAssertionXml?.()).toBe(
        (await withProfileStep(config, SAMLResponse)).profile?.getAssertionXml?.(),
      );
      expect(data(threaded.profile)).toEqual({});
    },
  );

  it.each([
    ['for another SP', 'audience', { audience: 'https://other.example' }],
    ['expired', 'expired', { now: new Date(Date.now() - 3600_000) }],
  ] as const)(
    'leaves an assertion %s to the ACS checks after it (node-saml would judge it in its profile step)',
    async (_name, refusal, over) => {
      const SAMLResponse = base64(idp.responseXml(input(over), { sign: 'assertion' }));
      const { key, config } = acs();
      const judging = { ...config, audience: SP_ENTITY_ID, acceptedClockSkewMs: 60_000 };
      await expect(withProfileStep(judging, SAMLResponse)).rejects.toThrow(new RegExp(refusal, 'i'));
      expect(nameIdOf(await pool.validatePostResponse(`${key}:content`, judging, SAMLResponse))).toBe(
        'alice',
      );
    },
  );

  it('decrypts an encrypted assertion like in-thread', async () => {
    const SAMLResponse = base64(
      await idp.responseXml(input({ nameId: 'bob' }), {
        sign: 'assertion',
        encrypt: { spCertificatePem: sp.certificatePem },
      }),
    );
    const { key, config } = acs();
    const [threaded, local] = await Promise.all([
      pool.validatePostResponse(key, config, SAMLResponse),
      inThread(config, SAMLResponse),
    ]);
    expect(nameIdOf(threaded)).toBe('bob');
    expect(data(threaded.profile)).toEqual(data(local.profile));
    expect(threaded.profile?.getAssertionXml?.()).toBe(local.profile?.getAssertionXml?.());
  });

  it('decrypts EncryptedAssertions on a worker like in-thread, with the first key that opens them', async () => {
    const SAMLResponse = base64(
      await idp.responseXml(input({ nameId: 'dave' }), {
        sign: 'assertion',
        encrypt: { spCertificatePem: sp.certificatePem },
      }),
    );
    const keys = [otherSp.privateKeyPem, sp.privateKeyPem];
    const [threaded, local] = await Promise.all([
      pool.decryptAssertions(keys, SAMLResponse),
      decryptAssertions(keys, SAMLResponse),
    ]);
    expect(threaded).toEqual(local);
    expect(threaded.keyIndex).toBe(1);
    expect(threaded.items).toHaveLength(1);
    // The assertion as the IdP serialised it: its signature is still there.
    expect(need(threaded.items[0]).ciphertext).toMatch(/^<saml:EncryptedAssertion/);
    expect(need(threaded.items[0]).plaintext).toMatch(/^<saml:Assertion [\s\S]*<ds:Signature[\s\S]*>dave</);
  });

  it('refuses to decrypt with none of the keys, naming why each failed', async () => {
    const SAMLResponse = base64(
      await idp.responseXml(input(), { sign: 'assertion', encrypt: { spCertificatePem: sp.certificatePem } }),
    );
    const threaded = pool.decryptAssertions([otherSp.privateKeyPem], SAMLResponse);
    await expect(threaded).rejects.not.toBeInstanceOf(SamlEnginePoolError);
    expect(await messageOf(threaded)).toMatch(/^No SP decryption key decrypts the assertion: /);
    expect(await messageOf(threaded)).toBe(
      await messageOf(decryptAssertions([otherSp.privateKeyPem], SAMLResponse)),
    );
  });

  it('validates with the plaintexts it is given instead of decrypting again', async () => {
    const SAMLResponse = base64(
      await idp.responseXml(input({ nameId: 'erin' }), {
        sign: 'assertion',
        encrypt: { spCertificatePem: sp.certificatePem },
      }),
    );
    const { items } = await pool.decryptAssertions([sp.privateKeyPem], SAMLResponse);
    const { key, config } = acs();
    expect(nameIdOf(await pool.validatePostResponse(key, config, SAMLResponse, items))).toBe('erin');
    // Given another (genuinely signed) plaintext for the same ciphertext, node-saml reads that one: it did
    // not decrypt the ciphertext itself.
    const other = (
      await pool.decryptAssertions(
        [sp.privateKeyPem],
        base64(
          await idp.responseXml(input({ nameId: 'frank' }), {
            sign: 'assertion',
            encrypt: { spCertificatePem: sp.certificatePem },
          }),
        ),
      )
    ).items[0]?.plaintext;
    const swapped = [{ ciphertext: need(items[0]).ciphertext, plaintext: need(other) }];
    expect(nameIdOf(await pool.validatePostResponse(key, config, SAMLResponse, swapped))).toBe('frank');
  });

  it.each([
    [
      'a tampered signature',
      async () => ({
        xml: idp.responseXml(input(), { sign: 'assertion' }).replace('>alice<', '>mallory<'),
        ...acs(),
      }),
    ],
    [
      'a response signed with a key not in the metadata',
      async () => ({
        xml: idp.responseXml(input(), { sign: 'assertion', signingKeys: otherKeys }),
        ...acs(),
      }),
    ],
    [
      'an unsigned response when the response must be signed',
      async () => ({ xml: idp.responseXml(input(), { sign: 'assertion' }), ...acs('both') }),
    ],
    [
      'an assertion encrypted for another SP key',
      async () => ({
        xml: await idp.responseXml(input(), {
          sign: 'assertion',
          encrypt: { spCertificatePem: otherSp.certificatePem },
        }),
        ...acs(),
      }),
    ],
  ])('rejects %s with the in-thread message', async (_name, make) => {
    const { xml, key, config } = await make();
    const SAMLResponse = base64(xml);
    const local = await messageOf(inThread(config, SAMLResponse));
    const threaded = pool.validatePostResponse(key, config, SAMLResponse);
    await expect(threaded).rejects.toThrow(Error);
    await expect(threaded).rejects.not.toBeInstanceOf(SamlEnginePoolError);
    expect(await messageOf(threaded)).toBe(local);
  });

  it("reports its threads' CPU time, which grows with the work they do", async () => {
    const pool = new SamlEnginePool({ threads: 1 });
    try {
      expect(pool.cpuSeconds()).toBe(0);
      const { key, config } = acs();
      const response = base64(idp.responseXml(input(), { sign: 'assertion' }));
      await pool.validatePostResponse(key, config, response);
      const first = pool.cpuSeconds() as number;
      for (let i = 0; i < 30; i++) await pool.validatePostResponse(key, config, response);
      // 30 signature checks (and the JIT work of a fresh thread) take well over the /proc tick of 10 ms.
      expect(pool.cpuSeconds()).toBeGreaterThan(first);
    } finally {
      await pool.onModuleDestroy();
    }
  });

  it('completes many concurrent validations, on every thread', async () => {
    const { key, config } = acs();
    const names = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const results = await Promise.all(
      names.map((nameId) =>
        pool.validatePostResponse(
          key,
          config,
          base64(idp.responseXml(input({ nameId }), { sign: 'assertion' })),
        ),
      ),
    );
    expect(results.map(nameIdOf)).toEqual(names);
    expect(pool.threadIds()).toHaveLength(2);
  });

  it('abandons a task that exceeds the timeout, replaces the worker and keeps working', async () => {
    const slow = new SamlEnginePool({ threads: 1, taskTimeoutMs: 3000, testFaults: true });
    try {
      const { key, config } = acs();
      const valid = () => base64(idp.responseXml(input(), { sign: 'assertion' }));
      await slow.validatePostResponse(key, config, valid());
      const [before] = slow.threadIds();
      const cpuBefore = slow.cpuSeconds() as number;
      const hung = slow.validatePostResponse(key, config, '__hang__');
      const queued = slow.validatePostResponse(key, config, valid());
      await expect(hung).rejects.toThrow(
        new SamlEnginePoolError('SAML response validation timed out after 3000 ms.'),
      );
      // The abandoned worker's CPU (3 s of looping, less when other processes share the cores) still counts
      // after its thread has ended.
      expect(slow.cpuSeconds()).toBeGreaterThan(cpuBefore + 0.2);
      // The task queued behind it runs on the replacement worker.
      expect(nameIdOf(await queued)).toBe('alice');
      expect(slow.threadIds()).toHaveLength(1);
      expect(slow.threadIds()[0]).not.toBe(before);
    } finally {
      await slow.onModuleDestroy();
    }
  });

  it('fails the task of a crashed worker and replaces the worker', async () => {
    const fragile = new SamlEnginePool({ threads: 1, testFaults: true });
    try {
      const { key, config } = acs();
      await fragile.validatePostResponse(
        key,
        config,
        base64(idp.responseXml(input(), { sign: 'assertion' })),
      );
      const [before] = fragile.threadIds();
      await expect(fragile.validatePostResponse(key, config, '__crash__')).rejects.toThrow(
        new SamlEnginePoolError('The SAML engine worker stopped unexpectedly (exit code 70).'),
      );
      const after = await fragile.validatePostResponse(
        key,
        config,
        base64(idp.responseXml(input({ nameId: 'carol' }), { sign: 'assertion' })),
      );
      expect(nameIdOf(after)).toBe('carol');
      expect(fragile.threadIds()[0]).not.toBe(before);
    } finally {
      await fragile.onModuleDestroy();
    }
  });

  it('fails queued tasks at shutdown and refuses new ones', async () => {
    const closing = new SamlEnginePool({ threads: 1 });
    const { key, config } = acs();
    const SAMLResponse = base64(idp.responseXml(input(), { sign: 'assertion' }));
    const tasks = [1, 2, 3].map(() =>
      closing.validatePostResponse(key, config, SAMLResponse).then(
        () => 'validated',
        (err: unknown) => err,
      ),
    );
    await closing.onModuleDestroy();
    expect(await Promise.all(tasks)).toEqual(
      [1, 2, 3].map(() => new SamlEnginePoolError('The SAML engine pool is shut down.')),
    );
    await expect(closing.validatePostResponse(key, config, SAMLResponse)).rejects.toBeInstanceOf(
      SamlEnginePoolError,
    );
    expect(closing.threadIds()).toEqual([]);
  });

  it('with 0 threads is disabled and starts no worker', async () => {
    const none = new SamlEnginePool({ threads: 0 });
    expect(none.enabled).toBe(false);
    const { key, config } = acs();
    await expect(none.validatePostResponse(key, config, 'x')).rejects.toBeInstanceOf(SamlEnginePoolError);
    expect(none.threadIds()).toEqual([]);
  });
});
