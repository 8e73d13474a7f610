import { Inject, Injectable } from '@nestjs/common';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { BridgeConfig } from '../../config/bridge-config';
import { BRIDGE_CONFIG } from '../../config/config.module';

export type MetadataFetchErrorCode =
  | 'metadata_url_invalid'
  | 'metadata_url_forbidden_host'
  | 'metadata_url_unreachable'
  | 'metadata_url_timeout'
  | 'metadata_url_http_error'
  | 'metadata_url_too_large'
  | 'metadata_url_too_many_redirects';

export class MetadataFetchError extends Error {
  constructor(
    public readonly code: MetadataFetchErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const MAX_REDIRECTS = 3;

/** Loopback, private, link-local, CGNAT and other non-public ranges (SSRF guard). */
const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 3],
] as const) {
  NON_PUBLIC.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['::ffff:0:0', 96],
] as const) {
  NON_PUBLIC.addSubnet(net, prefix, 'ipv6');
}

/** Fetches IdP metadata documents: http(s) only, bounded in time, size and redirects, SSRF-guarded. */
@Injectable()
export class MetadataFetcher {
  constructor(@Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig) {}

  /** Checks a URL's form (not its reachability); throws MetadataFetchError. */
  validateUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new MetadataFetchError('metadata_url_invalid', `"${raw.slice(0, 200)}" is not a valid URL.`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new MetadataFetchError('metadata_url_invalid', 'The metadata URL must start with https://.');
    }
    if (url.protocol === 'http:' && !this.config.metadataAllowPrivateHosts) {
      throw new MetadataFetchError(
        'metadata_url_invalid',
        'The metadata URL must use https:// (metadata over plain http could be altered in transit).',
      );
    }
    if (url.username || url.password) {
      throw new MetadataFetchError('metadata_url_invalid', 'The metadata URL must not contain credentials.');
    }
    return url;
  }

  private async assertPublicHost(url: URL): Promise<void> {
    if (this.config.metadataAllowPrivateHosts) return;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
    } catch {
      throw new MetadataFetchError('metadata_url_unreachable', `The host ${host} could not be resolved.`);
    }
    for (const address of addresses) {
      if (NON_PUBLIC.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')) {
        throw new MetadataFetchError(
          'metadata_url_forbidden_host',
          `The metadata URL points to a private or loopback address (${address}), which the bridge does not fetch.`,
        );
      }
    }
  }

  /** Downloads the document at `raw`; the body as bytes (the parser detects the encoding). */
  async fetch(raw: string): Promise<Buffer> {
    let url = this.validateUrl(raw);
    const deadline = AbortSignal.timeout(this.config.metadataFetchTimeoutMs);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      await this.assertPublicHost(url);
      let res: Response;
      try {
        res = await fetch(url, {
          redirect: 'manual',
          signal: deadline,
          headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml;q=0.9, */*;q=0.1' },
        });
      } catch (err) {
        throw this.networkError(err, url);
      }
      if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
        await res.body?.cancel();
        url = this.validateUrl(new URL(res.headers.get('location') as string, url).toString());
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new MetadataFetchError(
          'metadata_url_http_error',
          `The metadata URL answered HTTP ${res.status}; check the URL and that it is reachable from the bridge.`,
        );
      }
      return this.readBody(res, url);
    }
    throw new MetadataFetchError('metadata_url_too_many_redirects', `More than ${MAX_REDIRECTS} redirects.`);
  }

  private async readBody(res: Response, url: URL): Promise<Buffer> {
    const max = this.config.metadataMaxBytes;
    const declared = Number(res.headers.get('content-length') ?? '0');
    const tooLarge = () =>
      new MetadataFetchError('metadata_url_too_large', `The metadata document is larger than ${max} bytes.`);
    if (declared > max) {
      await res.body?.cancel();
      throw tooLarge();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    if (!res.body) return Buffer.alloc(0);
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > max) {
          await reader.cancel();
          throw tooLarge();
        }
        chunks.push(Buffer.from(value));
      }
    } catch (err) {
      if (err instanceof MetadataFetchError) throw err;
      throw this.networkError(err, url);
    }
    return Buffer.concat(chunks);
  }

  private networkError(err: unknown, url: URL): MetadataFetchError {
    const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
    if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
      return new MetadataFetchError(
        'metadata_url_timeout',
        `The metadata URL did not answer within ${this.config.metadataFetchTimeoutMs} ms.`,
      );
    }
    const reason = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? 'network error';
    return new MetadataFetchError('metadata_url_unreachable', `Could not reach ${url.host} (${reason}).`);
  }
}
