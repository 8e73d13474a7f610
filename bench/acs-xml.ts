/**
 * Microbenchmark of the ACS's XML work, in one process, in CPU time per response (no HTTP, no database):
 * the bench's own kind of signed responses (the same builder and attributes as `npm run bench`'s ACS runs)
 * through the real ACS pipeline (src/saml/acs/pipeline.ts) with the database ports faked, and node-saml
 * either on the real engine pool (one worker thread) or in this thread.
 *
 *   npm run bench:build && node dist-bench/bench/acs-xml.js [options]
 *     --kind assertion-signed | encrypted | login   the ACS runs' responses (seven attributes, eight groups),
 *                                                   the same encrypted, or the full login's (one attribute)
 *     --mode pool | inline                          node-saml on a worker thread (as the bridge runs it), or
 *                                                   in this thread with the CPU time of each check
 *     --n 600                                       measured responses (after --warmup 200)
 *     --keys <file>                                 the IdP's and SP's test keys from this file (written
 *                                                   with fresh keys when it does not exist), so that runs
 *                                                   differ only in what they measure (for instruction
 *                                                   counts: `npm run bench:instructions`)
 *
 * Prints one JSON line: CPU ms per response of the main thread, the engine thread and the whole process
 * (which adds V8's helper threads: concurrent GC), and in inline mode each check's. Thread CPU time comes
 * from /proc (10 ms ticks): keep n × the per-response cost well above a second.
 */
import { decodeXmlBytes } from '../src/common/xml-safety';
import type { ConnectionEntity } from '../src/connections/connection.entity';
import { PRESET_OPTIONS } from '../src/connections/connection-presets';
import type { LoadedSpKey } from '../src/keys/sp-keys.service';
import { ownThreadId, threadCpuSeconds } from '../src/metrics/thread-cpu';
import type { AcsMessage, PolicyContext } from '../src/saml/acs/acs-message';
import { classifyEngineError, encryptedAssertionInvalid } from '../src/saml/acs/checks/engine-verification';
import { ACS_CHECKS, type AcsPorts } from '../src/saml/acs/pipeline';
import { decryptAssertions } from '../src/saml/saml-decryption';
import { SamlEngineFactory } from '../src/saml/saml-engine';
import { type AssertionDecryption, type EngineOutcome, SamlEnginePool } from '../src/saml/saml-engine-pool';
import type { SamlRequestEntity } from '../src/saml/saml-request.entity';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { generateTestKeyPair, TestIdp, type TestKeyPair } from '../test/support/saml-test-idp';
import { benchProfileAttributes, cliOption as option } from './bench-bridge';

type Kind = 'assertion-signed' | 'encrypted' | 'login';
type Mode = 'pool' | 'inline';

const KIND = option('kind', 'assertion-signed') as Kind;
const MODE = option('mode', 'pool') as Mode;
const N = Number(option('n', '600'));
const WARMUP = Number(option('warmup', '200'));
/** Distinct responses, cycled (each answers its own request ID). */
const DISTINCT = 100;
const BASE_URL = 'http://127.0.0.1:3000';

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The IdP's and SP's key pairs: from `--keys <file>` when given (created there on first use), else fresh. */
async function benchKeys(): Promise<{ idp: TestKeyPair; sp: TestKeyPair }> {
  const file = option('keys', '');
  if (file && existsSync(file))
    return JSON.parse(readFileSync(file, 'utf8')) as { idp: TestKeyPair; sp: TestKeyPair };
  const keys = { idp: await generateTestKeyPair('Bench IdP'), sp: await generateTestKeyPair('Bench SP') };
  if (file) writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

async function main(): Promise<void> {
  const keys = await benchKeys();
  const idp = new TestIdp({ entityId: 'https://idp.bench/metadata', keys: keys.idp });
  const sp = keys.sp;
  const spKey: LoadedSpKey = { id: 'sp-key-1', status: 'current', ...sp } as LoadedSpKey;
  const connection = {
    id: '00000000-0000-4000-8000-000000000001',
    slug: 'bench',
    preset: 'generic',
    domains: ['bench.example'],
    allowIdpInitiated: false,
    updatedAt: new Date('2026-01-01T00:00:00Z'),
    idpEntityId: idp.entityId,
    idp: { signingCertificates: [{ pem: idp.keys.certificatePem }] },
    options: PRESET_OPTIONS.generic,
  } as unknown as ConnectionEntity;
  const acsUrl = `${BASE_URL}/saml/bench/acs`;
  const spEntityId = `${BASE_URL}/saml/bench/metadata`;

  const bodies: string[] = [];
  for (let i = 0; i < DISTINCT; i++) {
    const input = {
      spEntityId,
      acsUrl,
      inResponseTo: `_${String(i).padStart(40, '0')}`,
      nameId: `user-32-${i}`,
      lifetimeSeconds: 3600,
      attributes: KIND === 'login' ? { email: `user-32-${i}@bench.example` } : benchProfileAttributes(i),
    };
    const xml =
      KIND === 'encrypted'
        ? await idp.responseXml(input, {
            sign: 'assertion',
            encrypt: { spCertificatePem: sp.certificatePem },
          })
        : idp.responseXml(input, { sign: 'assertion' });
    bodies.push(Buffer.from(xml).toString('base64'));
  }

  const factory = new SamlEngineFactory();
  const pool = new SamlEnginePool({ threads: MODE === 'pool' ? 1 : 0 });
  const runEngine = async (
    SAMLResponse: string,
    decryption: AssertionDecryption | undefined,
  ): Promise<EngineOutcome> => {
    try {
      if (pool.enabled) {
        return await pool.validatePostResponse(
          factory.acsEngineKey(connection, spKey),
          factory.acsConfig(connection, BASE_URL, spKey),
          SAMLResponse,
          decryption?.items,
        );
      }
      return await factory.forAcs(connection, BASE_URL, spKey).validatePostResponseAsync({ SAMLResponse });
    } catch (err) {
      throw classifyEngineError(err, decryption !== undefined);
    }
  };
  const decrypt = async (keys: LoadedSpKey[], SAMLResponse: string): Promise<AssertionDecryption> => {
    const pems = keys.map((k) => k.privateKeyPem);
    try {
      return pool.enabled
        ? await pool.decryptAssertions(pems, SAMLResponse)
        : await decryptAssertions(pems, SAMLResponse);
    } catch (err) {
      throw encryptedAssertionInvalid({ engine: err instanceof Error ? err.message : String(err) });
    }
  };

  const perCheck = new Map<string, number>(ACS_CHECKS.map((c) => [c.name, 0]));
  perCheck.set('decode', 0);

  /** One response through the ACS, as SamlService.consumeResponse runs it (its database ports faked). */
  async function once(i: number, timed: boolean): Promise<void> {
    const body = bodies[i % DISTINCT] ?? '';
    let t = timed ? cpuMs() : 0;
    const lap = (name: string) => {
      if (!timed) return;
      const now = cpuMs();
      perCheck.set(name, (perCheck.get(name) ?? 0) + now - t);
      t = now;
    };
    // SamlService: decodeBase64Message (decodeSamlBytes is decodeXmlBytes), then acsPorts' SAMLResponse for the engine.
    const compact = body.replace(/[\r\n\t ]/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw new Error('not base64');
    const xml = decodeXmlBytes(Buffer.from(compact, 'base64'));
    const SAMLResponse = Buffer.from(xml, 'utf8').toString('base64');
    lap('decode');
    const policy: PolicyContext = {
      acsUrl,
      spEntityId,
      idpEntityId: idp.entityId,
      allowSha1: false,
      clockSkewMs: 180_000,
      now: new Date(),
    };
    const requestId = `_${String(i % DISTINCT).padStart(40, '0')}`;
    const pending = {
      id: requestId,
      connectionId: connection.id,
      kind: 'authn',
      returnTo: null,
      context: {},
      browserBinding: null,
      createdAt: new Date(Date.now() - 1000),
      expiresAt: new Date(Date.now() + 600_000),
    } as SamlRequestEntity;
    const ports: AcsPorts = {
      findRequest: async (id) => (id === requestId ? pending : null),
      decryptionKeys: async () => [spKey],
      decrypt: (keys) => decrypt(keys, SAMLResponse),
      verify: (_key, decryption) => runEngine(SAMLResponse, decryption),
      acceptLogin: async () => ({ requestTaken: true, remembered: true, code: 'c' }),
      findUser: async () => null,
      disabledUserPolicy: () => ({ showDisabled: false }),
    };
    const m: AcsMessage = { connection, xml, relayState: requestId, policy };
    // runAcsPipeline's loop (valid responses only: its AES-CBC branch is for refusals), each check timed.
    for (const check of ACS_CHECKS) {
      await check.run(m, ports);
      lap(check.name);
    }
    if (!m.mapped) throw new Error('the pipeline did not map the login');
  }

  for (let i = 0; i < WARMUP; i++) await once(i, false);
  for (const name of perCheck.keys()) perCheck.set(name, 0);
  const tid = ownThreadId();
  const main0 = tid === undefined ? undefined : threadCpuSeconds(tid);
  const engine0 = pool.cpuSeconds();
  const proc0 = cpuMs();
  for (let i = 0; i < N; i++) await once(i, MODE === 'inline');
  const proc1 = cpuMs();
  const main1 = tid === undefined ? undefined : threadCpuSeconds(tid);
  const engine1 = pool.cpuSeconds();
  await pool.onModuleDestroy();

  const perOp = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? null : Number((((b - a) * 1000) / N).toFixed(3));
  const checks: Record<string, number> = {};
  if (MODE === 'inline') {
    for (const [name, total] of perCheck) checks[name] = Number((total / N).toFixed(3));
  }
  process.stdout.write(
    `${JSON.stringify({
      kind: KIND,
      mode: MODE,
      n: N,
      xmlBytes: Buffer.from(bodies[0] ?? '', 'base64').length,
      mainThreadCpuMs: perOp(main0, main1),
      engineThreadCpuMs: MODE === 'pool' ? perOp(engine0, engine1) : null,
      processCpuMs: Number(((proc1 - proc0) / N).toFixed(3)),
      ...(MODE === 'inline' ? { checks } : {}),
    })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
