import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BridgeConfig } from '../../src/config/bridge-config';
import type { MetricsRepository } from '../../src/metrics/metrics.repository';
import { loadConfig } from '../../src/config/bridge-config';
import { MetadataFetcher } from '../../src/connections/metadata/metadata-fetcher';
import { MetricsService } from '../../src/metrics/metrics.service';
import { OutboundHttp } from '../../src/platform/http/outbound';

const metrics = new MetricsService({} as MetricsRepository);

/** A fetcher on the outbound client the bridge installs (its policy, from the test environment's defaults). */
function fetcher(overrides: Partial<BridgeConfig> = {}): MetadataFetcher {
  const config = {
    ...loadConfig({ NODE_ENV: 'test', BRIDGE_SECRET: 'x'.repeat(32), ADMIN_API_KEY: 'y'.repeat(24) }),
    metadataFetchTimeoutMs: 300,
    metadataMaxBytes: 1024,
    metadataAllowPrivateHosts: true,
    ...overrides,
  } as BridgeConfig;
  return new MetadataFetcher(config, new OutboundHttp(config, metrics));
}

describe('MetadataFetcher', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ok') res.end('<EntityDescriptor/>');
      else if (req.url === '/big') res.end('x'.repeat(5000));
      else if (req.url === '/big-chunked') {
        res.write('x'.repeat(800));
        res.end('x'.repeat(800));
      } else if (req.url === '/redirect') res.writeHead(302, { location: '/ok' }).end();
      else if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
      else if (req.url === '/hang') return;
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('downloads a document and follows a redirect', async () => {
    await expect(fetcher().fetch(`${base}/ok`)).resolves.toEqual(Buffer.from('<EntityDescriptor/>'));
    await expect(fetcher().fetch(`${base}/redirect`)).resolves.toEqual(Buffer.from('<EntityDescriptor/>'));
  });

  it.each([
    ['/hang', 'metadata_url_timeout'],
    ['/big', 'metadata_url_too_large'],
    ['/big-chunked', 'metadata_url_too_large'],
    ['/loop', 'metadata_url_too_many_redirects'],
    ['/missing', 'metadata_url_http_error'],
  ])('answers %s with %s', async (path, code) => {
    await expect(fetcher().fetch(`${base}${path}`)).rejects.toMatchObject({ code });
  });

  it('refuses unreachable hosts, other schemes, credentials, and (in production) http and private addresses', async () => {
    await expect(fetcher().fetch('http://127.0.0.1:1/x')).rejects.toMatchObject({
      code: 'metadata_url_unreachable',
    });
    await expect(fetcher().fetch('file:///etc/passwd')).rejects.toMatchObject({
      code: 'metadata_url_invalid',
    });
    await expect(fetcher().fetch('https://user:pw@idp.example/m')).rejects.toMatchObject({
      code: 'metadata_url_invalid',
    });
    const strict = fetcher({ metadataAllowPrivateHosts: false });
    await expect(strict.fetch(`${base}/ok`)).rejects.toMatchObject({ code: 'metadata_url_invalid' });
    for (const host of ['127.0.0.1', '10.1.2.3', '169.254.169.254', '[::1]', '192.168.0.1']) {
      await expect(strict.fetch(`https://${host}/metadata`)).rejects.toMatchObject({
        code: 'metadata_url_forbidden_host',
      });
    }
  });

  it('never fetches from link-local or metadata-service addresses, even with private hosts allowed', async () => {
    for (const host of ['169.254.169.254', '[fe80::1]', '0.0.0.0', '[::ffff:169.254.169.254]', '224.0.0.1']) {
      await expect(fetcher().fetch(`http://${host}/metadata`)).rejects.toMatchObject({
        code: 'metadata_url_forbidden_host',
      });
    }
    // The operator's deny list applies to metadata too.
    const denied = fetcher({ outboundDenyCidrs: ['127.0.0.0/8'] });
    await expect(denied.fetch(`${base}/ok`)).rejects.toMatchObject({ code: 'metadata_url_forbidden_host' });
  });
});
