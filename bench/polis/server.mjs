// Polis (the npm package @boxyhq/saml-jackson, the library Polis' own API routes call) behind a plain HTTP
// server with Polis' routes, for `npm run bench` only: /.well-known/openid-configuration, /oauth/jwks,
// /api/oauth/authorize, /api/oauth/saml (the ACS), /api/oauth/token, /api/oauth/userinfo, and admin routes
// that create a SAML connection and give its SP certificate (what an IdP encrypts assertions to); and
// directory sync: an admin route that creates a SCIM directory, and /api/scim/v2.0/{directory}/Users|Groups.
// Each handler does what the matching route of Polis' Next.js app does (redirect to redirect_url, or send
// the form or the JSON).
// Env: PORT, DATABASE_URL.
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import jacksonModule from '@boxyhq/saml-jackson';

const port = Number(process.env.PORT);
const externalUrl = `http://127.0.0.1:${port}`;
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const b64 = (pem) => Buffer.from(pem).toString('base64');
const init = jacksonModule.default ?? jacksonModule;
const jackson = await init({
  externalUrl,
  samlPath: '/api/oauth/saml',
  samlAudience: 'https://saml.boxyhq.com',
  db: { engine: 'sql', type: 'postgres', url: process.env.DATABASE_URL },
  noAnalytics: true,
  openid: {
    jwsAlg: 'RS256',
    jwtSigningKeys: {
      private: b64(privateKey.export({ type: 'pkcs8', format: 'pem' })),
      public: b64(publicKey.export({ type: 'spki', format: 'pem' })),
    },
  },
  logger: {
    info: () => {},
    warn: () => {},
    // Polis logs an error for every directory-sync event of a directory without a webhook (the bench's
    // directory has none, as the bridge's SCIM runs have none): that one is not an error here.
    error: (m, e) =>
      String(m).startsWith('Webhook not configured')
        ? undefined
        : process.stderr.write(`polis: ${m} ${e ?? ''}\n`),
  },
});
const { apiController, oauthController, oidcDiscoveryController, spConfig, directorySyncController } =
  jackson;
const SCIM = /^\/api\/scim\/v2\.0\/([^/]+)\/(Users|Groups)(?:\/([^/]+))?$/;

const readBody = (req) =>
  new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });

const send = (res, status, body, type = 'application/json') => {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

createServer(async (req, res) => {
  const url = new URL(req.url, externalUrl);
  try {
    if (url.pathname === '/readyz') return send(res, 200, { ok: true });
    if (url.pathname === '/admin/connections' && req.method === 'POST') {
      const c = await apiController.createSAMLConnection(JSON.parse(await readBody(req)));
      return send(res, 201, { clientID: c.clientID, clientSecret: c.clientSecret });
    }
    if (url.pathname === '/admin/directories' && req.method === 'POST') {
      const { data, error } = await directorySyncController.directories.create(
        JSON.parse(await readBody(req)),
      );
      if (error) return send(res, error.code ?? 500, { error: error.message });
      return send(res, 201, { id: data.id, secret: data.scim.secret });
    }
    const scim = SCIM.exec(url.pathname);
    if (scim) {
      // As Polis' pages/api/scim/v2.0/[...directory] route builds the request.
      const body = await readBody(req);
      const { status, data } = await directorySyncController.requests.handle({
        method: req.method,
        body: body ? JSON.parse(body) : undefined,
        directoryId: scim[1],
        resourceType: scim[2] === 'Users' ? 'users' : 'groups',
        resourceId: scim[3],
        apiSecret: (req.headers.authorization ?? '').replace(/^Bearer /i, '') || null,
        query: {
          count: url.searchParams.has('count') ? Number(url.searchParams.get('count')) : undefined,
          startIndex: url.searchParams.has('startIndex')
            ? Number(url.searchParams.get('startIndex'))
            : undefined,
          filter: url.searchParams.get('filter') ?? undefined,
        },
      });
      return send(res, status, data, 'application/scim+json');
    }
    if (url.pathname === '/admin/sp-config') {
      const { publicKey } = await spConfig.get();
      return send(res, 200, { certificatePem: publicKey });
    }
    if (url.pathname === '/.well-known/openid-configuration') {
      return send(res, 200, oidcDiscoveryController.openidConfig());
    }
    if (url.pathname === '/oauth/jwks') return send(res, 200, await oidcDiscoveryController.jwks());
    if (url.pathname === '/api/oauth/authorize') {
      const { redirect_url, authorize_form } = await oauthController.authorize(
        Object.fromEntries(url.searchParams),
      );
      if (redirect_url) {
        res.writeHead(302, { location: redirect_url });
        return res.end();
      }
      return send(res, 200, authorize_form, 'text/html');
    }
    if (url.pathname === '/api/oauth/saml' && req.method === 'POST') {
      const body = Object.fromEntries(new URLSearchParams(await readBody(req)));
      const { redirect_url, app_select_form, response_form } = await oauthController.samlResponse(body);
      if (redirect_url) {
        res.writeHead(302, { location: redirect_url });
        return res.end();
      }
      return send(res, 200, app_select_form ?? response_form, 'text/html');
    }
    if (url.pathname === '/api/oauth/token' && req.method === 'POST') {
      const body = Object.fromEntries(new URLSearchParams(await readBody(req)));
      return send(res, 200, await oauthController.token(body, req.headers.authorization ?? null));
    }
    if (url.pathname === '/api/oauth/userinfo') {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /i, '');
      return send(res, 200, await oauthController.userInfo(token));
    }
    return send(res, 404, { error: 'not found' });
  } catch (err) {
    const status = typeof err?.statusCode === 'number' ? err.statusCode : 500;
    return send(res, status, { error: err?.message ?? String(err) });
  }
}).listen(port, '127.0.0.1', () => process.stdout.write(`polis listening on ${externalUrl}\n`));
