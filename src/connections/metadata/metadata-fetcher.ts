import { Inject, Injectable } from '@nestjs/common';
import type { BridgeConfig } from '../../config/bridge-config';
import { BRIDGE_CONFIG } from '../../config/config.module';
import { OutboundError, OutboundHttp } from '../../platform/http/outbound';

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

/**
 * Fetches IdP metadata documents through the bridge's outbound client (destination policy, deadline, size
 * cap): http(s) only, at most MAX_REDIRECTS redirects, each hop checked again. With
 * METADATA_ALLOW_PRIVATE_HOSTS off (the production default) only https and public addresses.
 */
@Injectable()
export class MetadataFetcher {
  constructor(
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
    private readonly outbound: OutboundHttp,
  ) {}

  /** Checks a URL's form (not its reachability); throws MetadataFetchError. */
  validateUrl(raw: string): URL {
    let url: URL;
    try {
      url = this.outbound.parseUrl(raw);
    } catch (err) {
      const message = (err as Error).message;
      throw new MetadataFetchError(
        'metadata_url_invalid',
        message.includes('credentials')
          ? 'The metadata URL must not contain credentials.'
          : message.includes('only http')
            ? 'The metadata URL must start with https://.'
            : `"${raw.slice(0, 200)}" is not a valid URL.`,
      );
    }
    if (url.protocol === 'http:' && !this.config.metadataAllowPrivateHosts) {
      throw new MetadataFetchError(
        'metadata_url_invalid',
        'The metadata URL must use https:// (metadata over plain http could be altered in transit).',
      );
    }
    return url;
  }

  /** Downloads the document at `raw`; the body as bytes (the parser detects the encoding). */
  async fetch(raw: string): Promise<Buffer> {
    let url = this.validateUrl(raw);
    const deadline = Date.now() + this.config.metadataFetchTimeoutMs;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      let res;
      try {
        res = await this.outbound.request(url, {
          purpose: 'idp_metadata',
          headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml;q=0.9, */*;q=0.1' },
          timeoutMs: Math.max(1, deadline - Date.now()),
          maxBytes: this.config.metadataMaxBytes,
          publicOnly: !this.config.metadataAllowPrivateHosts,
        });
      } catch (err) {
        throw this.fromOutbound(err, url);
      }
      const location = res.headers.location;
      if (res.status >= 300 && res.status < 400 && location) {
        url = this.validateUrl(new URL(location, url).toString());
        continue;
      }
      if (res.status < 200 || res.status >= 300) {
        throw new MetadataFetchError(
          'metadata_url_http_error',
          `The metadata URL answered HTTP ${res.status}; check the URL and that it is reachable from the bridge.`,
        );
      }
      return res.body;
    }
    throw new MetadataFetchError('metadata_url_too_many_redirects', `More than ${MAX_REDIRECTS} redirects.`);
  }

  private fromOutbound(err: unknown, url?: URL): MetadataFetchError {
    if (!(err instanceof OutboundError))
      return new MetadataFetchError('metadata_url_unreachable', String(err));
    switch (err.reason) {
      case 'blocked_by_policy':
        return new MetadataFetchError(
          'metadata_url_forbidden_host',
          `The metadata URL points to an address the bridge does not fetch from: ${err.message}`,
        );
      case 'invalid_url':
        return new MetadataFetchError('metadata_url_invalid', err.message);
      case 'timeout':
        return new MetadataFetchError(
          'metadata_url_timeout',
          `The metadata URL did not answer within ${this.config.metadataFetchTimeoutMs} ms.`,
        );
      case 'too_large':
        return new MetadataFetchError(
          'metadata_url_too_large',
          `The metadata document is larger than ${this.config.metadataMaxBytes} bytes.`,
        );
      case 'dns':
        return new MetadataFetchError(
          'metadata_url_unreachable',
          `The host ${url?.hostname ?? ''} could not be resolved.`,
        );
      default:
        return new MetadataFetchError(
          'metadata_url_unreachable',
          `Could not reach ${url?.host ?? 'the metadata URL'} (${err.reason}: ${err.message}).`,
        );
    }
  }
}
