/**
 * Polis beside the bridge in `npm run bench`: starts Polis (bench/polis/server.mjs, the npm package
 * @boxyhq/saml-jackson installed in bench/polis only) on its own PostgreSQL database, registers the same
 * test IdP, and drives a full login (authorize → the IdP → ACS → code → token) following Polis' own
 * redirects, as the bridge's driver does for the bridge.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { freeLoopbackPort } from '../test/support/bridge-process';
import { benchServerNode } from './bench-bridge';
import type { TestIdp } from '../test/support/saml-test-idp';
import type { ScimClient } from './scim-sync';

const POLIS_DIR = join(__dirname, '..', '..', 'bench', 'polis');
export const POLIS_AUDIENCE = 'https://saml.boxyhq.com';
const REDIRECT = 'https://app.bench.example/callback';

export interface Polis {
  base: string;
  child: ChildProcess;
  stop: () => Promise<void>;
}

/** Installs Polis in bench/polis from its lockfile when it is not there yet. */
export function ensurePolisInstalled(): void {
  if (existsSync(join(POLIS_DIR, 'node_modules', '@boxyhq', 'saml-jackson'))) return;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['ci', '--no-audit', '--no-fund', '--prefix', POLIS_DIR], { stdio: 'inherit' });
}

export async function startPolis(databaseUrl: string): Promise<Polis> {
  ensurePolisInstalled();
  const port = await freeLoopbackPort();
  const child = spawn(benchServerNode(), [join(POLIS_DIR, 'server.mjs')], {
    cwd: POLIS_DIR,
    env: { ...process.env, PORT: String(port), DATABASE_URL: databaseUrl, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) return { base, child, stop };
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error('Polis did not start');
}

export interface PolisSeeded {
  clientId: string;
  clientSecret: string;
  acsUrl: string;
  /** Polis' SP certificate (its default one, generated and stored on first use): what an IdP encrypts to. */
  spCertificatePem: string;
}

export async function seedPolis(polis: Polis, idp: TestIdp): Promise<PolisSeeded> {
  const res = await fetch(`${polis.base}/admin/connections`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      rawMetadata: idp.metadataXml(),
      tenant: 'bench.example',
      product: 'bench',
      redirectUrl: [REDIRECT],
      defaultRedirectUrl: REDIRECT,
    }),
  });
  if (res.status !== 201) throw new Error(`Polis connection: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { clientID: string; clientSecret: string };
  const sp = await fetch(`${polis.base}/admin/sp-config`);
  if (sp.status !== 200) throw new Error(`Polis SP config: ${sp.status} ${await sp.text()}`);
  const { certificatePem } = (await sp.json()) as { certificatePem: string };
  return {
    clientId: body.clientID,
    clientSecret: body.clientSecret,
    acsUrl: `${polis.base}/api/oauth/saml`,
    spCertificatePem: certificatePem,
  };
}

const expectRedirect = (res: Response, what: string): string => {
  const location = res.headers.get('location');
  if (res.status < 300 || res.status >= 400 || !location)
    throw new Error(`Polis ${what}: HTTP ${res.status}`);
  return location;
};

export interface PolisCode {
  code: string;
  verifier: string;
}

/** A Polis login on its way to the IdP. */
export interface PolisPending {
  verifier: string;
  inResponseTo: string;
  relayState: string;
}

/** Authorize at Polis: its redirect to the IdP with the AuthnRequest. */
export async function polisToIdp(polis: Polis, s: PolisSeeded, idp: TestIdp): Promise<PolisPending> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const authorize = new URL(`${polis.base}/api/oauth/authorize`);
  for (const [k, v] of Object.entries({
    client_id: s.clientId,
    redirect_uri: REDIRECT,
    response_type: 'code',
    state: randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: 'openid email',
  }))
    authorize.searchParams.set(k, v);
  const toIdp = new URL(expectRedirect(await fetch(authorize, { redirect: 'manual' }), 'authorize'));
  if (!toIdp.href.startsWith(idp.ssoUrl)) throw new Error(`Polis sent the browser to ${toIdp.origin}`);
  const request = inflateRawSync(
    Buffer.from(toIdp.searchParams.get('SAMLRequest') as string, 'base64'),
  ).toString();
  return {
    verifier,
    inResponseTo: /ID="([^"]+)"/.exec(request)?.[1] as string,
    relayState: toIdp.searchParams.get('RelayState') ?? '',
  };
}

/** The IdP's signed response POSTed to Polis' ACS, and its redirect to the app with a code. */
export async function polisFromIdp(
  s: PolisSeeded,
  pending: PolisPending,
  user: string,
  respond: (input: {
    inResponseTo: string;
    acsUrl: string;
    audience: string;
    nameId: string;
  }) => Promise<string> | string,
): Promise<PolisCode> {
  const samlResponse = await respond({
    inResponseTo: pending.inResponseTo,
    acsUrl: s.acsUrl,
    audience: POLIS_AUDIENCE,
    nameId: user,
  });
  const acs = await fetch(s.acsUrl, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: pending.relayState }).toString(),
  });
  const back = new URL(expectRedirect(acs, 'ACS'));
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`Polis: no code (${back.searchParams.get('error') ?? back.href})`);
  return { code, verifier: pending.verifier };
}

/** Authorize → the IdP's signed response → ACS → a code at the app's redirect URI (Polis' own redirects). */
export async function polisCode(
  polis: Polis,
  s: PolisSeeded,
  idp: TestIdp,
  user: string,
  respond: (input: {
    inResponseTo: string;
    acsUrl: string;
    audience: string;
    nameId: string;
  }) => Promise<string> | string,
): Promise<PolisCode> {
  return polisFromIdp(s, await polisToIdp(polis, s, idp), user, respond);
}

/** The app's code exchange at Polis' token endpoint; checks that an access and an ID token came back. */
export async function polisExchange(polis: Polis, s: PolisSeeded, c: PolisCode): Promise<void> {
  const token = await fetch(`${polis.base}/api/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: c.code,
      client_id: s.clientId,
      client_secret: s.clientSecret,
      redirect_uri: REDIRECT,
      code_verifier: c.verifier,
    }).toString(),
  });
  if (token.status !== 200) throw new Error(`Polis token: ${token.status} ${await token.text()}`);
  const tokens = (await token.json()) as { access_token?: string; id_token?: string };
  if (!tokens.access_token || !tokens.id_token) throw new Error('Polis token: no access or ID token');
}

/** A SCIM client of a new Polis directory (Entra ID's type), in the bench's ScimClient shape. */
export async function polisScimClient(polis: Polis): Promise<ScimClient> {
  const res = await fetch(`${polis.base}/admin/directories`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'Bench directory',
      tenant: 'bench.example',
      product: 'bench',
      type: 'azure-scim-v2',
    }),
  });
  if (res.status !== 201) throw new Error(`Polis directory: ${res.status} ${await res.text()}`);
  const { id, secret } = (await res.json()) as { id: string; secret: string };
  return {
    request: async (method, path, body) => {
      const answer = await fetch(`${polis.base}/api/scim/v2.0/${id}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${secret}`,
          ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await answer.text();
      return { status: answer.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
  };
}
