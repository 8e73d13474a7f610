import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigValidationError, defaultSamlEngineThreads, loadConfig } from '../../src/config/bridge-config';

const tmp = () => mkdtempSync(join(tmpdir(), 'bridge-config-'));
const GOOD = { BRIDGE_SECRET: 'x'.repeat(32), ADMIN_API_KEY: 'k'.repeat(24) };

describe('loadConfig', () => {
  it('listens for changes on DATABASE_LISTEN_URL when set (a pooler in front of DATABASE_URL), else DATABASE_URL', () => {
    const pooled = loadConfig(
      {
        ...GOOD,
        DATABASE_URL: 'postgres://u@pgbouncer:6432/b',
        DATABASE_LISTEN_URL: 'postgres://u@primary:5432/b',
      },
      tmp(),
    );
    expect(pooled.databaseListenUrl).toBe('postgres://u@primary:5432/b');
    expect(loadConfig({ ...GOOD, DATABASE_URL: 'postgres://u@db/b' }, tmp()).databaseListenUrl).toBe(
      'postgres://u@db/b',
    );
  });

  it('has working defaults for a first run', () => {
    const dir = tmp();
    const config = loadConfig({}, dir);
    expect(config.baseUrl).toBe('http://localhost:3000');
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toBe(join(dir, 'data'));
    expect(config.logLevel).toBe('info');
    expect(config.production).toBe(false);
  });

  it('generates the development secret and admin key once, persisted with mode 0600', () => {
    const dir = tmp();
    const first = loadConfig({}, dir);
    const second = loadConfig({}, dir);
    expect(first.bridgeSecretSource).toBe('generated-file');
    expect(first.bridgeSecret.length).toBeGreaterThanOrEqual(32);
    expect(second.bridgeSecret).toBe(first.bridgeSecret);
    expect(second.adminApiKey).toBe(first.adminApiKey);
    const file = join(dir, 'certs', 'bridge-secret');
    expect(readFileSync(file, 'utf8').trim()).toBe(first.bridgeSecret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('never generates secrets in production: it lists every problem at once', () => {
    const dir = tmp();
    let error: unknown;
    try {
      loadConfig(
        { NODE_ENV: 'production', BASE_URL: 'http://bridge.example.com', PORT: 'abc', LOG_LEVEL: 'loud' },
        dir,
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const problems = (error as ConfigValidationError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('BRIDGE_SECRET is required'),
        expect.stringContaining('ADMIN_API_KEY is required'),
        expect.stringContaining('BASE_URL must use https'),
        expect.stringContaining('PORT must be a whole number'),
        expect.stringContaining('LOG_LEVEL must be one of'),
      ]),
    );
    expect(existsSync(join(dir, 'certs', 'bridge-secret'))).toBe(false);
    expect((error as Error).message).toContain('Invalid configuration');
  });

  it.each([
    [{ BASE_URL: 'not a url' }, 'BASE_URL is not a valid URL'],
    [{ BASE_URL: 'ftp://x' }, 'BASE_URL must be an http(s) URL'],
    [{ BASE_URL: 'https://x/?a=1' }, 'must not contain a query'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL must be a postgres://'],
    [{ DATABASE_LISTEN_URL: 'postgres://db/x' }, 'DATABASE_LISTEN_URL needs DATABASE_URL'],
    [
      { DATABASE_URL: 'postgres://db/x', DATABASE_LISTEN_URL: 'http://db' },
      'DATABASE_LISTEN_URL must be a postgres://',
    ],
    [
      { WEBHOOK_LEASE_SECONDS: '5', OUTBOUND_TIMEOUT_MS: '5000' },
      'WEBHOOK_LEASE_SECONDS (5) must be at least twice',
    ],
    [{ BRIDGE_SECRET: 'short' }, 'BRIDGE_SECRET must be at least 32'],
    [{ ADMIN_API_KEY: 'short' }, 'ADMIN_API_KEY must be at least 24'],
    [{ PORT: '70000' }, 'PORT must be between'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV must be'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY must be true or false'],
    [{ COOKIE_DOMAIN: 'not a domain' }, 'COOKIE_DOMAIN must be a domain name'],
    [{ BASE_URL: 'https://sso.example.com', COOKIE_DOMAIN: 'other.com' }, 'must be the BASE_URL host'],
    [{ ISSUER: 'ftp://x' }, 'ISSUER must be an http(s) URL'],
    [{ OIDC_KEY_ROTATION_DAYS: '999' }, 'OIDC_KEY_ROTATION_DAYS must be between'],
    [{ ADMIN_SESSION_IDLE_MINUTES: '0' }, 'ADMIN_SESSION_IDLE_MINUTES must be between 1 and 1440'],
    [{ ADMIN_SESSION_IDLE_MINUTES: 'soon' }, 'ADMIN_SESSION_IDLE_MINUTES must be a whole number'],
    [{ ADMIN_SESSION_MAX_HOURS: '1000' }, 'ADMIN_SESSION_MAX_HOURS must be between 1 and 168'],
    [{ SAML_ENGINE_THREADS: '17' }, 'SAML_ENGINE_THREADS must be between 0 and 16'],
    [{ SAML_ENGINE_THREADS: 'two' }, 'SAML_ENGINE_THREADS must be a whole number'],
    [{ HEAP_GROWING_PERCENT: '301' }, 'HEAP_GROWING_PERCENT must be between 0 and 300'],
  ])('rejects %j', (env, message) => {
    expect(() => loadConfig({ ...GOOD, ...env }, tmp())).toThrow(message);
  });

  it('validates SAML responses on one worker thread per core (at most 4) unless SAML_ENGINE_THREADS says', () => {
    expect(loadConfig(GOOD, tmp()).samlEngineThreads).toBe(Math.min(4, availableParallelism()));
    expect(loadConfig({ ...GOOD, NODE_ENV: 'test' }, tmp()).samlEngineThreads).toBe(
      defaultSamlEngineThreads(),
    );
    expect(loadConfig({ ...GOOD, SAML_ENGINE_THREADS: '0' }, tmp()).samlEngineThreads).toBe(0);
    expect(loadConfig({ ...GOOD, SAML_ENGINE_THREADS: '16' }, tmp()).samlEngineThreads).toBe(16);
  });

  it('caps heap growth at 50 % above the live heap unless HEAP_GROWING_PERCENT says (0: V8 decides)', () => {
    expect(loadConfig(GOOD, tmp()).heapGrowingPercent).toBe(50);
    expect(loadConfig({ ...GOOD, HEAP_GROWING_PERCENT: '0' }, tmp()).heapGrowingPercent).toBe(0);
    expect(loadConfig({ ...GOOD, HEAP_GROWING_PERCENT: '100' }, tmp()).heapGrowingPercent).toBe(100);
  });

  it('normalises BASE_URL and accepts a production configuration', () => {
    const config = loadConfig(
      {
        ...GOOD,
        NODE_ENV: 'production',
        BASE_URL: 'https://sso.example.com/bridge/',
        DATABASE_URL: 'postgres://u:p@db:5432/bridge',
        TRUST_PROXY: 'true',
      },
      tmp(),
    );
    expect(config.baseUrl).toBe('https://sso.example.com/bridge');
    expect(config.production).toBe(true);
    expect(config.trustProxy).toBe(true);
    expect(config.metadataAllowPrivateHosts).toBe(false);
    expect(config.issuer).toBe('https://sso.example.com/bridge');
    expect(
      loadConfig({ ...GOOD, BASE_URL: 'https://sso.example.com', COOKIE_DOMAIN: '.Example.com' }, tmp())
        .cookieDomain,
    ).toBe('example.com');
  });

  it('takes BRIDGE_SECRET_PREVIOUS during a secret rotation, and checks it', () => {
    expect(loadConfig({ ...GOOD, BRIDGE_SECRET_PREVIOUS: 'p'.repeat(32) }, tmp()).bridgeSecretPrevious).toBe(
      'p'.repeat(32),
    );
    expect(loadConfig(GOOD, tmp()).bridgeSecretPrevious).toBeUndefined();
    expect(() => loadConfig({ ...GOOD, BRIDGE_SECRET_PREVIOUS: 'short' }, tmp())).toThrow(
      /BRIDGE_SECRET_PREVIOUS must be at least 32 characters/,
    );
    expect(() => loadConfig({ ...GOOD, BRIDGE_SECRET_PREVIOUS: GOOD.BRIDGE_SECRET }, tmp())).toThrow(
      /must differ from BRIDGE_SECRET/,
    );
  });
});
