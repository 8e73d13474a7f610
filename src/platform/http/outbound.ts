import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { lookup as dnsLookup } from 'node:dns';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { BridgeConfig } from '../../config/bridge-config';
import { BRIDGE_CONFIG } from '../../config/config.module';
import { MetricsService } from '../../metrics/metrics.service';
import { OutboundPolicy } from './outbound-policy';

/** What a request is for (the `purpose` label of the outbound metric, and in log lines). */
export type OutboundPurpose =
  'backchannel_logout' | 'jwks_uri' | 'idp_metadata' | 'oidc_provider' | 'webhook';

/**
 * Why an outbound request failed. A request that got an HTTP answer is not a failure here; callers that
 * need 2xx turn other answers into `status_<N>` (see {@link outboundFailureCause}).
 */
export type OutboundCause =
  | 'invalid_url'
  | 'blocked_by_policy'
  | 'dns'
  | 'refused'
  | 'unreachable'
  | 'reset'
  | 'timeout'
  | 'tls'
  | 'too_large'
  | 'network'
  | `status_${number}`;

export class OutboundError extends Error {
  constructor(
    readonly reason: OutboundCause,
    message: string,
    /** The address the bridge resolved or connected to, when it got that far. */
    readonly address?: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

/** One resolved address, as `dns.lookup(…, { all: true })` gives it. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Name resolution for outbound requests (the system resolver in production). */
export interface OutboundResolver {
  resolve(hostname: string): Promise<ResolvedAddress[]>;
}

export const OUTBOUND_RESOLVER = Symbol('OUTBOUND_RESOLVER');

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), the one Node's own connections use. */
export const systemResolver: OutboundResolver = {
  resolve: (hostname) =>
    new Promise((resolve, reject) =>
      dnsLookup(hostname, { all: true }, (err, addresses) =>
        err ? reject(err) : resolve(addresses as ResolvedAddress[]),
      ),
    ),
};

export interface OutboundRequest {
  purpose: OutboundPurpose;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Whole-request deadline (default OUTBOUND_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Largest accepted response body (default OUTBOUND_MAX_RESPONSE_BYTES). */
  maxBytes?: number;
  /** Refuse every non-public address, even those the operator allows (IdP metadata in production). */
  publicOnly?: boolean;
}

export interface OutboundResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** The IP address the bridge connected to. */
  address: string;
}

const TLS_CODES = /^(?:CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH|ERR_OSSL)/;

/** The cause of a failure (an OutboundError, or an error carrying the HTTP response that was not 2xx). */
export function outboundFailureCause(err: unknown): OutboundCause {
  if (err instanceof OutboundError) return err.reason;
  const status = (err as { response?: { status?: unknown } } | undefined)?.response?.status;
  if (typeof status === 'number') return `status_${status}`;
  return 'network';
}

function classify(err: NodeJS.ErrnoException & { library?: string }): OutboundCause {
  const code = err.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'ENODATA') return 'dns';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') return 'unreachable';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') return 'reset';
  if (
    TLS_CODES.test(code) ||
    err.library === 'SSL routines' ||
    code === 'EPROTO' ||
    /SSL routines/.test(err.message)
  )
    return 'tls';
  return 'network';
}

/**
 * The one HTTP client for everything the bridge sends or fetches: back-channel logout tokens, apps'
 * JWKS, IdP metadata, oidc-provider's own requests. Every request resolves the name, checks each address
 * against the {@link OutboundPolicy}, connects to the checked address (no second lookup, so a DNS answer
 * that changes between check and connect cannot slip past), checks the connected peer again, never
 * follows redirects, stops at the deadline and at the size cap, and is counted by purpose and outcome.
 */
@Injectable()
export class OutboundHttp {
  private readonly logger = new Logger('Outbound');
  readonly policy: OutboundPolicy;
  private readonly ca?: string[];

  constructor(
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
    private readonly metrics: MetricsService,
    @Optional() @Inject(OUTBOUND_RESOLVER) private readonly resolver: OutboundResolver = systemResolver,
  ) {
    this.policy = new OutboundPolicy({
      allowCidrs: config.outboundAllowCidrs,
      denyCidrs: config.outboundDenyCidrs,
    });
    if (config.outboundCaFile) this.ca = [...rootCertificates, readFileSync(config.outboundCaFile, 'utf8')];
  }

  /** Checks a URL's form and, for an IP literal, its address; throws OutboundError('invalid_url' | 'blocked_by_policy'). */
  parseUrl(raw: string | URL): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new OutboundError('invalid_url', `"${String(raw).slice(0, 200)}" is not a valid URL.`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new OutboundError('invalid_url', `${url.protocol} URLs are not fetched (only http and https).`);
    if (url.username || url.password)
      throw new OutboundError('invalid_url', 'The URL must not contain credentials.');
    return url;
  }

  /**
   * Whether the bridge would send to this URL now: its form, and every address its host resolves to.
   * A name that does not resolve (yet) is not refused here; the request itself then fails with `dns`.
   * Throws OutboundError('invalid_url' | 'blocked_by_policy').
   */
  async assertAllowed(raw: string | URL, options: { publicOnly?: boolean } = {}): Promise<URL> {
    const url = this.parseUrl(raw);
    const host = hostOf(url);
    let addresses: string[];
    if (isIP(host)) addresses = [host];
    else {
      try {
        addresses = (await this.resolver.resolve(host)).map((a) => a.address);
      } catch {
        return url;
      }
    }
    for (const address of addresses) this.checkAddress(address, host, options.publicOnly);
    return url;
  }

  private checkAddress(address: string, host: string, publicOnly = false): void {
    const verdict = this.policy.check(address);
    if (!verdict.allowed) {
      const why =
        verdict.reason === 'never_reachable'
          ? 'a link-local, metadata-service, multicast or reserved address, which the bridge never contacts'
          : verdict.reason === 'denied_by_operator'
            ? 'inside OUTBOUND_DENY_CIDRS'
            : 'a private or loopback address outside OUTBOUND_ALLOW_CIDRS';
      throw new OutboundError(
        'blocked_by_policy',
        `${host === address ? address : `${host} resolves to ${address}`}: ${why}.`,
        address,
      );
    }
    if (publicOnly && !OutboundPolicy.isPublic(address)) {
      throw new OutboundError(
        'blocked_by_policy',
        `${host === address ? address : `${host} resolves to ${address}`}: a private or loopback address, which is refused for this purpose.`,
        address,
      );
    }
  }

  /** Sends one request; resolves with any HTTP answer (redirects included, never followed). */
  async request(raw: string | URL, req: OutboundRequest): Promise<OutboundResponse> {
    const started = { purpose: req.purpose };
    try {
      const res = await this.send(this.parseUrl(raw), req);
      this.metrics.outboundRequests.inc({
        ...started,
        result: res.status >= 200 && res.status < 300 ? 'ok' : `status_${res.status}`,
      });
      return res;
    } catch (err) {
      const e =
        err instanceof OutboundError ? err : new OutboundError('network', (err as Error).message ?? 'error');
      this.metrics.outboundRequests.inc({ ...started, result: e.reason });
      this.logger.warn(
        { purpose: req.purpose, host: safeHost(raw), address: e.address, cause: e.reason },
        `Outbound ${req.purpose} request failed (${e.reason}): ${e.message}`,
      );
      throw e;
    }
  }

  private send(url: URL, req: OutboundRequest): Promise<OutboundResponse> {
    const host = hostOf(url);
    const timeoutMs = req.timeoutMs ?? this.config.outboundTimeoutMs;
    const maxBytes = req.maxBytes ?? this.config.outboundMaxResponseBytes;
    if (isIP(host)) this.checkAddress(host, host, req.publicOnly);
    let resolvedAddress: string | undefined;
    const lookup: LookupFunction = (hostname, options, callback) => {
      this.resolver.resolve(hostname).then(
        (all) => {
          try {
            for (const a of all) this.checkAddress(a.address, hostname, req.publicOnly);
          } catch (err) {
            callback(err as NodeJS.ErrnoException, '', 0);
            return;
          }
          const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
          const usable = wanted ? all.filter((a) => a.family === wanted) : all;
          const [first] = usable;
          if (first === undefined) {
            const none = Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
            callback(none, '', 0);
            return;
          }
          resolvedAddress = first.address;
          if (options.all) callback(null, usable);
          else callback(null, first.address, first.family);
        },
        (err: NodeJS.ErrnoException) => callback(err, '', 0),
      );
    };
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const options: RequestOptions & { ca?: string[]; servername?: string } = {
      method: req.method ?? 'GET',
      host,
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      headers: {
        'user-agent': 'saml-bridge',
        ...req.headers,
        ...(body ? { 'content-length': String(body.length) } : {}),
      },
      lookup,
      agent: false,
      ...(url.protocol === 'https:' && this.ca ? { ca: this.ca } : {}),
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<OutboundResponse>((resolve, reject) => {
      let settled = false;
      let connectedTo: string | undefined;
      const fail = (err: OutboundError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        r.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () =>
          fail(
            new OutboundError(
              'timeout',
              `No complete answer from ${url.host} within ${timeoutMs} ms.`,
              connectedTo ?? resolvedAddress,
            ),
          ),
        timeoutMs,
      );
      const r = send(options, (res) => {
        const declared = Number(res.headers['content-length'] ?? '0');
        const tooLarge = () =>
          new OutboundError(
            'too_large',
            `The answer from ${url.host} is larger than ${maxBytes} bytes.`,
            connectedTo,
          );
        if (declared > maxBytes) return fail(tooLarge());
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) fail(tooLarge());
          else chunks.push(chunk);
        });
        res.on('error', (err) => fail(new OutboundError(classify(err), err.message, connectedTo)));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            address: connectedTo ?? resolvedAddress ?? host,
          });
        });
      });
      r.on('socket', (socket: Socket) => {
        // The peer actually connected to, checked again (covers every path to connect()).
        socket.once('connect', () => {
          connectedTo = socket.remoteAddress;
          if (connectedTo === undefined) return;
          try {
            this.checkAddress(connectedTo, host, req.publicOnly);
          } catch (err) {
            fail(err as OutboundError);
          }
        });
      });
      r.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof OutboundError) return fail(err);
        const reason = classify(err);
        const detail =
          reason === 'dns'
            ? `${host} could not be resolved (${err.code})`
            : `${url.host}: ${err.code ? `${err.code} ` : ''}${err.message}`;
        fail(new OutboundError(reason, detail, connectedTo ?? resolvedAddress));
      });
      r.end(body);
    });
  }

  /**
   * A `fetch` for oidc-provider's `configuration.fetch`: its requests (apps' jwks_uri, back-channel
   * logout POSTs after an RP-initiated logout) go through this policy instead of its own guard. Its
   * dispatcher and 2.5 s signal are replaced by the bridge's policy, deadline and size cap.
   */
  providerFetch(): (url: URL | string, init?: RequestInit) => Promise<Response> {
    return async (url, init = {}) => {
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        if (name !== 'user-agent') headers[name] = value;
      });
      let body: string | undefined;
      if (init.body instanceof URLSearchParams) {
        body = init.body.toString();
        headers['content-type'] ??= 'application/x-www-form-urlencoded';
      } else if (typeof init.body === 'string') body = init.body;
      else if (init.body != null) throw new OutboundError('invalid_url', 'Unsupported request body type.');
      const method = (init.method ?? 'GET').toUpperCase() === 'POST' ? 'POST' : 'GET';
      const purpose: OutboundPurpose =
        body !== undefined && new URLSearchParams(body).has('logout_token')
          ? 'backchannel_logout'
          : method === 'GET'
            ? 'jwks_uri'
            : 'oidc_provider';
      const res = await this.request(url, { purpose, method, headers, body });
      const out = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        if (Array.isArray(value)) for (const v of value) out.append(name, v);
        else if (value !== undefined) out.set(name, value);
      }
      const nullBody = res.status === 204 || res.status === 205 || res.status === 304;
      return new Response(nullBody ? null : new Uint8Array(res.body), { status: res.status, headers: out });
    };
  }
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

function safeHost(raw: string | URL): string {
  try {
    return new URL(raw).host;
  } catch {
    return String(raw).slice(0, 100);
  }
}
