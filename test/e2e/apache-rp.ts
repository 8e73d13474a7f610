import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './simplesamlphp';

/**
 * A second, independent OIDC relying party for end-to-end tests: Debian's Apache httpd with
 * mod_auth_openidc (packages `apache2`, `libapache2-mod-auth-openidc` 2.4.12.x, see
 * scripts/install-e2e-deps.sh) in front of a small protected page. Apache runs as this test's own process
 * (`apache2 -f <generated config> -DFOREGROUND`, its own ServerRoot, PidFile, logs and port in a temp dir);
 * the system's apache2 configuration and service are never used.
 *
 * The protected page `/app/index.shtml` is a server-side include (mod_include, no script) that shows what
 * mod_auth_openidc hands to the app: REMOTE_USER, the `OIDC_CLAIM_*` variables (ID token and userinfo
 * claims) and `OIDC_access_token`.
 *
 * mod_auth_openidc's directives, all on their defaults except:
 * - the mandatory ones: OIDCProviderMetadataURL, OIDCClientID, OIDCClientSecret, OIDCRedirectURI,
 *   OIDCCryptoPassphrase;
 * - `OIDCScope "openid email profile groups offline_access"` (default `openid` only: no email, names or
 *   groups, and no refresh token);
 * - `OIDCAuthRequestParams prompt=consent`: OIDC Core §11 grants `offline_access` (a refresh token) only with
 *   `prompt=consent`, and the bridge follows it (the consent itself is implicit, no page is shown);
 * - `OIDCPKCEMethod S256` (default: no PKCE): the bridge requires PKCE S256 from every app, confidential
 *   ones included (OAuth 2.1, RFC 9700 §2.1.1).
 */

export const APACHE_BINARY = process.env.APACHE_BINARY ?? '/usr/sbin/apache2';
export const APACHE_MODULES_DIR = process.env.APACHE_MODULES_DIR ?? '/usr/lib/apache2/modules';

/** Modules loaded from APACHE_MODULES_DIR (log_config and unixd are compiled into Debian's apache2). */
const MODULES: Array<[string, string]> = [
  ['mpm_event_module', 'mod_mpm_event.so'],
  ['authn_core_module', 'mod_authn_core.so'],
  ['authz_core_module', 'mod_authz_core.so'],
  ['authz_user_module', 'mod_authz_user.so'],
  ['mime_module', 'mod_mime.so'],
  ['include_module', 'mod_include.so'],
  ['auth_openidc_module', 'mod_auth_openidc.so'],
];

/** Shown by the protected page, one element per variable (SSI `echo` HTML-escapes the values). */
const PAGE_VARIABLES = [
  'REMOTE_USER',
  'OIDC_CLAIM_sub',
  'OIDC_CLAIM_sid',
  'OIDC_CLAIM_email',
  'OIDC_CLAIM_email_verified',
  'OIDC_CLAIM_given_name',
  'OIDC_CLAIM_family_name',
  'OIDC_CLAIM_name',
  'OIDC_CLAIM_groups',
  'OIDC_access_token',
  'OIDC_access_token_expires',
] as const;

export interface ApacheClientRegistration {
  redirectUri: string;
  backchannelLogoutUri: string;
  postLogoutRedirectUri: string;
}

export interface ApacheRpStartOptions {
  /** The bridge's issuer (discovery at `{issuer}/.well-known/openid-configuration`). */
  issuer: string;
  /**
   * Registers the app at the bridge for these URIs and returns its credentials. Called again with new URIs
   * when the port picked was taken before Apache could bind it.
   */
  register: (urls: ApacheClientRegistration) => Promise<{ clientId: string; clientSecret: string }>;
  /** mod_auth_openidc's log level (Apache `LogLevel auth_openidc:<level>`). Default: info. */
  logLevel?: 'warn' | 'info' | 'debug';
}

function pageHtml(): string {
  const rows = PAGE_VARIABLES.map(
    (name) => `<dt>${name}</dt><dd id="${name}"><!--#echo var="${name}" --></dd>`,
  );
  return `<!doctype html>\n<html><head><title>Protected</title></head><body>\n<h1>Protected by mod_auth_openidc</h1>\n<dl>\n${rows.join('\n')}\n</dl>\n</body></html>\n`;
}

const liveApaches = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export class ApacheOidcRp {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  clientId = '';

  private constructor(
    readonly workDir: string,
    readonly port: number,
    private readonly removeWorkDir: boolean,
  ) {}

  /** http://localhost:<port>: another origin than the bridge, the same site (as internal apps often are). */
  get baseUrl(): string {
    return `http://localhost:${this.port}`;
  }

  /** The protected page. */
  get appUrl(): string {
    return `${this.baseUrl}/app/index.shtml`;
  }

  /** mod_auth_openidc's OIDCRedirectURI (inside the protected location, as it requires). */
  get redirectUri(): string {
    return `${this.baseUrl}/app/redirect_uri`;
  }

  /** mod_auth_openidc's back-channel logout endpoint, as its documentation gives it. */
  get backchannelLogoutUri(): string {
    return `${this.redirectUri}?logout=backchannel`;
  }

  /** mod_auth_openidc's refresh hook: refreshes the session's access token, then redirects to `returnTo`. */
  refreshUrl(accessToken: string, returnTo = this.appUrl): string {
    const q = new URLSearchParams({ refresh: returnTo, access_token: accessToken });
    return `${this.redirectUri}?${q.toString()}`;
  }

  static async start(opts: ApacheRpStartOptions): Promise<ApacheOidcRp> {
    if (!existsSync(APACHE_BINARY) || !existsSync(join(APACHE_MODULES_DIR, 'mod_auth_openidc.so'))) {
      throw new Error(
        `apache2 or mod_auth_openidc not found (${APACHE_BINARY}, ${APACHE_MODULES_DIR}): run scripts/install-e2e-deps.sh`,
      );
    }
    installExitHook();
    const removeWorkDir = process.env.E2E_KEEP_WORKDIR !== '1';
    // A port picked by freePort() may be taken again before Apache binds it: then try another one.
    for (let attempt = 1; ; attempt++) {
      const workDir = await mkdtemp(join(tmpdir(), 'apache-rp-'));
      const rp = new ApacheOidcRp(workDir, await freePort(), removeWorkDir);
      try {
        const client = await opts.register({
          redirectUri: rp.redirectUri,
          backchannelLogoutUri: rp.backchannelLogoutUri,
          postLogoutRedirectUri: `${rp.baseUrl}/`,
        });
        rp.clientId = client.clientId;
        await rp.writeConfig(opts, client);
        await rp.launch();
        return rp;
      } catch (err) {
        const log = await rp.errorLog();
        await rp.stop();
        if (attempt < 3 && /Address already in use/.test(log)) continue;
        throw new Error(`${(err as Error).message}\n--- apache error.log ---\n${log}`, { cause: err });
      }
    }
  }

  private async writeConfig(
    opts: ApacheRpStartOptions,
    client: { clientId: string; clientSecret: string },
  ): Promise<void> {
    const dir = this.workDir;
    await mkdir(join(dir, 'htdocs', 'app'), { recursive: true });
    await mkdir(join(dir, 'run'), { recursive: true });
    await writeFile(join(dir, 'htdocs', 'app', 'index.shtml'), pageHtml());
    // As root, Apache's children run as www-data: they must be able to read the document root.
    await chmod(dir, 0o755);
    const root = process.getuid?.() === 0;
    const quote = (value: string) => `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
    const lines = [
      `ServerRoot ${quote(dir)}`,
      `ServerName localhost`,
      `Listen 127.0.0.1:${this.port}`,
      `PidFile ${quote(join(dir, 'run', 'httpd.pid'))}`,
      `DefaultRuntimeDir ${quote(join(dir, 'run'))}`,
      ...MODULES.map(([name, file]) => `LoadModule ${name} ${quote(join(APACHE_MODULES_DIR, file))}`),
      ...(root ? ['User www-data', 'Group www-data'] : []),
      `ErrorLog ${quote(join(dir, 'error.log'))}`,
      `LogLevel warn auth_openidc:${opts.logLevel ?? 'info'}`,
      `LogFormat "%h %t \\"%r\\" %>s %b" e2e`,
      `CustomLog ${quote(join(dir, 'access.log'))} e2e`,
      `TypesConfig /dev/null`,
      `AddType text/html .shtml`,
      `AddOutputFilter INCLUDES .shtml`,
      `DocumentRoot ${quote(join(dir, 'htdocs'))}`,
      `<Directory ${quote(join(dir, 'htdocs'))}>`,
      `  Options +Includes`,
      `  Require all granted`,
      `</Directory>`,
      '',
      '# mod_auth_openidc: the mandatory directives',
      `OIDCProviderMetadataURL ${quote(`${opts.issuer}/.well-known/openid-configuration`)}`,
      `OIDCClientID ${quote(client.clientId)}`,
      `OIDCClientSecret ${quote(client.clientSecret)}`,
      `OIDCRedirectURI ${quote(this.redirectUri)}`,
      `OIDCCryptoPassphrase ${quote(randomBytes(32).toString('base64url'))}`,
      '# ... and the only ones not on their defaults (see the comment at the top of test/e2e/apache-rp.ts)',
      `OIDCScope "openid email profile groups offline_access"`,
      `OIDCAuthRequestParams prompt=consent`,
      `OIDCPKCEMethod S256`,
      '',
      `<Location /app/>`,
      `  AuthType openid-connect`,
      `  Require valid-user`,
      `</Location>`,
      '',
    ];
    await writeFile(join(dir, 'httpd.conf'), lines.join('\n'));
  }

  private async launch(): Promise<void> {
    const child = spawn(APACHE_BINARY, ['-f', join(this.workDir, 'httpd.conf'), '-DFOREGROUND'], {
      cwd: this.workDir,
      detached: true, // its own process group: stop() and the exit hook end Apache and its children together
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
    });
    this.child = child;
    if (child.pid !== undefined) liveApaches.add(child.pid);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`apache2 exited (${child.exitCode ?? child.signalCode}): ${output}`);
      }
      // Any answer means Apache listens (/ is not protected and has no index: 404 is fine).
      const ready = await fetch(`http://127.0.0.1:${this.port}/`, { signal: AbortSignal.timeout(1000) }).then(
        () => true,
        () => false,
      );
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`apache2 did not answer on port ${this.port}: ${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async errorLog(): Promise<string> {
    return readFile(join(this.workDir, 'error.log'), 'utf8').catch(() => '');
  }

  async accessLog(): Promise<string> {
    return readFile(join(this.workDir, 'access.log'), 'utf8').catch(() => '');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const pid = child.pid;
      // SIGTERM: Apache stops its children and removes its shared memory and semaphores.
      child.kill('SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timer);
      killGroup(pid, 'SIGKILL');
      liveApaches.delete(pid);
    }
    if (this.removeWorkDir) await rm(this.workDir, { recursive: true, force: true });
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of liveApaches) killGroup(pid, 'SIGKILL');
    liveApaches.clear();
  });
}
