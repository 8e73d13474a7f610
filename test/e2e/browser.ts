import { chromium, type Browser, type LaunchOptions, type Page } from 'playwright-core';

/** Debian's Chromium (scripts/install-e2e-deps.sh); playwright-core never downloads a browser here. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Headless Debian Chromium. playwright-core gives every launch a fresh, temporary user-data-dir; use one
 * `browser.newContext()` per scenario for a clean cookie jar.
 */
export async function launchBrowser(opts: Omit<LaunchOptions, 'executablePath'> = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    timeout: 60_000,
    ...opts,
    args: [...CHROMIUM_ARGS, ...(opts.args ?? [])],
  });
}

/** SimpleSAMLphp's error page (\SimpleSAML\Error\Error::show()) always shows a tracking ID. */
export function isSimpleSamlPhpErrorPage(html: string): boolean {
  return /id="trackid"|name="reportId"/.test(html);
}

const ERROR_PAGE_SELECTOR = '#trackid, input[name="reportId"]';

function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/\s*\n\s*/g, '\n')
    .trim();
}

const LOGIN_PAGE = /\/module\.php\/core\/loginuserpass\.php/;

/**
 * Fills SimpleSAMLphp's exampleauth (core:loginuserpass) form on `page` and submits it. Waits for the login
 * page first (the page may still be on its way from the SP), and after a successful login for the browser to
 * leave the IdP's origin (SimpleSAMLphp answers with an auto-submitting form that POSTs the SAMLResponse to
 * the SP's ACS). Throws when SimpleSAMLphp shows its "incorrect username or password" error instead.
 */
export async function loginAtSimpleSamlPhp(
  page: Page,
  username: string,
  password: string,
  opts: { timeoutMs?: number } = {},
): Promise<void> {
  const timeout = opts.timeoutMs ?? 30_000;
  // The login form, or SimpleSAMLphp's error page (unknown SP, bad AuthnRequest signature…): fail fast on the latter.
  const outcome = await Promise.race([
    page.waitForURL(LOGIN_PAGE, { timeout }).then(
      () => 'form' as const,
      () => 'timeout' as const,
    ),
    page
      .locator(ERROR_PAGE_SELECTOR)
      .first()
      .waitFor({ state: 'attached', timeout })
      .then(
        () => 'error' as const,
        () => 'timeout' as const,
      ),
  ]);
  if (outcome !== 'form') {
    const text = await page
      .locator('body')
      .innerText({ timeout: 5000 })
      .catch(() => '');
    throw new Error(
      outcome === 'error'
        ? `SimpleSAMLphp showed an error instead of its login form (${page.url()}):\n${text.slice(0, 3000)}`
        : `SimpleSAMLphp's login form did not appear within ${timeout} ms (at ${page.url()})`,
    );
  }
  const idpOrigin = new URL(page.url()).origin;
  await page.locator('input#username').fill(username, { timeout });
  await page.locator('input#password').fill(password, { timeout });
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && LOGIN_PAGE.test(r.url()), { timeout }),
    page.locator('#submit_button').click({ timeout }),
  ]);
  const body = await response.text().catch(() => '');
  if (response.status() === 200 && /id="username"/.test(body)) {
    const message = body.match(/<h2>([^<]*)<\/h2>/)?.[1]?.trim() ?? 'login form shown again';
    throw new Error(`SimpleSAMLphp rejected the login of ${username}: ${message}`);
  }
  if (response.status() >= 400 || isSimpleSamlPhpErrorPage(body)) {
    throw new Error(
      `SimpleSAMLphp answered the login form with an error (HTTP ${response.status()}):\n${htmlToText(body).slice(0, 3000)}`,
    );
  }
  await page.waitForURL((url) => url.origin !== idpOrigin, { timeout, waitUntil: 'commit' });
}
