import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureProductionBuild } from '../support/bridge-process';
import { need } from '../support/defined';

const ROOT = join(__dirname, '..', '..');

interface Outcome {
  ok: boolean;
  error?: string;
  reason?: string;
}

/**
 * Under jest oidc-provider cannot install its guard against special-use addresses, so an in-process test
 * would pass where production fails. This one runs oidc-provider in a plain Node process, as production
 * does, with the production build of the bridge's outbound client.
 */
describe("oidc-provider's outgoing requests in a plain Node process (its own guard installed)", () => {
  let receiver: Server;
  let base: string;
  const received: string[] = [];

  beforeAll(async () => {
    ensureProductionBuild();
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(new URLSearchParams(body).get('logout_token') ?? '');
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
  });

  async function check(uri: string): Promise<{ builtIn: Outcome; bridge: Outcome }> {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(ROOT, 'test', 'support', 'provider-fetch-check.mjs'), join(ROOT, 'dist'), uri],
      { cwd: ROOT },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1) as string);
  }

  it("refuses an app on 127.0.0.1 with oidc-provider's own fetch, and reaches it through the bridge's", async () => {
    const { builtIn, bridge } = await check(`${base}/bcl`);
    // The failure the issue reports: oidc-provider's guard is active here (it is not under jest).
    expect(builtIn).toMatchObject({ ok: false, error: expect.stringContaining('special-use IP address') });
    expect(bridge).toEqual({ ok: true });
    expect(received).toHaveLength(1);
    expect(need(received[0]).split('.')).toHaveLength(3);
  });

  it("refuses the cloud metadata address through the bridge's fetch, with the policy's reason", async () => {
    const { bridge } = await check('http://169.254.169.254/bcl');
    expect(bridge).toMatchObject({ ok: false, reason: 'blocked_by_policy' });
  });
});
