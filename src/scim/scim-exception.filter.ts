import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError } from '../common/domain-error';
import { statusOfKind } from '../common/error-status';
import { isDatabaseUnavailable } from '../database/database-errors';
import { SCIM_MEDIA_TYPE, ScimError } from './scim-error';

/** Any error on a SCIM route as the SCIM error schema, never a stack trace or the admin API's JSON shape. */
export function scimErrorOf(err: unknown): ScimError {
  if (err instanceof ScimError) return err;
  if (isDatabaseUnavailable(err)) {
    return new ScimError(
      503,
      'The service is temporarily unavailable (database). Retry shortly.',
      undefined,
      {
        'Retry-After': '2',
      },
    );
  }
  if (err instanceof HttpException || err instanceof DomainError) {
    // A domain error's status is its kind's, as on every surface (common/error-status).
    const status = err instanceof DomainError ? statusOfKind(err.kind) : err.getStatus();
    const body =
      err instanceof DomainError ? err.message : (err.getResponse() as { message?: unknown } | string);
    const message =
      typeof body === 'string' ? body : typeof body.message === 'string' ? body.message : err.message;
    return new ScimError(
      status,
      message,
      status === 400 ? 'invalidValue' : undefined,
      status === 503 ? { 'Retry-After': '2' } : {},
    );
  }
  return new ScimError(500, 'Something went wrong on our side; the request changed nothing. Retry.');
}

export function sendScimError(res: Response, error: ScimError): void {
  if (res.headersSent) return;
  for (const [k, v] of Object.entries(error.headers)) res.setHeader(k, v);
  res.status(error.status).type(SCIM_MEDIA_TYPE).send(JSON.stringify(error.body()));
}

@Catch()
export class ScimExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Scim');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const error = scimErrorOf(exception);
    if (error.status >= 500 && error.status !== 503) {
      const req = http.getRequest<Request>();
      this.logger.error({ err: exception }, `SCIM ${req.method} ${req.path} failed`);
    }
    sendScimError(http.getResponse<Response>(), error);
  }
}
