import { readFile } from 'node:fs/promises';
import { need } from '../support/defined';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, loginAtSimpleSamlPhp } from './browser.js';
import { pemBody } from './certs.js';
import { NAMEID_FORMAT, SimpleSamlPhpIdp, parseSpMetadata, type SimpleSamlPhpUser } from './simplesamlphp.js';
import { StandInSp, parseIdpMetadata } from './stand-in-sp.js';

/**
 * Proves the e2e harness end to end, independently of the bridge: a real SimpleSAMLphp IdP on
 * http://127.0.0.1:<port>, headless Chromium, and a node-saml stand-in SP on http://localhost:<port>
 * (a different site, so the IdP's POST to the ACS is cross-site as in production).
 */

const alice: SimpleSamlPhpUser = {
  username: 'alice',
  password: 'alice-pass',
  attributes: {
    mail: ['alice@example.com'],
    givenName: ['Alice'],
    sn: ['Liddell'],
    groups: ['staff', 'admins'],
  },
};

describe('e2e harness: SimpleSAMLphp IdP + headless Chromium + stand-in SP', () => {
  let idp: SimpleSamlPhpIdp;
  let sp: StandInSp;
  let encSp: StandInSp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const timings: string[] = [];

  beforeAll(async () => {
    const started = Date.now();
    idp = await SimpleSamlPhpIdp.start({ users: [alice] });
    timings.push(`IdP start ${Date.now() - started} ms`);
    const idpMetadata = await idp.metadataXml();
    sp = await StandInSp.start({ idpMetadataXml: idpMetadata, name: 'plain' });
    // encSp also sends its AuthnRequests with HTTP-POST: a cross-site POST to the IdP.
    encSp = await StandInSp.start({
      idpMetadataXml: idpMetadata,
      name: 'encrypted',
      encryptAssertion: true,
      postAuthnRequest: true,
    });
    await idp.addSp(sp.metadataXml);
    await idp.addSp(encSp.metadataXml, { encryptAssertion: true });
    const browserStarted = Date.now();
    browser = await launchBrowser();
    timings.push(`Chromium launch ${Date.now() - browserStarted} ms`);
  }, 120_000);

  afterAll(async () => {
    for (const ctx of contexts) await ctx.close().catch(() => undefined);
    await browser?.close();
    await sp?.stop();
    await encSp?.stop();
    await idp?.stop();
    if (timings.length > 0) process.stderr.write(`[e2e timings] ${timings.join('; ')}\n`);
  });

  async function newPage(): Promise<Page> {
    const ctx = await browser.newContext();
    contexts.push(ctx);
    return ctx.newPage();
  }

  /** Runs a browser scenario; on failure, adds the page and the IdP log to the error. */
  async function scenario(page: Page, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const text = await page
        .locator('body')
        .innerText({ timeout: 2000 })
        .catch(() => '(no body)');
      const e = err as Error;
      const details =
        `\n--- page ${page.url()}:\n${text.slice(0, 2000)}` +
        `\n--- SP errors: ${JSON.stringify([...sp.errors, ...encSp.errors])}` +
        `\n--- IdP log tail:\n${idp.logTail(6000)}`;
      e.message += details;
      if (e.stack) e.stack += details;
      throw e;
    }
  }

  it('publishes IdP metadata with its entity ID, endpoints and signing certificate', async () => {
    const facts = parseIdpMetadata(await idp.metadataXml());
    expect(idp.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(facts.entityId).toBe(idp.entityId);
    expect(facts.ssoRedirectUrl).toBe(idp.ssoUrl);
    expect(facts.sloRedirectUrl).toBe(idp.sloUrl);
    expect(facts.signingCertificatesPem.map(pemBody)).toContain(pemBody(idp.certificatePem));
  });

  it('parses SP metadata and writes the saml20-sp-remote entries', async () => {
    const parsed = need(parseSpMetadata(encSp.metadataXml)[0]);
    expect(parsed).toMatchObject({
      entityId: encSp.entityId,
      assertionConsumerServices: [
        { binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', location: encSp.acsUrl },
      ],
      singleLogoutServices: [{ location: encSp.sloUrl }],
      authnRequestsSigned: true,
      wantAssertionsSigned: true,
    });
    expect(parsed.signingCertificates).toHaveLength(1);
    expect(parsed.encryptionCertificates).toHaveLength(1);
    expect(parsed.encryptionCertificates[0]).not.toBe(parsed.signingCertificates[0]);
    const spRemote = await readFile(join(idp.workDir, 'metadata', 'saml20-sp-remote.php'), 'utf8');
    expect(spRemote).toContain(`'${encSp.entityId}' => [`);
    expect(spRemote).toContain(`'assertion.encryption' => true`);
    expect(spRemote).toContain(`'validate.authnrequest' => true`);
  });

  it('SP-initiated login: SP → IdP login form → cross-site POST to the ACS', async () => {
    const page = await newPage();
    await scenario(page, async () => {
      const started = Date.now();
      await page.goto(`${sp.loginUrl}?RelayState=${encodeURIComponent('/after-login')}`);
      await loginAtSimpleSamlPhp(page, alice.username, alice.password);
      await page.waitForURL(sp.acsUrl);
      expect(await page.locator('#nameid').textContent()).toBe('alice');
      expect(await page.locator('#mail').textContent()).toBe('alice@example.com');
      timings.push(`SP-initiated login ${Date.now() - started} ms`);
    });
    const login = sp.logins.at(-1);
    expect(login).toMatchObject({
      nameId: 'alice',
      nameIdFormat: NAMEID_FORMAT.persistent,
      relayState: '/after-login',
      encryptedAssertion: false,
      responseSigned: false,
      attributes: {
        mail: 'alice@example.com',
        givenName: 'Alice',
        sn: 'Liddell',
        groups: ['staff', 'admins'],
      },
    });
    expect(login?.inResponseTo).toMatch(/^_/);
    expect(login?.attributes).not.toHaveProperty('e2e:nameid');
    // The IdP session cookie, as production SimpleSAMLphp sets it on https.
    const cookies = await page.context().cookies(idp.baseUrl);
    expect(cookies.find((c) => c.name === 'SimpleSAML')).toMatchObject({ secure: true, sameSite: 'None' });

    // The IdP session now exists: a second SP-initiated login goes through without the form.
    await scenario(page, async () => {
      const started = Date.now();
      await page.goto(sp.loginUrl);
      await page.waitForURL(sp.acsUrl);
      expect(await page.locator('#nameid').textContent()).toBe('alice');
      timings.push(`SSO with an IdP session ${Date.now() - started} ms`);
    });
  });

  it('rejects a wrong password at the IdP login form', async () => {
    const page = await newPage();
    await page.goto(sp.loginUrl);
    await expect(loginAtSimpleSamlPhp(page, alice.username, 'wrong')).rejects.toThrow(
      /rejected the login of alice/,
    );
  });

  it('encrypted assertion: the IdP encrypts for the SP certificate from its metadata', async () => {
    const page = await newPage();
    await scenario(page, async () => {
      await page.goto(encSp.loginUrl);
      await loginAtSimpleSamlPhp(page, alice.username, alice.password);
      await page.waitForURL(encSp.acsUrl);
      expect(await page.locator('#nameid').textContent()).toBe('alice');
      expect(await page.locator('#encrypted').textContent()).toBe('true');
    });
    expect(encSp.logins.at(-1)).toMatchObject({
      nameId: 'alice',
      encryptedAssertion: true,
      attributes: { mail: 'alice@example.com', groups: ['staff', 'admins'] },
    });
  });

  it('IdP-initiated login (unsolicited Response, no InResponseTo), then IdP-initiated logout of both SPs', async () => {
    const page = await newPage();
    await scenario(page, async () => {
      const started = Date.now();
      await page.goto(idp.idpInitiatedLoginUrl(sp.entityId, 'idp-initiated'));
      await loginAtSimpleSamlPhp(page, alice.username, alice.password);
      await page.waitForURL(sp.acsUrl);
      expect(await page.locator('#nameid').textContent()).toBe('alice');
      timings.push(`IdP-initiated login ${Date.now() - started} ms`);
    });
    expect(sp.logins.at(-1)).toMatchObject({
      nameId: 'alice',
      inResponseTo: null,
      relayState: 'idp-initiated',
    });

    // Same IdP session, second SP: no login form.
    await scenario(page, async () => {
      await page.goto(idp.idpInitiatedLoginUrl(encSp.entityId));
      await page.waitForURL(encSp.acsUrl);
      expect(await page.locator('#encrypted').textContent()).toBe('true');
    });
    expect(encSp.logins.at(-1)).toMatchObject({ inResponseTo: null, encryptedAssertion: true });

    // SP-initiated with an HTTP-POST AuthnRequest (cross-site POST): the IdP session cookie (SameSite=None;
    // Secure, as in production) comes along, so no login form either.
    await scenario(page, async () => {
      await page.goto(encSp.loginUrl);
      await page.waitForURL(encSp.acsUrl);
    });
    expect(encSp.logins.at(-1)?.inResponseTo).toMatch(/^_/);

    const spLogouts = sp.logoutRequests.length;
    const encSpLogouts = encSp.logoutRequests.length;
    await scenario(page, async () => {
      const started = Date.now();
      await page.goto(idp.idpInitiatedLogoutUrl(`${sp.baseUrl}/logged-out`));
      await page.waitForURL(`${sp.baseUrl}/logged-out`);
      timings.push(`IdP-initiated logout of 2 SPs ${Date.now() - started} ms`);
    });
    expect(sp.logoutRequests.slice(spLogouts)).toEqual([
      expect.objectContaining({ nameId: 'alice', signed: true }),
    ]);
    expect(encSp.logoutRequests.slice(encSpLogouts)).toEqual([
      expect.objectContaining({ nameId: 'alice', signed: true }),
    ]);

    // The IdP session is gone: logging in again shows the form.
    await scenario(page, async () => {
      await page.goto(sp.loginUrl);
      await page.waitForURL(/loginuserpass\.php/);
    });
  });

  it('addSp takes effect without a restart, and re-trusting replaces the entry', async () => {
    const late = await StandInSp.start({ idpMetadataXml: await idp.metadataXml(), name: 'late' });
    try {
      const page = await newPage();
      await page.goto(late.loginUrl);
      // Not trusted yet: SimpleSAMLphp shows its "metadata not found" error page instead of the form.
      await expect(loginAtSimpleSamlPhp(page, alice.username, alice.password)).rejects.toThrow(
        /showed an error[\s\S]*METADATANOTFOUND/,
      );

      await idp.addSp(late.metadataXml);
      await scenario(page, async () => {
        await page.goto(late.loginUrl);
        await loginAtSimpleSamlPhp(page, alice.username, alice.password);
        await page.waitForURL(late.acsUrl);
        expect(await page.locator('#nameid').textContent()).toBe('alice');
      });
      expect(late.logins.at(-1)).toMatchObject({ responseSigned: false });

      // Re-trust with other options: the next response (SSO, same IdP session) follows them.
      await idp.addSp(late.metadataXml, { signResponse: true, nameIdFormat: NAMEID_FORMAT.transient });
      await scenario(page, async () => {
        await page.goto(late.loginUrl);
        await page.waitForURL(late.acsUrl);
      });
      const relogin = late.logins.at(-1);
      expect(relogin).toMatchObject({ responseSigned: true, nameIdFormat: NAMEID_FORMAT.transient });
      expect(relogin?.nameId).not.toBe('alice');
    } finally {
      await late.stop();
    }
  });

  it('start({ spMetadataXml }) trusts SPs up front (and checks them); an SP rejects a response signed by an IdP it does not know', async () => {
    const other = await SimpleSamlPhpIdp.start({
      users: [alice],
      spMetadataXml: [encSp.metadataXml],
      encryptAssertion: true,
      signResponse: true,
      cookieSameSite: 'Lax',
    });
    try {
      expect(other.baseUrl).not.toBe(idp.baseUrl);
      // encryptAssertion for an SP without an encryption certificate is a setup error, not a silent plain assertion.
      await expect(other.addSp(sp.metadataXml, { encryptAssertion: true })).rejects.toThrow(
        /encryption certificate/,
      );
      const spRemote = await readFile(join(other.workDir, 'metadata', 'saml20-sp-remote.php'), 'utf8');
      expect(spRemote).toContain(`'${encSp.entityId}' => [`);
      expect(spRemote).toContain(`'assertion.encryption' => true`);
      expect(spRemote).toContain(`'saml20.sign.response' => true`);

      const page = await newPage();
      const errorsBefore = encSp.errors.length;
      await page.goto(other.idpInitiatedLoginUrl(encSp.entityId));
      await loginAtSimpleSamlPhp(page, alice.username, alice.password);
      await page.waitForURL(encSp.acsUrl);
      expect(await page.locator('#error').textContent()).toBeTruthy();
      const cookies = await page.context().cookies(other.baseUrl);
      expect(cookies.find((c) => c.name === 'SimpleSAML')).toMatchObject({ secure: false, sameSite: 'Lax' });
      expect(encSp.errors.length).toBe(errorsBefore + 1);
      // Its ACS handler does not swallow errors: the stand-in records them; clear for the other scenarios' diagnostics.
      encSp.errors.splice(errorsBefore);
    } finally {
      await other.stop();
    }
  });
});
