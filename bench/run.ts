/**
 * `npm run bench`: starts the production build of the bridge on a fresh PostgreSQL database, seeds it, and
 * drives it from this separate process over loopback with autocannon (bounded concurrency and duration).
 * Writes bench/results/<date>.json and .md: requests/s, p50/p95/p99, errors, server CPU per request and
 * peak RSS, per scenario and concurrency; plus the node-saml floor for the ACS. `--smoke`: a short run.
 */
import 'reflect-metadata';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import autocannon from 'autocannon';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { generateTestKeyPair, TestIdp } from '../test/support/saml-test-idp';
import { ADMIN_KEY, createBenchDatabase, cpuMs, peakRssMb, startBenchBridge } from './bench-bridge';

const SMOKE = process.argv.includes('--smoke');
const DURATION_S = SMOKE ? 1 : 10;
const CONCURRENCY = SMOKE ? [8] : [1, 8, 32];

interface Row {
  scenario: string;
  concurrency: number;
  requests: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  /** Answers other than the expected status (200, or 303 for the ACS). */
  unexpected: number;
  cpuMsPerRequest: number;
  peakRssMb: number;
}

function expectedCount(result: autocannon.Result, status: number): number {
  const stats =
    (result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {};
  return stats[String(status)]?.count ?? 0;
}

async function run(
  pid: number,
  scenario: string,
  concurrency: number,
  opts: autocannon.Options,
  expected = 200,
): Promise<Row> {
  const cpuBefore = cpuMs(pid);
  const result = await autocannon({ connections: concurrency, duration: DURATION_S, ...opts });
  const cpu = cpuMs(pid) - cpuBefore;
  const requests = result.requests.total;
  return {
    scenario,
    concurrency,
    requests,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p95: result.latency.p97_5 ?? result.latency.p99,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    unexpected: requests - expectedCount(result, expected),
    cpuMsPerRequest: requests ? Number((cpu / requests).toFixed(3)) : 0,
    peakRssMb: peakRssMb(pid),
  };
}

async function main(): Promise<void> {
  const db = await createBenchDatabase('bench');
  const { child, base } = await startBenchBridge(db.url);
  const pid = child.pid as number;
  const rows: Row[] = [];
  const auth = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
  try {
    const idp = new TestIdp({
      entityId: 'https://idp.bench/metadata',
      keys: await generateTestKeyPair('Bench IdP'),
    });
    const conn = (await (
      await fetch(`${base}/api/v1/connections`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          slug: 'bench',
          name: 'Bench',
          metadataXml: idp.metadataXml(),
          domains: ['bench.example'],
        }),
      })
    ).json()) as { sp: { entityId: string; acsUrl: string } };
    const svc = (await (
      await fetch(`${base}/api/v1/clients`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ name: 'Bench service', grantTypes: ['client_credentials'] }),
      })
    ).json()) as { clientId: string; clientSecret: string };
    const basic = `Basic ${Buffer.from(`${svc.clientId}:${svc.clientSecret}`).toString('base64')}`;

    for (const c of CONCURRENCY) {
      rows.push(await run(pid, 'discovery', c, { url: `${base}/.well-known/openid-configuration` }));
      rows.push(await run(pid, 'jwks', c, { url: `${base}/oidc/jwks` }));
      rows.push(
        await run(pid, 'client_credentials', c, {
          url: `${base}/oidc/token`,
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&scope=api',
        }),
      );
    }

    // ACS: genuinely signed (assertion) responses, each answering its own pending AuthnRequest.
    const perRun = SMOKE ? 200 : 3000;
    const floorResponses: string[] = [];
    for (const c of CONCURRENCY) {
      const bodies: string[] = [];
      for (let i = 0; i < perRun; i++) {
        const login = await fetch(`${base}/saml/bench/login`, { redirect: 'manual' });
        const location = new URL(login.headers.get('location') as string);
        const xml = inflateRawSync(
          Buffer.from(location.searchParams.get('SAMLRequest') as string, 'base64'),
        ).toString();
        const requestId = /ID="([^"]+)"/.exec(xml)?.[1] as string;
        const response = idp.responseXml({
          spEntityId: conn.sp.entityId,
          acsUrl: conn.sp.acsUrl,
          inResponseTo: requestId,
          nameId: `user-${c}-${i}`,
          attributes: { email: `user${i}@bench.example`, givenName: 'Bench', sn: 'User', groups: ['a', 'b'] },
        }) as string;
        if (floorResponses.length < 200) floorResponses.push(response);
        bodies.push(`SAMLResponse=${encodeURIComponent(Buffer.from(response).toString('base64'))}`);
      }
      let next = 0;
      rows.push(
        await run(
          pid,
          'acs (assertion-signed)',
          c,
          {
            url: `${base}/saml/bench/acs`,
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            amount: perRun,
            duration: 600,
            requests: [
              {
                setupRequest: (req: autocannon.Request) => ({ ...req, body: bodies[next++ % bodies.length] }),
              },
            ],
          },
          303,
        ),
      );
    }

    // The floor: node-saml alone validating the same kind of responses, in this process.
    const engine = new SAML({
      callbackUrl: conn.sp.acsUrl,
      issuer: conn.sp.entityId,
      audience: conn.sp.entityId,
      idpCert: idp.keys.certificatePem,
      wantAssertionsSigned: false,
      wantAuthnResponseSigned: false,
      validateInResponseTo: ValidateInResponseTo.never,
      acceptedClockSkewMs: 180_000,
    });
    const started = process.cpuUsage();
    for (const r of floorResponses)
      await engine.validatePostResponseAsync({ SAMLResponse: Buffer.from(r).toString('base64') });
    const used = process.cpuUsage(started);
    const floorMs = (used.user + used.system) / 1000 / floorResponses.length;

    const date = new Date().toISOString().replace(/[:.]/g, '-');
    const machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    };
    const acs = rows.filter((r) => r.scenario.startsWith('acs'));
    const summary = {
      date: new Date().toISOString(),
      smoke: SMOKE,
      durationSeconds: DURATION_S,
      database: 'postgresql',
      machine,
      floor: { nodeSamlValidateCpuMs: Number(floorMs.toFixed(3)) },
      acsOverheadRatio: acs.map((r) => ({
        concurrency: r.concurrency,
        ratio: Number((r.cpuMsPerRequest / floorMs).toFixed(2)),
      })),
      rows,
    };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(
      join('bench/results', `${date}${SMOKE ? '-smoke' : ''}.json`),
      `${JSON.stringify(summary, null, 2)}\n`,
    );
    const md = [
      `# Benchmark ${summary.date}${SMOKE ? ' (smoke)' : ''}`,
      '',
      `Machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memGb} GiB, Node ${machine.node}; PostgreSQL; ${DURATION_S} s per run.`,
      '',
      '| scenario | c | requests | req/s | p50 ms | p95 ms | p99 ms | errors | unexpected status | server CPU ms/req | peak RSS MB |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.scenario} | ${r.concurrency} | ${r.requests} | ${r.rps} | ${r.p50} | ${r.p95} | ${r.p99} | ${r.errors} | ${r.unexpected} | ${r.cpuMsPerRequest} | ${r.peakRssMb} |`,
      ),
      '',
      `node-saml floor (validate only, same responses): ${floorMs.toFixed(2)} ms CPU per response. ACS CPU / floor: ${summary.acsOverheadRatio
        .map((a) => `c=${a.concurrency}: ${a.ratio}×`)
        .join(', ')}.`,
      '',
    ].join('\n');
    writeFileSync(join('bench/results', `${date}${SMOKE ? '-smoke' : ''}.md`), md);
    process.stdout.write(`${md}\n`);
    const failed = rows.filter((r) => r.errors > 0 || r.unexpected > 0);
    if (failed.length) throw new Error(`benchmark saw errors: ${JSON.stringify(failed)}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await db.drop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
