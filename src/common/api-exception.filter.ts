import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { isDatabaseUnavailable } from '../database/database-errors';
import { redactPath } from '../logging/logger';
import { ApiError, ApiErrorBody } from './api-error';
import { DomainError } from './domain-error';
import { statusOfKind } from './error-status';

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'too_many_requests',
  503: 'service_unavailable',
};

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
  limit?: number;
}

function bodyParserError(err: unknown): ApiErrorBody | undefined {
  const e = err as BodyParserError;
  if (!e || typeof e !== 'object' || typeof e.type !== 'string' || typeof e.status !== 'number')
    return undefined;
  switch (e.type) {
    case 'entity.too.large':
      return {
        statusCode: 413,
        code: 'payload_too_large',
        message: e.limit
          ? `The request body is larger than the ${e.limit} bytes this endpoint accepts.`
          : 'The request body is larger than this endpoint accepts.',
      };
    case 'entity.parse.failed':
      return { statusCode: 400, code: 'malformed_json', message: 'The request body is not valid JSON.' };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return {
        statusCode: 415,
        code: 'unsupported_charset',
        message: 'The request body charset is not supported.',
      };
    case 'request.aborted':
      return {
        statusCode: 400,
        code: 'request_aborted',
        message: 'The request body was not received in full.',
      };
    default:
      return e.status >= 400 && e.status < 500
        ? { statusCode: e.status, code: 'bad_request', message: 'The request body could not be read.' }
        : undefined;
  }
}

/** The multer (multipart) errors that reach us are all caused by the client. */
function multerError(err: unknown): ApiErrorBody | undefined {
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.name !== 'MulterError') return undefined;
  if (e.code === 'LIMIT_FILE_SIZE') {
    return { statusCode: 413, code: 'payload_too_large', message: 'The uploaded file is too large.' };
  }
  return { statusCode: 400, code: 'invalid_upload', message: `The upload could not be read (${e.code}).` };
}

/** Routes whose errors a browser sees: answered with an HTML page instead of JSON. */
export interface HtmlErrorRoutes {
  matches(path: string): boolean;
  render(body: ApiErrorBody, path: string): string;
}

/**
 * Turns every error into `{statusCode, code, message, details?, requestId}`. Client errors keep their
 * message; anything unexpected becomes a 500 with a request id and no internals (logged server-side).
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  constructor(private readonly htmlRoutes?: HtmlErrorRoutes) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request & { id?: string }>();
    const body = this.describe(exception);
    body.requestId = typeof req.id === 'string' ? req.id : undefined;
    if (body.statusCode === 503) {
      this.logger.warn(
        { requestId: body.requestId },
        `Database unavailable on ${req.method} ${redactPath(req.path)}`,
      );
    } else if (body.statusCode >= 500) {
      this.logger.error(
        { err: exception, requestId: body.requestId },
        `Unhandled error on ${req.method} ${redactPath(req.path)}`,
      );
    }
    if (res.headersSent) return;
    if (body.statusCode === 503) res.setHeader('Retry-After', '5');
    if (this.htmlRoutes?.matches(req.path)) {
      res
        .status(body.statusCode)
        .type('html')
        .setHeader('Cache-Control', 'no-store')
        .send(this.htmlRoutes.render(body, req.path));
      return;
    }
    res.status(body.statusCode).json(body);
  }

  /** The JSON error body (without request id) an exception stands for. */
  describe(exception: unknown): ApiErrorBody {
    // Body-parser and multer errors, raw or wrapped by Nest's Express adapter (as `cause`).
    const cause = exception instanceof Error ? exception.cause : undefined;
    const clientError =
      bodyParserError(exception) ?? bodyParserError(cause) ?? multerError(exception) ?? multerError(cause);
    if (clientError) return clientError;
    if (exception instanceof DomainError) {
      return {
        statusCode: statusOfKind(exception.kind),
        code: exception.reason,
        message: exception.message,
        ...(exception.details ? { details: exception.details } : {}),
      };
    }
    if (exception instanceof ApiError) {
      return {
        statusCode: exception.getStatus(),
        code: exception.code,
        message: exception.message,
        ...(exception.details ? { details: exception.details } : {}),
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const code = STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
      if (typeof response === 'object' && response !== null) {
        const r = response as { message?: unknown; code?: unknown };
        if (Array.isArray(r.message)) {
          return {
            statusCode: status,
            code: 'validation_failed',
            message: `The request is invalid: ${r.message.join('; ')}`,
            details: { problems: r.message },
          };
        }
        return {
          statusCode: status,
          code: typeof r.code === 'string' ? r.code : code,
          message: typeof r.message === 'string' ? r.message : exception.message,
        };
      }
      return { statusCode: status, code, message: String(response) };
    }
    if (isDatabaseUnavailable(exception)) {
      return {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        code: 'database_unavailable',
        message: 'The database is unreachable right now; retry shortly.',
      };
    }
    return {
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      code: 'internal_error',
      message: 'An unexpected error occurred. Quote the request id when reporting it.',
    };
  }
}
