import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOMParser, type Element } from 'xmldom-0.9';
import { generateTestKeyPair } from './certs.js';

/**
 * A real SAML 2.0 IdP for end-to-end tests: Debian's SimpleSAMLphp 1.19 (package `simplesamlphp`, code in
 * /usr/share/simplesamlphp, its own config in /etc/simplesamlphp, which is never used here) served by
 * `php -S 127.0.0.1:<port>` with a configuration generated in a temp work dir and selected with the
 * SIMPLESAMLPHP_CONFIG_DIR environment variable. Install with scripts/install-e2e-deps.sh.
 *
 * The IdP lives on http://127.0.0.1:<port>, a different *site* from an SP on http://localhost:<port>, so the
 * IdP's POST to the SP's ACS is cross-site, as in production.
 */

export const SIMPLESAMLPHP_DIR = process.env.SIMPLESAMLPHP_DIR ?? '/usr/share/simplesamlphp';
export const PHP_BINARY = process.env.PHP_BINARY ?? 'php';

export const SAML_BINDING = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
  artifact: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact',
} as const;

export const NAMEID_FORMAT = {
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  emailAddress: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
} as const;

export const ATTRNAME_FORMAT_URI = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
/** Authsource attribute holding the NameID value; turned into the NameID, then removed before release. */
const NAMEID_ATTRIBUTE = 'e2e:nameid';
const AUTHSOURCE = 'e2e-userpass';

export interface SimpleSamlPhpUser {
  username: string;
  password: string;
  /** Released as they are (names unchanged), NameFormat uri. Use OID names (urn:oid:…) if a test wants them. */
  attributes: Record<string, string[]>;
  /** The NameID value (persistent, emailAddress or unspecified formats); default: the username. */
  nameId?: string;
}

/** Per-SP settings (keys of SimpleSAMLphp's saml20-sp-remote metadata). */
export interface SpTrustOptions {
  /** 'assertion.encryption' (the SP's encryption certificate comes from its metadata). Default false. */
  encryptAssertion?: boolean;
  /** 'saml20.sign.response'. Default: the IdP's `signResponse` option (false). */
  signResponse?: boolean;
  /** 'saml20.sign.assertion'. Default: the IdP's `signAssertion` option (true). */
  signAssertion?: boolean;
  /** 'NameIDFormat' issued to this SP. Default: the IdP's `nameIdFormat` (persistent). */
  nameIdFormat?: string;
  /** 'validate.authnrequest'. Default: the metadata's AuthnRequestsSigned. */
  validateAuthnRequest?: boolean;
  /** 'validate.logout' (require signed LogoutRequest/LogoutResponse from the SP). Default: AuthnRequestsSigned. */
  validateLogout?: boolean;
  /** Any other saml20-sp-remote keys, merged last (override everything above). */
  extra?: Record<string, PhpValue>;
}

export interface IdpStartOptions {
  /** 0 or undefined: pick a free port. */
  port?: number;
  /** SP metadata documents to trust (our bridge publishes them at /saml/{slug}/metadata). */
  spMetadataXml?: string[];
  users: SimpleSamlPhpUser[];
  /** Sign the Response (saml20.sign.response): default for every SP (addSp can override). Default false. */
  signResponse?: boolean;
  /** Sign the Assertion (saml20.sign.assertion): default for every SP (addSp can override). Default true. */
  signAssertion?: boolean;
  /** Encrypt assertions for the SPs in spMetadataXml (their metadata must have an encryption certificate). */
  encryptAssertion?: boolean;
  /** Default NameID format for every SP. Default persistent. */
  nameIdFormat?: string;
  /** Where the generated config, keys, sessions and php.log go. Default: a fresh dir under os.tmpdir(), removed by stop(). */
  workDir?: string;
  /** How long to wait for `php -S` to serve the metadata. Default 30 s. */
  startTimeoutMs?: number;
  /**
   * The IdP's cookies. 'None' (default): `SameSite=None; Secure`, as SimpleSAMLphp sends them in production
   * (https), so cross-site POSTs to the IdP (HTTP-POST AuthnRequest, LogoutRequest/Response) carry its session.
   * SimpleSAMLphp itself refuses Secure cookies on plain http, so a `php -S` router script adds the attributes;
   * Chromium accepts Secure cookies from http://127.0.0.1 (a potentially trustworthy origin).
   * 'Lax': what SimpleSAMLphp can do on plain http by itself (`SameSite=Lax`, not Secure): a cross-site POST
   * to the IdP then arrives without its session.
   */
  cookieSameSite?: 'None' | 'Lax';
}

// ---------------------------------------------------------------------------------------------------------
// SP metadata parsing
// ---------------------------------------------------------------------------------------------------------

export interface SpEndpoint {
  binding: string;
  location: string;
  responseLocation?: string;
  index?: number;
  isDefault?: boolean;
}

export interface ParsedSpMetadata {
  entityId: string;
  assertionConsumerServices: SpEndpoint[];
  singleLogoutServices: SpEndpoint[];
  /** Base64 DER, as in <ds:X509Certificate>. A KeyDescriptor without `use` counts as both. */
  signingCertificates: string[];
  encryptionCertificates: string[];
  nameIdFormats: string[];
  authnRequestsSigned: boolean;
  wantAssertionsSigned: boolean;
}

function childElements(parent: Element, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1) {
      const el = node as Element;
      if (el.namespaceURI === ns && el.localName === localName) out.push(el);
    }
  }
  return out;
}

function descendants(parent: Element, ns: string, localName: string): Element[] {
  return Array.from(parent.getElementsByTagNameNS(ns, localName));
}

function xmlBool(value: string | null): boolean {
  return value === 'true' || value === '1';
}

/** Every SAML 2.0 SP (SPSSODescriptor) in an EntityDescriptor or EntitiesDescriptor document. */
export function parseSpMetadata(xml: string): ParsedSpMetadata[] {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const root = doc.documentElement;
  if (!root) throw new Error('SP metadata: not an XML document');
  const entities =
    root.namespaceURI === MD_NS && root.localName === 'EntityDescriptor'
      ? [root]
      : descendants(root, MD_NS, 'EntityDescriptor');
  const result: ParsedSpMetadata[] = [];
  for (const entity of entities) {
    const entityId = entity.getAttribute('entityID');
    const [sp] = childElements(entity, MD_NS, 'SPSSODescriptor');
    if (!entityId || !sp) continue;
    const endpoints = (name: string): SpEndpoint[] =>
      childElements(sp, MD_NS, name).map((el) => {
        const ep: SpEndpoint = {
          binding: el.getAttribute('Binding') ?? '',
          location: el.getAttribute('Location') ?? '',
        };
        const responseLocation = el.getAttribute('ResponseLocation');
        if (responseLocation) ep.responseLocation = responseLocation;
        const index = el.getAttribute('index');
        if (index !== null && index !== '') ep.index = Number(index);
        const isDefault = el.getAttribute('isDefault');
        if (isDefault !== null) ep.isDefault = xmlBool(isDefault);
        return ep;
      });
    const signing: string[] = [];
    const encryption: string[] = [];
    for (const kd of childElements(sp, MD_NS, 'KeyDescriptor')) {
      const use = kd.getAttribute('use') ?? '';
      for (const certEl of descendants(kd, DS_NS, 'X509Certificate')) {
        const cert = (certEl.textContent ?? '').replace(/\s+/g, '');
        if (!cert) continue;
        if (use === '' || use === 'signing') signing.push(cert);
        if (use === '' || use === 'encryption') encryption.push(cert);
      }
    }
    result.push({
      entityId,
      assertionConsumerServices: endpoints('AssertionConsumerService'),
      singleLogoutServices: endpoints('SingleLogoutService'),
      signingCertificates: [...new Set(signing)],
      encryptionCertificates: [...new Set(encryption)],
      nameIdFormats: childElements(sp, MD_NS, 'NameIDFormat').map((el) => (el.textContent ?? '').trim()),
      authnRequestsSigned: xmlBool(sp.getAttribute('AuthnRequestsSigned')),
      wantAssertionsSigned: xmlBool(sp.getAttribute('WantAssertionsSigned')),
    });
  }
  if (result.length === 0) throw new Error('SP metadata: no EntityDescriptor with an SPSSODescriptor found');
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// PHP config rendering
// ---------------------------------------------------------------------------------------------------------

/** A raw PHP expression (e.g. a class constant) inside a generated config array. */
export class PhpExpr {
  constructor(readonly code: string) {}
}
export type PhpValue = string | number | boolean | null | PhpExpr | PhpValue[] | { [key: string]: PhpValue };

function phpString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function toPhp(value: PhpValue, indent = ''): string {
  if (value === null) return 'null';
  if (value instanceof PhpExpr) return value.code;
  if (typeof value === 'string') return phpString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`toPhp: ${value} is not a finite number`);
    return String(value);
  }
  const inner = indent + '    ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${inner}${toPhp(v, inner)},\n`).join('')}${indent}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '[]';
  const key = (k: string): string => (/^(0|[1-9][0-9]{0,8})$/.test(k) ? k : phpString(k));
  return `[\n${entries.map(([k, v]) => `${inner}${key(k)} => ${toPhp(v, inner)},\n`).join('')}${indent}]`;
}

function phpFile(variable: string, value: PhpValue): string {
  return `<?php\n// Generated by test/e2e/simplesamlphp.ts: do not edit.\n$${variable} = ${toPhp(value)};\n`;
}

// ---------------------------------------------------------------------------------------------------------
// Process bookkeeping: never leave a php -S behind when the test process exits.
// ---------------------------------------------------------------------------------------------------------

/*
 * `php -S` runs under a tiny sh watchdog in its own process group: the watchdog holds a pipe from this process
 * on its stdin and kills php as soon as that pipe reaches EOF, i.e. when stop() closes it or when this process
 * dies in any way (even SIGKILL, or a Jest worker torn down without running our code). The 'exit' hook below
 * only speeds that up.
 */
const WATCHDOG = [
  'exec 3<&0',
  'php_bin="$1"; shift',
  '"$php_bin" "$@" </dev/null &',
  'pid=$!',
  '{ read -r _ <&3; kill "$pid" 2>/dev/null; } &',
  'wait "$pid"',
].join('\n');

/**
 * php -S router: makes every cookie `Secure; SameSite=None` (see IdpStartOptions.cookieSameSite). An output
 * buffer callback, because it runs before the headers go out, whatever the script does (SimpleSAMLphp itself
 * takes the single header_register_callback() slot to save its session).
 */
const COOKIE_ROUTER = `<?php
// Generated by test/e2e/simplesamlphp.ts. Returns false: php -S then serves the request as usual.
ob_start(function (string $buffer): string {
    if (headers_sent()) {
        return $buffer;
    }
    $cookies = [];
    foreach (headers_list() as $header) {
        if (stripos($header, 'Set-Cookie:') === 0) {
            $cookies[] = trim(substr($header, 11));
        }
    }
    if (count($cookies) > 0) {
        header_remove('Set-Cookie');
        foreach ($cookies as $cookie) {
            $cookie = preg_replace('/;\\s*(SameSite=[^;]*|Secure)(?=;|$)/i', '', $cookie);
            header('Set-Cookie: ' . $cookie . '; Secure; SameSite=None', false);
        }
    }
    return $buffer;
});
return false;
`;

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
    liveGroups.clear();
  });
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function tailOfFile(file: string, maxBytes = 8000): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const start = Math.max(0, size - maxBytes);
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      return (start > 0 ? '…' : '') + buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The IdP
// ---------------------------------------------------------------------------------------------------------

interface TrustedSp {
  metadata: ParsedSpMetadata;
  options: SpTrustOptions;
}

export class SimpleSamlPhpIdp {
  /** http://127.0.0.1:<port> */
  readonly baseUrl: string;
  /** The IdP's SAML 2.0 metadata (also its entity ID). */
  readonly metadataUrl: string;
  readonly entityId: string;
  /** SingleSignOnService (HTTP-Redirect and HTTP-POST). */
  readonly ssoUrl: string;
  /** SingleLogoutService (HTTP-Redirect and HTTP-POST). */
  readonly sloUrl: string;
  /** php -S stderr (access log) plus SimpleSAMLphp's own log (logging.handler stderr, level DEBUG). */
  readonly logFile: string;
  /** The IdP's signing certificate (PEM); also in its metadata. */
  readonly certificatePem: string;

  private readonly sps = new Map<string, TrustedSp>();
  private users: SimpleSamlPhpUser[];
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private spawnError?: Error;

  private constructor(
    readonly workDir: string,
    readonly port: number,
    private readonly removeWorkDir: boolean,
    private readonly defaults: Required<
      Pick<IdpStartOptions, 'signResponse' | 'signAssertion' | 'nameIdFormat' | 'cookieSameSite'>
    >,
    users: SimpleSamlPhpUser[],
    certificatePem: string,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.metadataUrl = `${this.baseUrl}/saml2/idp/metadata.php`;
    this.entityId = this.metadataUrl;
    this.ssoUrl = `${this.baseUrl}/saml2/idp/SSOService.php`;
    this.sloUrl = `${this.baseUrl}/saml2/idp/SingleLogoutService.php`;
    this.logFile = join(workDir, 'php.log');
    this.users = users;
    this.certificatePem = certificatePem;
  }

  static async start(opts: IdpStartOptions): Promise<SimpleSamlPhpIdp> {
    if (!existsSync(join(SIMPLESAMLPHP_DIR, 'www', 'saml2', 'idp', 'SSOService.php'))) {
      throw new Error(
        `SimpleSAMLphp not found in ${SIMPLESAMLPHP_DIR} (set SIMPLESAMLPHP_DIR, or run scripts/install-e2e-deps.sh)`,
      );
    }
    installExitHook();
    const workDir = opts.workDir ?? (await mkdtemp(join(tmpdir(), 'e2e-simplesamlphp-')));
    const removeWorkDir = opts.workDir === undefined && process.env.E2E_KEEP_WORKDIR !== '1';
    // A port picked by freePort() may be taken again before php binds it: then try another one.
    for (let attempt = 1; ; attempt++) {
      const port = opts.port ? opts.port : await freePort();
      let idp: SimpleSamlPhpIdp;
      try {
        idp = await SimpleSamlPhpIdp.prepare(opts, workDir, port, removeWorkDir);
      } catch (err) {
        if (removeWorkDir) await rm(workDir, { recursive: true, force: true });
        throw err; // bad options or SP metadata: nothing ran yet
      }
      try {
        await idp.spawnPhp();
        await idp.waitUntilReady(opts.startTimeoutMs ?? 30_000);
        return idp;
      } catch (err) {
        await idp.stop({ keepWorkDir: true });
        const portTaken = /Address already in use/i.test(idp.logTail(2000));
        if (!opts.port && portTaken && attempt < 5) continue;
        throw err; // the work dir stays, for a post-mortem (its path is in the message)
      }
    }
  }

  private static async prepare(
    opts: IdpStartOptions,
    workDir: string,
    port: number,
    removeWorkDir: boolean,
  ): Promise<SimpleSamlPhpIdp> {
    for (const dir of ['config', 'metadata', 'cert', 'sessions', 'tmp', 'data', 'log']) {
      await mkdir(join(workDir, dir), { recursive: true, mode: 0o700 });
    }
    const keys = await generateTestKeyPair(`SimpleSAMLphp e2e IdP 127.0.0.1:${port}`);
    await writeFile(join(workDir, 'cert', 'idp.key'), keys.privateKeyPem, { mode: 0o600 });
    await writeFile(join(workDir, 'cert', 'idp.crt'), keys.certificatePem);
    const idp = new SimpleSamlPhpIdp(
      workDir,
      port,
      removeWorkDir,
      {
        signResponse: opts.signResponse ?? false,
        signAssertion: opts.signAssertion ?? true,
        nameIdFormat: opts.nameIdFormat ?? NAMEID_FORMAT.persistent,
        cookieSameSite: opts.cookieSameSite ?? 'None',
      },
      opts.users,
      keys.certificatePem,
    );
    for (const xml of opts.spMetadataXml ?? []) {
      for (const metadata of parseSpMetadata(xml)) {
        idp.sps.set(metadata.entityId, {
          metadata,
          options: { encryptAssertion: opts.encryptAssertion ?? false },
        });
      }
    }
    await idp.writeConfig();
    await idp.writeAuthsources();
    await idp.writeIdpHosted();
    await idp.writeSpRemote();
    return idp;
  }

  /** The IdP's metadata document, fetched from metadataUrl. */
  async metadataXml(): Promise<string> {
    const res = await fetch(this.metadataUrl);
    const body = await res.text();
    if (!res.ok || !body.includes('EntityDescriptor')) {
      throw this.error(`GET ${this.metadataUrl} answered ${res.status}: ${body.slice(0, 500)}`);
    }
    return body;
  }

  /** IdP-initiated SSO (unsolicited Response) to a trusted SP: SimpleSAMLphp's SSOService.php?spentityid=… */
  idpInitiatedLoginUrl(spEntityId: string, relayState?: string): string {
    const q = new URLSearchParams({ spentityid: spEntityId });
    if (relayState !== undefined) q.set('RelayState', relayState);
    return `${this.ssoUrl}?${q.toString()}`;
  }

  /**
   * IdP-initiated single logout: SingleLogoutService.php?ReturnTo=… logs the IdP session out, sends a
   * LogoutRequest to every SP of the session (front channel, one after another, waiting for each
   * LogoutResponse), then redirects to `returnTo` (default: SimpleSAMLphp's "logged out" page).
   * `returnTo` must be on 127.0.0.1 or localhost (trusted.url.domains).
   */
  idpInitiatedLogoutUrl(returnTo?: string): string {
    const q = new URLSearchParams({ ReturnTo: returnTo ?? `${this.baseUrl}/logout.php` });
    return `${this.sloUrl}?${q.toString()}`;
  }

  /**
   * Trusts (or re-trusts, replacing the earlier entry) every SP in a metadata document. SimpleSAMLphp reads
   * its metadata files on each request, so this takes effect at once, without a restart.
   */
  async addSp(spMetadataXml: string, opts: SpTrustOptions = {}): Promise<ParsedSpMetadata[]> {
    const parsed = parseSpMetadata(spMetadataXml);
    for (const metadata of parsed) this.spRemoteEntry({ metadata, options: opts }); // validate before changing anything
    for (const metadata of parsed) this.sps.set(metadata.entityId, { metadata, options: opts });
    await this.writeSpRemote();
    return parsed;
  }

  async removeSp(entityId: string): Promise<void> {
    this.sps.delete(entityId);
    await this.writeSpRemote();
  }

  /** Replaces the users of the login form (authsources.php; also read per request). */
  async setUsers(users: SimpleSamlPhpUser[]): Promise<void> {
    this.users = users;
    await this.writeAuthsources();
  }

  /** The last bytes of php.log, for failure messages. */
  logTail(maxBytes = 8000): string {
    return tailOfFile(this.logFile, maxBytes);
  }

  async stop(opts: { keepWorkDir?: boolean } = {}): Promise<void> {
    const child = this.child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const pid = child.pid;
      child.stdin?.end(); // EOF: the watchdog kills php, then exits
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timer);
      killGroup(pid, 'SIGKILL'); // the watchdog's reader, if php died first
      liveGroups.delete(pid);
    }
    this.child = undefined;
    if (this.removeWorkDir && !opts.keepWorkDir) {
      await rm(this.workDir, { recursive: true, force: true });
    }
  }

  // -------------------------------------------------------------------------------------------------------

  private error(message: string): Error {
    return new Error(
      `${message}\n--- SimpleSAMLphp IdP (${this.baseUrl}) ${this.logFile}, tail:\n${this.logTail()}`,
    );
  }

  private async spawnPhp(): Promise<void> {
    await writeFile(join(this.workDir, 'opcache-blacklist.txt'), `${this.workDir}/\n`);
    await writeFile(join(this.workDir, 'router.php'), COOKIE_ROUTER);
    const log = openSync(this.logFile, 'w');
    try {
      const child = spawn(
        'sh',
        [
          '-c',
          WATCHDOG,
          'simplesamlphp-watchdog',
          PHP_BINARY,
          '-d',
          'display_errors=0',
          '-d',
          'log_errors=1',
          '-d',
          `error_reporting=${32767 & ~8192 & ~16384}`, // E_ALL & ~E_DEPRECATED & ~E_USER_DEPRECATED
          // php -S (SAPI cli-server) runs OPcache with opcache.enable, not enable_cli, and revalidates only every
          // 2 s by mtime: the generated config and metadata (rewritten by addSp/setUsers) must never be cached.
          '-d',
          `opcache.blacklist_filename=${join(this.workDir, 'opcache-blacklist.txt')}`,
          '-S',
          `127.0.0.1:${this.port}`,
          '-t',
          join(SIMPLESAMLPHP_DIR, 'www'),
          ...(this.defaults.cookieSameSite === 'None' ? [join(this.workDir, 'router.php')] : []),
        ],
        {
          cwd: this.workDir,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: this.workDir,
            TZ: 'UTC',
            SIMPLESAMLPHP_CONFIG_DIR: join(this.workDir, 'config'),
          },
          stdio: ['pipe', log, log],
          detached: true, // own process group, so stop() can kill the watchdog and php together
        },
      );
      this.child = child;
      const pid = child.pid;
      if (pid !== undefined) liveGroups.add(pid);
      // Never keep the test process alive for php: if it ends without stop(), the pipe closes and php goes.
      child.unref();
      (child.stdin as Socket | null)?.unref();
      child.stdin?.on('error', () => undefined);
      this.exited = new Promise<void>((resolve) => {
        child.once('exit', () => {
          if (pid !== undefined) liveGroups.delete(pid);
          resolve();
        });
        child.once('error', (err) => {
          this.spawnError = err;
          resolve();
        });
      });
    } finally {
      closeSync(log);
    }
  }

  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastProblem = 'no answer yet';
    let exited = false;
    const markExited = () => (exited = true);
    this.exited?.then(markExited, markExited);
    while (Date.now() < deadline) {
      if (exited || this.spawnError) {
        throw this.error(
          `php -S exited before serving the IdP metadata (${this.spawnError?.message ?? `exit ${this.child?.exitCode}`})` +
            ` — run scripts/install-e2e-deps.sh?`,
        );
      }
      try {
        const res = await fetch(this.metadataUrl, { signal: AbortSignal.timeout(5000) });
        const body = await res.text();
        if (res.ok && body.includes('EntityDescriptor')) return;
        lastProblem = `HTTP ${res.status}: ${body.slice(0, 300)}`;
        if (res.status >= 500) throw this.error(`SimpleSAMLphp failed to serve its metadata: ${lastProblem}`);
      } catch (err) {
        if ((err as Error).message.includes('SimpleSAMLphp failed')) throw err;
        lastProblem = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw this.error(
      `SimpleSAMLphp did not serve ${this.metadataUrl} within ${timeoutMs} ms (${lastProblem})`,
    );
  }

  private async writeAtomic(relPath: string, content: string): Promise<void> {
    const target = join(this.workDir, relPath);
    const tmp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, content, { mode: 0o600 });
    await rename(tmp, target);
  }

  private async writeConfig(): Promise<void> {
    const w = (p: string): string => join(this.workDir, p) + '/';
    const config: Record<string, PhpValue> = {
      baseurlpath: `${this.baseUrl}/`,
      certdir: w('cert'),
      loggingdir: w('log'),
      datadir: w('data'),
      tempdir: join(this.workDir, 'tmp'),
      metadatadir: w('metadata'),
      'metadata.sources': [{ type: 'flatfile', directory: w('metadata') }],
      technicalcontact_name: 'e2e',
      technicalcontact_email: 'e2e@example.org',
      timezone: 'UTC',
      secretsalt: randomBytes(24).toString('hex'),
      'auth.adminpassword': randomBytes(12).toString('hex'),
      'admin.protectindexpage': false,
      'admin.protectmetadata': false,
      'admin.checkforupdates': false,
      // ReturnTo / RelayState URLs SimpleSAMLphp will redirect to (host[:port], regexes).
      'trusted.url.domains': ['localhost(:[0-9]+)?', '127\\.0\\.0\\.1(:[0-9]+)?'],
      'trusted.url.regex': true,
      'enable.http_post': false,
      'assertion.allowed_clock_skew': 180,
      debug: { saml: true, backtraces: true, validatexml: false },
      showerrors: true,
      errorreporting: false,
      'logging.level': new PhpExpr('SimpleSAML\\Logger::DEBUG'),
      'logging.handler': 'stderr',
      'logging.processname': 'simplesamlphp',
      'statistics.out': [],
      'enable.saml20-idp': true,
      'enable.shib13-idp': false,
      'enable.adfs-idp': false,
      'module.enable': { core: true, saml: true, exampleauth: true, admin: true },
      'session.duration': 8 * 3600,
      'session.datastore.timeout': 4 * 3600,
      'session.state.timeout': 3600,
      'session.cookie.name': 'SimpleSAMLSessionID',
      'session.cookie.lifetime': 0,
      'session.cookie.path': '/',
      'session.cookie.domain': null,
      // SimpleSAMLphp refuses to set Secure cookies on plain http; with cookieSameSite 'None' the router script
      // turns these into `Secure; SameSite=None` (see IdpStartOptions.cookieSameSite).
      'session.cookie.secure': false,
      'session.cookie.samesite': 'Lax',
      'session.phpsession.cookiename': 'SimpleSAML',
      'session.phpsession.savepath': join(this.workDir, 'sessions'),
      'session.phpsession.httponly': true,
      'session.authtoken.cookiename': 'SimpleSAMLAuthToken',
      'session.rememberme.enable': false,
      'language.available': ['en'],
      'language.default': 'en',
      'language.cookie.secure': false,
      'language.cookie.samesite': 'Lax',
      'theme.use': 'default',
      'template.auto_reload': false,
      production: true,
      // PHP sessions (files in the work dir): php -S runs one request at a time, so no locking surprises.
      'store.type': 'phpsession',
      'authproc.idp': {},
      proxy: null,
    };
    await this.writeAtomic('config/config.php', phpFile('config', config));
  }

  private async writeAuthsources(): Promise<void> {
    const source: Record<string, PhpValue> = { 0: 'exampleauth:UserPass' };
    for (const user of this.users) {
      if (user.username.includes(':'))
        throw new Error(`SimpleSAMLphp user name must not contain ':': ${user.username}`);
      source[`${user.username}:${user.password}`] = {
        ...user.attributes,
        [NAMEID_ATTRIBUTE]: [user.nameId ?? user.username],
      };
    }
    const authsources: Record<string, PhpValue> = { admin: ['core:AdminPassword'], [AUTHSOURCE]: source };
    await this.writeAtomic('config/authsources.php', phpFile('config', authsources));
  }

  private async writeIdpHosted(): Promise<void> {
    const hosted: Record<string, PhpValue> = {
      [this.entityId]: {
        host: '__DEFAULT__',
        privatekey: join(this.workDir, 'cert', 'idp.key'),
        certificate: join(this.workDir, 'cert', 'idp.crt'),
        auth: AUTHSOURCE,
        'signature.algorithm': RSA_SHA256,
        NameIDFormat: this.defaults.nameIdFormat,
        'attributes.NameFormat': ATTRNAME_FORMAT_URI,
        'userid.attribute': NAMEID_ATTRIBUTE,
        SingleSignOnServiceBinding: [SAML_BINDING.redirect, SAML_BINDING.post],
        SingleLogoutServiceBinding: [SAML_BINDING.redirect, SAML_BINDING.post],
        logouttype: 'traditional',
      },
    };
    await this.writeAtomic('metadata/saml20-idp-hosted.php', phpFile('metadata', hosted));
  }

  private spRemoteEntry({ metadata, options }: TrustedSp): Record<string, PhpValue> {
    const signed = metadata.authnRequestsSigned;
    const encrypt = options.encryptAssertion ?? false;
    if (encrypt && metadata.encryptionCertificates.length === 0) {
      throw new Error(
        `SP ${metadata.entityId}: encryptAssertion needs an encryption certificate in its metadata`,
      );
    }
    const nameIdFormat = options.nameIdFormat ?? this.defaults.nameIdFormat;
    const keys: PhpValue[] = [];
    const all = [...new Set([...metadata.signingCertificates, ...metadata.encryptionCertificates])];
    for (const cert of all) {
      keys.push({
        type: 'X509Certificate',
        signing: metadata.signingCertificates.includes(cert),
        encryption: metadata.encryptionCertificates.includes(cert),
        X509Certificate: cert,
      });
    }
    const endpoint = (ep: SpEndpoint, i: number): Record<string, PhpValue> => {
      const out: Record<string, PhpValue> = { Binding: ep.binding, Location: ep.location };
      if (ep.responseLocation) out.ResponseLocation = ep.responseLocation;
      out.index = ep.index ?? i;
      if (ep.isDefault !== undefined) out.isDefault = ep.isDefault;
      return out;
    };
    const authproc: Record<string, PhpValue> = {};
    if (nameIdFormat !== NAMEID_FORMAT.transient) {
      // A predictable NameID (the user's nameId/username) in the requested format, whatever the AuthnRequest's
      // NameIDPolicy asked for.
      authproc[90] = { class: 'saml:AttributeNameID', attribute: NAMEID_ATTRIBUTE, Format: nameIdFormat };
    }
    authproc[95] = { class: 'core:PHP', code: `unset($attributes['${NAMEID_ATTRIBUTE}']);` };
    const entry: Record<string, PhpValue> = {
      entityid: metadata.entityId,
      AssertionConsumerService: metadata.assertionConsumerServices.map(endpoint),
      keys,
      NameIDFormat: nameIdFormat,
      'attributes.NameFormat': ATTRNAME_FORMAT_URI,
      'signature.algorithm': RSA_SHA256,
      'sign.logout': true,
      'validate.authnrequest': options.validateAuthnRequest ?? signed,
      'validate.logout': options.validateLogout ?? signed,
      'saml20.sign.response': options.signResponse ?? this.defaults.signResponse,
      'saml20.sign.assertion': options.signAssertion ?? this.defaults.signAssertion,
      'assertion.encryption': encrypt,
      authproc,
    };
    if (metadata.singleLogoutServices.length > 0) {
      entry.SingleLogoutService = metadata.singleLogoutServices.map(endpoint);
    }
    return { ...entry, ...(options.extra ?? {}) };
  }

  private async writeSpRemote(): Promise<void> {
    const all: Record<string, PhpValue> = {};
    for (const [entityId, sp] of this.sps) all[entityId] = this.spRemoteEntry(sp);
    await this.writeAtomic('metadata/saml20-sp-remote.php', phpFile('metadata', all));
  }
}
