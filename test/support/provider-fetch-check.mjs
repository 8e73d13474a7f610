// Runs oidc-provider in a plain Node process (where, unlike under jest, it installs its own guard against
// "special-use" addresses) and sends a back-channel logout token to `uri` with oidc-provider's default
// fetch, then with the bridge's outbound client (the production build in dist/). Prints one JSON line.
//   node provider-fetch-check.mjs <dist root> <back-channel logout URI>
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [distRoot, uri] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const { default: Provider } = await import('oidc-provider');
const { loadConfig } = require(join(distRoot, 'src/config/bridge-config.js'));
const { MetricsService } = require(join(distRoot, 'src/metrics/metrics.service.js'));
const { OutboundHttp } = require(join(distRoot, 'src/platform/http/outbound.js'));

const client = {
  client_id: 'app',
  client_secret: 'secret',
  redirect_uris: ['https://app.example.com/cb'],
  backchannel_logout_uri: uri,
};
const config = loadConfig({ NODE_ENV: 'test', BRIDGE_SECRET: 'x'.repeat(32), ADMIN_API_KEY: 'y'.repeat(24) });
const outbound = new OutboundHttp(config, new MetricsService({}));

async function send(fetch) {
  const provider = new Provider('http://bridge.test', {
    clients: [client],
    features: { backchannelLogout: { enabled: true }, devInteractions: { enabled: false } },
    ...(fetch ? { fetch } : {}),
  });
  try {
    await (await provider.Client.find('app')).backchannelLogout('user-1', 'sid-1');
    return { ok: true };
  } catch (err) {
    return { ok: false, error: String(err?.cause?.message ?? err?.message ?? err), reason: err?.reason };
  }
}

const builtIn = await send(undefined);
const bridge = await send(outbound.providerFetch());
process.stdout.write(`${JSON.stringify({ builtIn, bridge })}\n`);
