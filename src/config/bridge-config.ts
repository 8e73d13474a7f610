import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseCidr } from '../platform/http/outbound-policy';

/** Non-public ranges the bridge reaches by default (where internal apps run); loopback only outside production. */
export const DEFAULT_OUTBOUND_ALLOW_CIDRS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
type NodeEnv = 'production' | 'development' | 'test';

/** The bridge's configuration, validated once at boot. Every field is read from the environment. */
export interface BridgeConfig {
  readonly nodeEnv: NodeEnv;
  readonly production: boolean;
  /** Public URL of the bridge, without a trailing slash. */
  readonly baseUrl: string;
  /** The OpenID Provider's issuer (ISSUER; default BASE_URL). */
  readonly issuer: string;
  readonly port: number;
  readonly host: string;
  /** PostgreSQL connection string; undefined means the embedded database. */
  readonly databaseUrl: string | undefined;
  /**
   * Where the change feed LISTENs (DATABASE_LISTEN_URL; default DATABASE_URL): a direct or session-mode
   * address when DATABASE_URL goes through a transaction-mode pooler, which would drop notifications.
   */
  readonly databaseListenUrl: string | undefined;
  readonly dataDir: string;
  readonly certsDir: string;
  /** Secret that encrypts private keys at rest (at least 32 characters). */
  readonly bridgeSecret: string;
  readonly bridgeSecretSource: 'env' | 'generated-file';
  /** The secret being rotated away from: still opens sealed keys and cookies until `npm run rotate-secret`. */
  readonly bridgeSecretPrevious?: string;
  /** Bootstrap admin credential. */
  readonly adminApiKey: string;
  readonly adminApiKeySource: 'env' | 'generated-file';
  readonly logLevel: LogLevel;
  readonly trustProxy: boolean;
  /** Largest accepted JSON / XML request body, in bytes. */
  readonly bodyLimitBytes: number;
  readonly metadataFetchTimeoutMs: number;
  readonly metadataMaxBytes: number;
  /** Default period between metadata URL refreshes when the metadata says nothing. */
  readonly metadataRefreshSeconds: number;
  /** How often the scheduler looks for connections that are due a refresh. */
  readonly metadataSchedulerSeconds: number;
  /**
   * Allow metadata URLs over http and on non-public addresses that the outbound policy allows (tests,
   * on-premises IdPs). When false, metadata comes only from public addresses over https. Link-local and
   * metadata-service addresses stay refused either way (outbound policy).
   */
  readonly metadataAllowPrivateHosts: boolean;
  /**
   * Non-public ranges the bridge may send requests to (back-channel logout, apps' JWKS, metadata).
   * Default: 10/8, 172.16/12, 192.168/16, fc00::/7, plus loopback outside production.
   */
  readonly outboundAllowCidrs: readonly string[];
  /** Ranges the bridge never sends to (wins over outboundAllowCidrs and over public addresses). */
  readonly outboundDenyCidrs: readonly string[];
  /** Whole-request deadline of an outbound request. */
  readonly outboundTimeoutMs: number;
  /** Largest answer body accepted from an outbound request (IdP metadata: metadataMaxBytes). */
  readonly outboundMaxResponseBytes: number;
  /** Extra CA certificates (PEM file) trusted for outbound https, besides the system's (internal PKI). */
  readonly outboundCaFile: string | undefined;
  /** Rotate the OIDC signing keys every this many days (0: only on demand). */
  readonly oidcKeyRotationDays: number;
  /** SSO traces (login diagnostics with the decoded SAML messages) are deleted after this many days. */
  readonly ssoTraceRetentionDays: number;
  /** How long an instance holds a webhook endpoint while delivering (another takes over after it lapses). */
  readonly webhookLeaseSeconds: number;
  /** Events (GET /api/v1/events, webhooks) are kept this many days. */
  readonly eventsRetentionDays: number;
  /** SCIM requests one token may make per minute before it gets 429 (per token, across instances). */
  readonly scimRateLimitPerMinute: number;
  /** Domain for the bridge's session cookies (shared across subdomains); host-only when unset. */
  readonly cookieDomain: string | undefined;
  /** A web console session ends after this many minutes without a request. */
  readonly adminSessionIdleMinutes: number;
  /** A web console session ends this many hours after sign-in, however active. */
  readonly adminSessionMaxHours: number;
  /** Worker threads validating SAML responses (signatures, decryption); 0 validates on the event loop. */
  readonly samlEngineThreads: number;
  /**
   * V8's old generation grows to this percent above the live heap before a full collection (0: V8's own
   * adaptive factor, which lets a busy heap grow up to 4× its live size).
   */
  readonly heapGrowingPercent: number;
}

export class ConfigValidationError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

function readPersistedSecret(file: string, bytes: number): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(bytes).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return secret;
}

function intInRange(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    problems.push(`${name} must be a whole number between ${min} and ${max} (got "${raw}")`);
    return fallback;
  }
  const value = Number(raw.trim());
  if (value < min || value > max) problems.push(`${name} must be between ${min} and ${max} (got ${value})`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean, problems: string[]): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  problems.push(`${name} must be true or false (got "${env[name]}")`);
  return fallback;
}

/** One worker per core, at most 4 (the event loop and PostgreSQL need CPU too). */
export function defaultSamlEngineThreads(): number {
  return Math.min(4, availableParallelism());
}

/**
 * Reads and validates the configuration. Collects every problem before failing, so an operator fixes
 * them all in one go. Outside production, a missing BRIDGE_SECRET or ADMIN_API_KEY is generated once and
 * persisted (mode 0600) in the certs directory; in production both are required.
 */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): BridgeConfig {
  const problems: string[] = [];
  const rawEnv = env.NODE_ENV?.trim() || 'development';
  let nodeEnv: NodeEnv = 'development';
  if (rawEnv === 'production' || rawEnv === 'development' || rawEnv === 'test') nodeEnv = rawEnv;
  else problems.push(`NODE_ENV must be production, development or test (got "${rawEnv}")`);
  const production = nodeEnv === 'production';

  const port = intInRange(env, 'PORT', 3000, 0, 65535, problems);
  const host = env.HOST?.trim() || '0.0.0.0';

  let baseUrl = (env.BASE_URL?.trim() || `http://localhost:${port || 3000}`).replace(/\/+$/, '');
  try {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      problems.push(`BASE_URL must be an http(s) URL (got "${baseUrl}")`);
    } else if (url.search || url.hash || url.username || url.password) {
      problems.push('BASE_URL must not contain a query, fragment or credentials');
    } else if (production && url.protocol !== 'https:') {
      problems.push('BASE_URL must use https in production (the IdP posts assertions to it)');
    }
    baseUrl = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  } catch {
    problems.push(`BASE_URL is not a valid URL (got "${baseUrl}")`);
  }

  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl) {
    try {
      const url = new URL(databaseUrl);
      if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
        problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
      }
    } catch {
      problems.push('DATABASE_URL is not a valid URL (expected postgres://user:password@host:5432/db)');
    }
  }
  const databaseListenUrl = env.DATABASE_LISTEN_URL?.trim() || databaseUrl;
  if (env.DATABASE_LISTEN_URL?.trim()) {
    if (!databaseUrl)
      problems.push('DATABASE_LISTEN_URL needs DATABASE_URL (the embedded database has no listener URL)');
    try {
      const url = new URL(env.DATABASE_LISTEN_URL.trim());
      if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
        problems.push('DATABASE_LISTEN_URL must be a postgres:// or postgresql:// URL');
      }
    } catch {
      problems.push(
        'DATABASE_LISTEN_URL is not a valid URL (expected postgres://user:password@host:5432/db)',
      );
    }
  }
  const dataDir = resolve(cwd, env.DATA_DIR?.trim() || 'data');
  const certsDir = resolve(cwd, env.CERTS_DIR?.trim() || 'certs');

  let bridgeSecret = env.BRIDGE_SECRET?.trim() ?? '';
  let bridgeSecretSource: BridgeConfig['bridgeSecretSource'] = 'env';
  if (!bridgeSecret) {
    if (production) problems.push('BRIDGE_SECRET is required in production (at least 32 characters)');
    else {
      bridgeSecret = readPersistedSecret(resolve(certsDir, 'bridge-secret'), 32);
      bridgeSecretSource = 'generated-file';
    }
  } else if (bridgeSecret.length < 32) {
    problems.push('BRIDGE_SECRET must be at least 32 characters (e.g. `openssl rand -base64 32`)');
  }

  const bridgeSecretPrevious = env.BRIDGE_SECRET_PREVIOUS?.trim() || undefined;
  if (bridgeSecretPrevious !== undefined && bridgeSecretPrevious.length < 32) {
    problems.push('BRIDGE_SECRET_PREVIOUS must be at least 32 characters (it is the former BRIDGE_SECRET)');
  } else if (bridgeSecretPrevious !== undefined && bridgeSecretPrevious === bridgeSecret) {
    problems.push('BRIDGE_SECRET_PREVIOUS must differ from BRIDGE_SECRET (it is the secret being replaced)');
  }

  let adminApiKey = env.ADMIN_API_KEY?.trim() ?? '';
  let adminApiKeySource: BridgeConfig['adminApiKeySource'] = 'env';
  if (!adminApiKey) {
    if (production) problems.push('ADMIN_API_KEY is required in production (at least 24 characters)');
    else {
      adminApiKey = readPersistedSecret(resolve(certsDir, 'admin-api-key'), 24);
      adminApiKeySource = 'generated-file';
    }
  } else if (adminApiKey.length < 24) {
    problems.push('ADMIN_API_KEY must be at least 24 characters');
  }

  const rawLevel = (env.LOG_LEVEL?.trim().toLowerCase() ||
    (nodeEnv === 'test' ? 'silent' : 'info')) as LogLevel;
  if (!LOG_LEVELS.includes(rawLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${env.LOG_LEVEL}")`);
  }

  let issuer = (env.ISSUER?.trim() || baseUrl).replace(/\/+$/, '');
  try {
    const url = new URL(issuer);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push('ISSUER must be an http(s) URL');
    else if (production && url.protocol !== 'https:') problems.push('ISSUER must use https in production');
    issuer = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  } catch {
    problems.push(`ISSUER is not a valid URL (got "${issuer}")`);
  }

  const cookieDomain = env.COOKIE_DOMAIN?.trim().toLowerCase().replace(/^\./, '') || undefined;
  if (cookieDomain) {
    let host = '';
    try {
      host = new URL(baseUrl).hostname;
    } catch {
      /* BASE_URL already reported */
    }
    if (!/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(cookieDomain)) {
      problems.push(`COOKIE_DOMAIN must be a domain name such as example.com (got "${env.COOKIE_DOMAIN}")`);
    } else if (host && host !== cookieDomain && !host.endsWith(`.${cookieDomain}`)) {
      problems.push(
        `COOKIE_DOMAIN (${cookieDomain}) must be the BASE_URL host (${host}) or a parent domain of it`,
      );
    }
  }

  const cidrList = (name: string, fallback: string[]): string[] => {
    const raw = env[name];
    if (raw === undefined) return fallback;
    const items = raw
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
    for (const item of items) {
      if (!parseCidr(item))
        problems.push(`${name}: "${item}" is not a CIDR (e.g. 10.0.0.0/8) or an IP address`);
    }
    return items;
  };
  const outboundAllowCidrs = cidrList('OUTBOUND_ALLOW_CIDRS', [
    ...DEFAULT_OUTBOUND_ALLOW_CIDRS,
    ...(production ? [] : ['127.0.0.0/8', '::1/128']),
  ]);
  const outboundDenyCidrs = cidrList('OUTBOUND_DENY_CIDRS', []);
  const outboundCaFile = env.OUTBOUND_CA_FILE?.trim() ? resolve(cwd, env.OUTBOUND_CA_FILE.trim()) : undefined;
  if (outboundCaFile && !existsSync(outboundCaFile))
    problems.push(`OUTBOUND_CA_FILE: ${outboundCaFile} does not exist`);

  const config: BridgeConfig = {
    nodeEnv,
    production,
    baseUrl,
    issuer,
    port,
    host,
    databaseUrl,
    databaseListenUrl,
    dataDir,
    certsDir,
    bridgeSecret,
    bridgeSecretSource,
    bridgeSecretPrevious,
    adminApiKey,
    adminApiKeySource,
    logLevel: LOG_LEVELS.includes(rawLevel) ? rawLevel : 'info',
    trustProxy: bool(env, 'TRUST_PROXY', false, problems),
    bodyLimitBytes: intInRange(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1024, 50 * 1024 * 1024, problems),
    metadataFetchTimeoutMs: intInRange(env, 'METADATA_FETCH_TIMEOUT_MS', 10000, 100, 120000, problems),
    metadataMaxBytes: intInRange(env, 'METADATA_MAX_BYTES', 1024 * 1024, 1024, 20 * 1024 * 1024, problems),
    metadataRefreshSeconds: intInRange(env, 'METADATA_REFRESH_SECONDS', 86400, 60, 30 * 86400, problems),
    metadataSchedulerSeconds: intInRange(env, 'METADATA_SCHEDULER_SECONDS', 60, 0, 86400, problems),
    metadataAllowPrivateHosts: bool(env, 'METADATA_ALLOW_PRIVATE_HOSTS', !production, problems),
    outboundAllowCidrs,
    outboundDenyCidrs,
    outboundTimeoutMs: intInRange(env, 'OUTBOUND_TIMEOUT_MS', 5000, 100, 120000, problems),
    outboundMaxResponseBytes: intInRange(
      env,
      'OUTBOUND_MAX_RESPONSE_BYTES',
      1024 * 1024,
      1024,
      50 * 1024 * 1024,
      problems,
    ),
    outboundCaFile,
    oidcKeyRotationDays: intInRange(env, 'OIDC_KEY_ROTATION_DAYS', 30, 0, 365, problems),
    ssoTraceRetentionDays: intInRange(env, 'SSO_TRACE_RETENTION_DAYS', 14, 1, 3650, problems),
    webhookLeaseSeconds: intInRange(env, 'WEBHOOK_LEASE_SECONDS', 60, 2, 3600, problems),
    eventsRetentionDays: intInRange(env, 'EVENTS_RETENTION_DAYS', 30, 1, 3650, problems),
    scimRateLimitPerMinute: intInRange(env, 'SCIM_RATE_LIMIT_PER_MINUTE', 60_000, 1, 10_000_000, problems),
    cookieDomain,
    adminSessionIdleMinutes: intInRange(env, 'ADMIN_SESSION_IDLE_MINUTES', 30, 1, 24 * 60, problems),
    adminSessionMaxHours: intInRange(env, 'ADMIN_SESSION_MAX_HOURS', 12, 1, 7 * 24, problems),
    samlEngineThreads: intInRange(env, 'SAML_ENGINE_THREADS', defaultSamlEngineThreads(), 0, 16, problems),
    heapGrowingPercent: intInRange(env, 'HEAP_GROWING_PERCENT', 50, 0, 300, problems),
  };
  if (config.webhookLeaseSeconds * 1000 < 2 * config.outboundTimeoutMs) {
    problems.push(
      `WEBHOOK_LEASE_SECONDS (${config.webhookLeaseSeconds}) must be at least twice OUTBOUND_TIMEOUT_MS (${config.outboundTimeoutMs} ms), so that a delivery ends before another instance may take the endpoint over`,
    );
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return config;
}
