// Polis (the npm package @boxyhq/saml-jackson, the library Polis' own API routes call) behind a plain HTTP
// server with Polis' routes, for `npm run bench` only: /api/oauth/authorize, /api/oauth/saml (the ACS),
// /api/oauth/token, /api/oauth/userinfo, and an admin route that creates a SAML connection. Each handler
// does what the matching route of Polis' Next.js app does (redirect to redirect_url, or send the form).
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
    error: (m, e) => process.stderr.write(`polis: ${m} ${e ?? ''}\n`),
  },
});
const { apiController, oauthController } = jackson;

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
