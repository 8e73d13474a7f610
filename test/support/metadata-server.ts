import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local HTTP server whose answer a test changes at will (metadata URL refresh tests). */
export class MetadataServer {
  private server?: Server;
  status = 200;
  contentType = 'application/samlmetadata+xml';
  body: string | Buffer = '';
  /** Never answer (timeout tests). */
  hang = false;
  /** Drop the connection without an answer (a crashed server or proxy). */
  reset = false;
  requests = 0;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.requests++;
      if (this.hang) return;
      if (this.reset) {
        req.socket.destroy();
        return;
      }
      res.writeHead(this.status, { 'content-type': this.contentType });
      res.end(this.body);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
