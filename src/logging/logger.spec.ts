import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LogLevel } from '../config/bridge-config';
import { addLogContext, createHttpLogger, createRootLogger, redactPath } from './logger';
import { need } from '../../test/support/defined';

/** A response double: enough of ServerResponse for the access log (events, status, headers). */
function fakeExchange(url: string, headers: Record<string, string> = {}) {
  const res = Object.assign(new EventEmitter(), {
    statusCode: 200,
    writableFinished: false,
    headers: {} as Record<string, string>,
    setHeader(name: string, value: string) {
      this.headers[name.toLowerCase()] = value;
    },
  });
  const req = {
    method: 'POST',
    url,
    headers,
    socket: { remoteAddress: '127.0.0.1' },
  } as unknown as IncomingMessage;
  return { req, res: res as unknown as ServerResponse & typeof res };
}

function logged(level: LogLevel) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createRootLogger(level, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { lines, middleware: createHttpLogger(logger) };
}

function run(middleware: ReturnType<typeof createHttpLogger>, url: string, headers?: Record<string, string>) {
  const exchange = fakeExchange(url, headers);
  let nexted = false;
  middleware(exchange.req, exchange.res, () => (nexted = true));
  expect(nexted).toBe(true);
  return exchange;
}

describe('access log', () => {
  it('writes one line when the response finishes: request id, method, path without query, status, context', () => {
    const { lines, middleware } = logged('info');
    const { req, res } = run(middleware, '/saml/acme/acs?SAMLRequest=secret');
    addLogContext(res, { connection: 'acme', outcome: 'success', client: undefined });
    res.statusCode = 303;
    res.writableFinished = true;
    res.emit('finish');
    res.emit('close');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'request completed',
      req: { id: req.id, method: 'POST', path: '/saml/acme/acs', remoteAddress: '127.0.0.1' },
      res: { statusCode: 303 },
      connection: 'acme',
      outcome: 'success',
    });
    expect(typeof need(lines[0]).responseTime).toBe('number');
    expect(JSON.stringify(lines)).not.toContain('secret');
    expect(res.headers['x-request-id']).toBe(req.id);
    expect(lines[0]).not.toHaveProperty('client');
  });

  it('keeps a well-formed incoming X-Request-Id and replaces a hostile one', () => {
    const { middleware } = logged('info');
    expect(run(middleware, '/x', { 'x-request-id': 'lb-1234.abc' }).req.id).toBe('lb-1234.abc');
    const hostile = run(middleware, '/x', { 'x-request-id': 'a b\n{"level":"fatal"}' }).req.id;
    expect(hostile).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs 4xx at warn, 5xx and stream errors at error, and a client that went away as aborted', () => {
    const { lines, middleware } = logged('info');
    const bad = run(middleware, '/oidc/token').res;
    bad.statusCode = 400;
    bad.writableFinished = true;
    bad.emit('finish');
    const failed = run(middleware, '/oidc/token').res;
    failed.statusCode = 500;
    failed.writableFinished = true;
    failed.emit('finish');
    const broken = run(middleware, '/oidc/token').res;
    broken.emit('error', new Error('socket hang up'));
    const aborted = run(middleware, '/oidc/token').res;
    aborted.emit('close');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'request completed'],
      ['error', 'request errored'],
      ['error', 'request errored'],
      ['warn', 'request aborted'],
    ]);
    expect(need(lines[2]).err).toMatchObject({ message: 'socket hang up' });
  });

  it('writes nothing below the configured level (and still sets the request id)', () => {
    const { lines, middleware } = logged('error');
    const ok = run(middleware, '/oidc/jwks');
    ok.res.writableFinished = true;
    ok.res.emit('finish');
    const refused = run(middleware, '/oidc/token').res;
    refused.statusCode = 401;
    refused.writableFinished = true;
    refused.emit('finish');
    expect(lines).toEqual([]);
    expect(ok.req.id).toBeDefined();
  });

  it('never logs a setup link token', () => {
    expect(redactPath('/setup/abc123token/metadata')).toBe('/setup/[redacted]/…');
    expect(redactPath('/setup/metadata')).toBe('/setup/metadata');
  });
});
