import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * An app's endpoint on loopback (back-channel logout, webhooks): keeps every request it was sent and
 * answers `status`, or holds requests open while `hang` is set.
 */
export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  status = 200;
  hang = false;
  private server?: Server;

  /** Starts listening; resolves with the URL of `path` on it. */
  async start(path = '/'): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
        if (!this.hang) res.writeHead(this.status).end();
      });
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}${path}`;
  }

  /** The `logout_token` of each back-channel logout request received. */
  logoutTokens(): string[] {
    return this.requests.map((r) => new URLSearchParams(r.body).get('logout_token') ?? '');
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}
