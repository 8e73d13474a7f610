import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetricsRepository } from '../../src/metrics/metrics.repository';
import { ConfigValidationError, loadConfig, type BridgeConfig } from '../../src/config/bridge-config';
import { MetricsService } from '../../src/metrics/metrics.service';
import {
  OutboundError,
  outboundFailureCause,
  OutboundHttp,
  type OutboundResolver,
  type ResolvedAddress,
} from '../../src/platform/http/outbound';
import { OutboundPolicy } from '../../src/platform/http/outbound-policy';

const SECRETS = { BRIDGE_SECRET: 'x'.repeat(32), ADMIN_API_KEY: 'y'.repeat(24) };

function config(env: Record<string, string> = {}): BridgeConfig {
  return loadConfig({ NODE_ENV: 'test', ...SECRETS, ...env });
}

function policyOf(env: Record<string, string> = {}): OutboundPolicy {
  const c = config(env);
  return new OutboundPolicy({ allowCidrs: c.outboundAllowCidrs, denyCidrs: c.outboundDenyCidrs });
}

/** A hosts-file style resolver: the production resolver interface, answering from a table. */
function hosts(table: Record<string, string[] | (() => string[])>): OutboundResolver {
  return {
    resolve: async (name) => {
      const entry = table[name];
      if (!entry) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      const list = typeof entry === 'function' ? entry() : entry;
      return list.map((address): ResolvedAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
  };
}

describe('OutboundPolicy', () => {
  const NEVER = [
    '169.254.169.254',
    '169.254.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '240.0.0.1',
    '::',
    'fe80::1',
    'ff02::1',
    'fd00:ec2::254',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '64:ff9b::a9fe:a9fe',
    '2002:a9fe:a9fe::1',
  ];

  it('reaches private networks and loopback by default outside production, never link-local or metadata', () => {
    const p = policyOf();
    for (const ok of [
      '10.1.2.3',
      '172.20.0.5',
      '192.168.1.10',
      '127.0.0.1',
      '::1',
      'fd12::5',
      '93.184.216.34',
    ])
      expect([ok, p.check(ok)]).toEqual([ok, { allowed: true }]);
    for (const never of NEVER)
      expect([never, p.check(never)]).toEqual([never, { allowed: false, reason: 'never_reachable' }]);
    // Non-public ranges outside the allowed list: CGNAT, documentation.
    expect(p.check('100.64.0.1')).toEqual({ allowed: false, reason: 'non_public_not_allowed' });
    expect(p.check('192.0.2.1')).toEqual({ allowed: false, reason: 'non_public_not_allowed' });
  });

  it('in production refuses loopback by default but still reaches the private ranges', () => {
    const c = loadConfig({ NODE_ENV: 'production', BASE_URL: 'https://sso.example.com', ...SECRETS });
    const p = new OutboundPolicy({ allowCidrs: c.outboundAllowCidrs, denyCidrs: c.outboundDenyCidrs });
    expect(p.check('127.0.0.1')).toEqual({ allowed: false, reason: 'non_public_not_allowed' });
    expect(p.check('::ffff:127.0.0.1')).toEqual({ allowed: false, reason: 'non_public_not_allowed' });
    expect(p.check('10.0.0.8')).toEqual({ allowed: true });
    expect(p.check('169.254.169.254')).toEqual({ allowed: false, reason: 'never_reachable' });
  });

  it('lets the operator narrow (deny wins) and widen, but never to link-local', () => {
    const p = policyOf({
      OUTBOUND_ALLOW_CIDRS: '10.20.0.0/16, 100.64.0.0/10, 169.254.0.0/16, 0.0.0.0/0',
      OUTBOUND_DENY_CIDRS: '10.20.30.0/24,93.184.216.34',
    });
    expect(p.check('10.20.1.1')).toEqual({ allowed: true });
    expect(p.check('100.64.1.1')).toEqual({ allowed: true });
    expect(p.check('10.20.30.4')).toEqual({ allowed: false, reason: 'denied_by_operator' });
    expect(p.check('93.184.216.34')).toEqual({ allowed: false, reason: 'denied_by_operator' });
    expect(p.check('169.254.169.254')).toEqual({ allowed: false, reason: 'never_reachable' });
    // A list replaces the default one: the other private ranges are then not reachable.
    expect(policyOf({ OUTBOUND_ALLOW_CIDRS: '10.20.0.0/16' }).check('192.168.1.1')).toEqual({
      allowed: false,
      reason: 'non_public_not_allowed',
    });
  });

  it('reports every malformed CIDR at boot', () => {
    let err: unknown;
    try {
      config({ OUTBOUND_ALLOW_CIDRS: '10.0.0.0/33,nonsense', OUTBOUND_DENY_CIDRS: '1.2.3.4/8/1' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect((err as ConfigValidationError).problems).toEqual([
      'OUTBOUND_ALLOW_CIDRS: "10.0.0.0/33" is not a CIDR (e.g. 10.0.0.0/8) or an IP address',
      'OUTBOUND_ALLOW_CIDRS: "nonsense" is not a CIDR (e.g. 10.0.0.0/8) or an IP address',
      'OUTBOUND_DENY_CIDRS: "1.2.3.4/8/1" is not a CIDR (e.g. 10.0.0.0/8) or an IP address',
    ]);
  });
});

describe('OutboundHttp', () => {
  const metrics = new MetricsService({} as MetricsRepository);
  let server: Server;
  let port: number;
  const seen: Array<{ url?: string; host?: string; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ url: req.url, host: req.headers.host, body });
        if (req.url === '/hang') return;
        if (req.url === '/redirect') return res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
        if (req.url === '/big') return res.end('x'.repeat(5000));
        if (req.url === '/fail') return res.writeHead(503).end();
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const client = (resolver: OutboundResolver, env: Record<string, string> = {}) =>
    new OutboundHttp({ ...config(env), outboundTimeoutMs: 400 }, metrics, resolver);

  it('connects to the address it checked, with the name as Host', async () => {
    const out = client(hosts({ 'app.internal': ['127.0.0.1'] }));
    const res = await out.request(`http://app.internal:${port}/x`, {
      purpose: 'backchannel_logout',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'logout_token=abc',
    });
    expect(res).toMatchObject({ status: 200, address: '127.0.0.1' });
    expect(res.body.toString()).toBe('ok');
    expect(seen.at(-1)).toEqual({ url: '/x', host: `app.internal:${port}`, body: 'logout_token=abc' });
  });

  it('checks the answer it connects with: a name that passed registration and now resolves to metadata is refused', async () => {
    let answer = ['127.0.0.1'];
    const out = client(hosts({ 'flip.example': () => answer }));
    await expect(out.assertAllowed(`http://flip.example:${port}/`)).resolves.toBeInstanceOf(URL);
    answer = ['169.254.169.254'];
    const before = seen.length;
    await expect(out.request(`http://flip.example:${port}/`, { purpose: 'jwks_uri' })).rejects.toMatchObject({
      reason: 'blocked_by_policy',
      address: '169.254.169.254',
    });
    // One refused address among allowed ones refuses the name.
    answer = ['127.0.0.1', '169.254.169.254'];
    await expect(out.request(`http://flip.example:${port}/`, { purpose: 'jwks_uri' })).rejects.toMatchObject({
      reason: 'blocked_by_policy',
    });
    await expect(out.assertAllowed(`http://flip.example:${port}/`)).rejects.toMatchObject({
      reason: 'blocked_by_policy',
    });
    expect(seen.length).toBe(before);
  });

  it('refuses IP literals, IPv4-mapped forms and operator-denied ranges before connecting', async () => {
    const out = client(hosts({}), { OUTBOUND_DENY_CIDRS: '127.0.0.0/8' });
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fe80::1]/',
      `http://127.0.0.1:${port}/`,
    ]) {
      await expect(out.request(url, { purpose: 'jwks_uri' })).rejects.toMatchObject({
        reason: 'blocked_by_policy',
      });
    }
    await expect(out.request('file:///etc/passwd', { purpose: 'jwks_uri' })).rejects.toMatchObject({
      reason: 'invalid_url',
    });
  });

  it('names the real cause of each failure: dns, refused, timeout, too_large, status_N; never follows redirects', async () => {
    const out = client(hosts({ 'app.internal': ['127.0.0.1'] }));
    await expect(out.request('http://nowhere.internal/', { purpose: 'jwks_uri' })).rejects.toMatchObject({
      reason: 'dns',
    });
    await expect(out.request('http://127.0.0.1:1/', { purpose: 'jwks_uri' })).rejects.toMatchObject({
      reason: 'refused',
    });
    await expect(out.request(`http://127.0.0.1:${port}/hang`, { purpose: 'jwks_uri' })).rejects.toMatchObject(
      { reason: 'timeout' },
    );
    await expect(
      out.request(`http://127.0.0.1:${port}/big`, { purpose: 'jwks_uri', maxBytes: 1024 }),
    ).rejects.toMatchObject({ reason: 'too_large' });
    const redirect = await out.request(`http://127.0.0.1:${port}/redirect`, { purpose: 'jwks_uri' });
    expect(redirect.status).toBe(302);
    // oidc-provider throws its own Error with the response attached for a non-2xx answer.
    const fetch = out.providerFetch();
    const failed = await fetch(`http://app.internal:${port}/fail`, { method: 'POST', body: 'x=1' });
    expect(failed.status).toBe(503);
    expect(outboundFailureCause(Object.assign(new Error('expected 200'), { response: failed }))).toBe(
      'status_503',
    );
    await expect(fetch('http://169.254.169.254/', {})).rejects.toBeInstanceOf(OutboundError);
  });

  it('counts every request by purpose and result', async () => {
    const out = client(hosts({}));
    await out.request('http://169.254.169.254/', { purpose: 'idp_metadata' }).catch(() => undefined);
    const text = await metrics.registry.getSingleMetricAsString('bridge_outbound_requests_total');
    expect(text).toContain(
      'bridge_outbound_requests_total{purpose="idp_metadata",result="blocked_by_policy"} 1',
    );
    expect(text).toContain('purpose="jwks_uri",result="dns"');
    expect(text).toContain('purpose="backchannel_logout",result="ok"');
  });

  describe('over TLS', () => {
    let dir: string;
    let tls: TlsServer;
    let tlsPort: number;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'outbound-tls-'));
      execFileSync(
        'openssl',
        [
          ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
          ...['-subj', '/CN=app.internal', '-addext', 'subjectAltName=DNS:app.internal'],
          ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
        ],
        { stdio: 'ignore' },
      );
      tls = createTlsServer(
        { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
        (_req, res) => res.end('secure'),
      );
      await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
      tlsPort = (tls.address() as AddressInfo).port;
    });
    afterAll(async () => {
      tls.closeAllConnections();
      await new Promise((r) => tls.close(r));
      rmSync(dir, { recursive: true, force: true });
    });

    it('fails with tls for an untrusted certificate and for a plain-http peer; trusts OUTBOUND_CA_FILE', async () => {
      const resolver = hosts({ 'app.internal': ['127.0.0.1'] });
      await expect(
        client(resolver).request(`https://app.internal:${tlsPort}/`, { purpose: 'backchannel_logout' }),
      ).rejects.toMatchObject({ reason: 'tls' });
      await expect(
        client(resolver).request(`https://app.internal:${port}/`, { purpose: 'backchannel_logout' }),
      ).rejects.toMatchObject({ reason: 'tls' });
      const trusting = client(resolver, { OUTBOUND_CA_FILE: join(dir, 'cert.pem') });
      const res = await trusting.request(`https://app.internal:${tlsPort}/`, {
        purpose: 'backchannel_logout',
      });
      expect(res.body.toString()).toBe('secure');
      // The certificate is checked against the name, not the address connected to.
      await expect(
        trusting.request(`https://127.0.0.1:${tlsPort}/`, { purpose: 'backchannel_logout' }),
      ).rejects.toMatchObject({ reason: 'tls' });
    });
  });
});
