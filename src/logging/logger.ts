import type { LoggerService } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { Logger } from 'pino';
import type { LogLevel } from '../config/bridge-config';

/** Paths that are never written to the log, whatever the level. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.clientSecret',
  '*.apiKey',
  '*.key',
  '*.privateKey',
  '*.SAMLResponse',
  '*.SAMLRequest',
];

export function createRootLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'saml-bridge' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** The customer setup pages' own paths; any other segment after /setup/ is (or could be) a link token. */
const SETUP_PATHS = new Set(['metadata', 'test-login', 'sp-certificate.pem']);

/** A request target without its query string. */
function withoutQuery(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * A request path as it may be logged: the token of a setup link (`/setup/{token}`) is replaced, so that a
 * link never reaches the log, whatever the token looks like.
 */
export function redactPath(path: string): string {
  const m = /^\/setup\/([^/]+)(.*)$/.exec(path);
  if (!m) return path;
  const [, segment = '', rest] = m;
  if (SETUP_PATHS.has(segment)) return path;
  return `/setup/[redacted]${rest ? '/…' : ''}`;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Accepts a well-formed incoming X-Request-Id (from a load balancer), else makes one. */
export function requestIdFor(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

type WithLocals = ServerResponse & { locals?: { log?: Record<string, string> } };

/** Adds fields (connection, client, outcome…) to the request's access-log line. */
export function addLogContext(res: ServerResponse, fields: Record<string, string | undefined>): void {
  const r = res as WithLocals;
  r.locals ??= {};
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  r.locals.log = { ...r.locals.log, ...defined };
}

function logContext(res: ServerResponse): Record<string, string> {
  return (res as WithLocals).locals?.log ?? {};
}

declare module 'node:http' {
  interface IncomingMessage {
    /** The request id (X-Request-Id), set by the access log middleware before anything else runs. */
    id?: string;
  }
}

type AccessLevel = 'info' | 'warn' | 'error';

/**
 * Access log middleware: one JSON line per request when it ends, path only (query strings may carry SAML
 * messages), with the fields the handler added (`addLogContext`). Nothing is built for a line that its
 * level would drop: at LOG_LEVEL=error a successful request costs a request id and two listeners.
 */
export function createHttpLogger(logger: Logger) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const id = requestIdFor(req, res);
    req.id = id;
    const started = performance.now();
    const done = (err?: Error): void => {
      res.off('finish', ended);
      res.off('close', ended);
      res.off('error', done);
      const failed = err !== undefined || res.statusCode >= 500;
      const aborted = !err && !res.writableFinished;
      const level: AccessLevel = failed ? 'error' : aborted || res.statusCode >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: {
            id,
            method: req.method,
            path: redactPath(withoutQuery(req.url ?? '')),
            remoteAddress: req.socket?.remoteAddress,
          },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
          ...logContext(res),
          ...(err ? { err } : {}),
        },
        failed ? 'request errored' : aborted ? 'request aborted' : 'request completed',
      );
    };
    // 'finish' and 'close' pass no error: the listener must not forward their arguments to `done`.
    const ended = (): void => done();
    res.on('finish', ended);
    res.on('close', ended);
    res.on('error', done);
    next();
  };
}

/** Nest's logger interface over pino, so framework and application logs share one JSON stream. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  private write(
    level: 'info' | 'error' | 'warn' | 'debug' | 'trace',
    message: unknown,
    params: unknown[],
  ): void {
    const context = typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    if (message && typeof message === 'object' && !(message instanceof Error)) {
      const msg = typeof params[0] === 'string' ? params[0] : undefined;
      this.logger[level]({ context, ...(message as Record<string, unknown>) }, msg);
      return;
    }
    if (message instanceof Error) {
      this.logger[level]({ context, err: message }, message.message);
      return;
    }
    const extra = params.length > 0 ? { context, detail: params } : { context };
    this.logger[level](extra, String(message));
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
}
