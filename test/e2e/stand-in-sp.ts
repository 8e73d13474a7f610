import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SAML, ValidateInResponseTo, type Profile, type SamlConfig } from '@node-saml/node-saml';
import { DOMParser, type Element } from 'xmldom-0.9';
import { certificateToPem, generateTestKeyPair, type TestKeyPair } from './certs.js';
import { NAMEID_FORMAT, SAML_BINDING } from './simplesamlphp.js';

/**
 * A minimal SAML SP built on @node-saml/node-saml, on http://localhost:<port>, to prove the e2e harness
 * (SimpleSamlPhpIdp + browser.ts) independently of the bridge. Routes:
 *   GET  /metadata  its SP metadata (signing key; encryption key when `encryptAssertion`)
 *   GET  /login     302 to the IdP with a signed AuthnRequest (HTTP-Redirect)
 *   POST /acs       validates the SAMLResponse, renders NameID and attributes
 *   GET|POST /slo   validates a LogoutRequest from the IdP, records it, answers with a LogoutResponse (redirect)
 */

export interface IdpMetadataFacts {
  entityId: string;
  ssoRedirectUrl: string;
  sloRedirectUrl?: string;
  signingCertificatesPem: string[];
}

const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';

export function parseIdpMetadata(xml: string): IdpMetadataFacts {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const entity = doc.documentElement;
  if (!entity || entity.localName !== 'EntityDescriptor')
    throw new Error('IdP metadata: no EntityDescriptor');
  const idp = entity.getElementsByTagNameNS(MD_NS, 'IDPSSODescriptor')[0];
  if (!idp) throw new Error('IdP metadata: no IDPSSODescriptor');
  const endpoint = (name: string): string | undefined =>
    Array.from(idp.getElementsByTagNameNS(MD_NS, name))
      .find((el: Element) => el.getAttribute('Binding') === SAML_BINDING.redirect)
      ?.getAttribute('Location') ?? undefined;
  const certs = Array.from(idp.getElementsByTagNameNS(MD_NS, 'KeyDescriptor'))
    .filter((kd: Element) => (kd.getAttribute('use') ?? 'signing') === 'signing')
    .flatMap((kd: Element) => Array.from(kd.getElementsByTagNameNS(DS_NS, 'X509Certificate')))
    .map((el: Element) => certificateToPem(el.textContent ?? ''));
  const sso = endpoint('SingleSignOnService');
  if (!sso) throw new Error('IdP metadata: no HTTP-Redirect SingleSignOnService');
  if (certs.length === 0) throw new Error('IdP metadata: no signing certificate');
  return {
    entityId: entity.getAttribute('entityID') ?? '',
    ssoRedirectUrl: sso,
    sloRedirectUrl: endpoint('SingleLogoutService'),
    signingCertificatesPem: [...new Set(certs)],
  };
}

export interface StandInLogin {
  nameId: string;
  nameIdFormat: string;
  sessionIndex?: string;
  inResponseTo: string | null;
  relayState: string | null;
  encryptedAssertion: boolean;
  /** The <samlp:Response> itself carries a <ds:Signature> (not only the assertion). */
  responseSigned: boolean;
  attributes: Record<string, unknown>;
}

export interface StandInLogoutRequest {
  binding: 'redirect' | 'post';
  nameId: string;
  sessionIndex?: string;
  signed: boolean;
}

export interface StandInSpOptions {
  idpMetadataXml: string;
  /** Appended to the entity ID, so several stand-ins are distinct SPs. */
  name: string;
  /** Publish an encryption certificate and decrypt with `decryptionPvk`. */
  encryptAssertion?: boolean;
  /** Send the AuthnRequest with HTTP-POST (auto-submitted cross-site form, signature inside), not HTTP-Redirect. */
  postAuthnRequest?: boolean;
}

function hasDirectSignature(xml: string): boolean {
  const root = new DOMParser().parseFromString(xml, 'text/xml').documentElement;
  if (!root) return false;
  for (let node = root.firstChild; node; node = node.nextSibling) {
    if (
      node.nodeType === 1 &&
      (node as Element).localName === 'Signature' &&
      (node as Element).namespaceURI === DS_NS
    ) {
      return true;
    }
  }
  return false;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export class StandInSp {
  readonly logins: StandInLogin[] = [];
  readonly logoutRequests: StandInLogoutRequest[] = [];
  readonly errors: string[] = [];
  readonly baseUrl: string;
  readonly entityId: string;
  readonly acsUrl: string;
  readonly sloUrl: string;
  readonly loginUrl: string;
  readonly metadataUrl: string;
  readonly metadataXml: string;
  private readonly saml: SAML;
  private readonly redirectSaml: SAML;
  private readonly postAuthnRequest: boolean;

  private constructor(
    private readonly server: Server,
    port: number,
    opts: StandInSpOptions,
    signing: TestKeyPair,
    encryption: TestKeyPair | undefined,
  ) {
    this.baseUrl = `http://localhost:${port}`;
    this.entityId = `${this.baseUrl}/sp/${opts.name}`;
    this.acsUrl = `${this.baseUrl}/acs`;
    this.sloUrl = `${this.baseUrl}/slo`;
    this.loginUrl = `${this.baseUrl}/login`;
    this.metadataUrl = `${this.baseUrl}/metadata`;
    const idp = parseIdpMetadata(opts.idpMetadataXml);
    this.postAuthnRequest = opts.postAuthnRequest ?? false;
    const config: SamlConfig = {
      issuer: this.entityId,
      callbackUrl: this.acsUrl,
      entryPoint: idp.ssoRedirectUrl,
      logoutUrl: idp.sloRedirectUrl,
      logoutCallbackUrl: this.sloUrl,
      idpIssuer: idp.entityId,
      idpCert: idp.signingCertificatesPem,
      privateKey: signing.privateKeyPem,
      publicCert: signing.certificatePem,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
      decryptionPvk: encryption?.privateKeyPem,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: false,
      audience: this.entityId,
      // SP-initiated responses are checked against the AuthnRequest IDs; unsolicited ones (no InResponseTo) pass.
      validateInResponseTo: ValidateInResponseTo.ifPresent,
      identifierFormat: NAMEID_FORMAT.persistent,
      disableRequestedAuthnContext: true,
      acceptedClockSkewMs: 5000,
    };
    // node-saml deflates even HTTP-POST AuthnRequests unless skipRequestCompression is set (SimpleSAMLphp then
    // fails with "Unable to parse XML"); that option also stops it deflating HTTP-Redirect messages, which the
    // binding requires, so the LogoutResponse (a redirect) comes from a second instance without it.
    this.saml = new SAML(
      opts.postAuthnRequest
        ? { ...config, authnRequestBinding: 'HTTP-POST', skipRequestCompression: true }
        : config,
    );
    this.redirectSaml = new SAML(config);
    this.metadataXml = this.saml.generateServiceProviderMetadata(
      encryption?.certificatePem ?? null,
      signing.certificatePem,
    );
    server.on('request', (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        this.errors.push(message);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/html; charset=utf-8' });
        res.end(`<!doctype html><title>SP error</title><pre id="error">${escapeHtml(message)}</pre>`);
      });
    });
  }

  static async start(opts: StandInSpOptions): Promise<StandInSp> {
    const signing = await generateTestKeyPair(`stand-in SP ${opts.name} signing`);
    const encryption = opts.encryptAssertion
      ? await generateTestKeyPair(`stand-in SP ${opts.name} encryption`)
      : undefined;
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return new StandInSp(server, port, opts, signing, encryption);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    if (req.method === 'GET' && url.pathname === '/metadata') {
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' });
      res.end(this.metadataXml);
    } else if (req.method === 'GET' && url.pathname === '/login') {
      const relayState = url.searchParams.get('RelayState') ?? '';
      if (this.postAuthnRequest) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(await this.saml.getAuthorizeFormAsync(relayState));
      } else {
        res.writeHead(302, { location: await this.saml.getAuthorizeUrlAsync(relayState, undefined, {}) });
        res.end();
      }
    } else if (req.method === 'POST' && url.pathname === '/acs') {
      await this.acs(await readBody(req), res);
    } else if (url.pathname === '/slo') {
      await this.slo(req, url, res);
    } else if (req.method === 'GET' && url.pathname === '/logged-out') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>logged out</title><h1 id="logged-out">Logged out</h1>');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  }

  private async acs(body: URLSearchParams, res: ServerResponse): Promise<void> {
    const samlResponse = body.get('SAMLResponse');
    if (!samlResponse) throw new Error('ACS: no SAMLResponse');
    const responseXml = Buffer.from(samlResponse, 'base64').toString('utf8');
    const relayState = body.get('RelayState');
    const { profile } = await this.saml.validatePostResponseAsync({
      SAMLResponse: samlResponse,
      ...(relayState !== null ? { RelayState: relayState } : {}),
    });
    if (!profile) throw new Error('ACS: no profile');
    const login: StandInLogin = {
      nameId: profile.nameID,
      nameIdFormat: profile.nameIDFormat,
      sessionIndex: profile.sessionIndex,
      inResponseTo: /<(?:\w+:)?Response\b[^>]*\sInResponseTo="([^"]*)"/.exec(responseXml)?.[1] ?? null,
      relayState,
      encryptedAssertion: /<(?:\w+:)?EncryptedAssertion\b/.test(responseXml),
      responseSigned: hasDirectSignature(responseXml),
      attributes: (profile.attributes as Record<string, unknown> | undefined) ?? {},
    };
    this.logins.push(login);
    const mail = typeof login.attributes.mail === 'string' ? login.attributes.mail : '';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><title>stand-in SP: logged in</title><h1>Logged in</h1><dl>` +
        `<dt>NameID</dt><dd id="nameid">${escapeHtml(login.nameId)}</dd>` +
        `<dt>Format</dt><dd id="nameid-format">${escapeHtml(login.nameIdFormat)}</dd>` +
        `<dt>mail</dt><dd id="mail">${escapeHtml(mail)}</dd>` +
        `<dt>InResponseTo</dt><dd id="in-response-to">${escapeHtml(login.inResponseTo ?? '')}</dd>` +
        `<dt>RelayState</dt><dd id="relay-state">${escapeHtml(relayState ?? '')}</dd>` +
        `<dt>Encrypted</dt><dd id="encrypted">${login.encryptedAssertion}</dd></dl>` +
        `<pre id="attributes">${escapeHtml(JSON.stringify(login.attributes))}</pre>`,
    );
  }

  private async slo(req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> {
    let result: { profile: Profile | null; loggedOut: boolean };
    let binding: StandInLogoutRequest['binding'];
    let relayState: string;
    let signed: boolean;
    if (req.method === 'POST') {
      const body = await readBody(req);
      const samlRequest = body.get('SAMLRequest');
      if (!samlRequest) throw new Error('SLO: POST without SAMLRequest');
      binding = 'post';
      relayState = body.get('RelayState') ?? '';
      signed = /<(?:\w+:)?Signature\b/.test(Buffer.from(samlRequest, 'base64').toString('utf8'));
      result = await this.saml.validatePostRequestAsync({ SAMLRequest: samlRequest });
    } else {
      binding = 'redirect';
      relayState = url.searchParams.get('RelayState') ?? '';
      signed = url.searchParams.has('Signature');
      const query = Object.fromEntries(url.searchParams) as Parameters<SAML['validateRedirectAsync']>[0];
      result = await this.saml.validateRedirectAsync(query, url.search.slice(1));
    }
    const profile = result.profile;
    if (!profile) throw new Error('SLO: not a LogoutRequest');
    this.logoutRequests.push({ binding, nameId: profile.nameID, sessionIndex: profile.sessionIndex, signed });
    const location = await this.redirectSaml.getLogoutResponseUrlAsync(profile, relayState, {}, true);
    res.writeHead(302, { location });
    res.end();
  }
}
