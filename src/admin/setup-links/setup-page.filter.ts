import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiExceptionFilter } from '../../common/api-exception.filter';
import { redactPath } from '../../logging/logger';
import { SamlRejection } from '../../saml/saml-rejection';
import { setupErrorPage } from './setup-html';

/** Every error of the customer setup pages is a readable page with a reason code; never internals. */
@Catch()
export class SetupPageFilter implements ExceptionFilter {
  private readonly logger = new Logger('SetupPageFilter');
  private readonly api = new ApiExceptionFilter();

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request & { id?: string }>();
    if (res.headersSent) return;
    const body =
      exception instanceof SamlRejection
        ? { statusCode: exception.status, code: exception.reason, message: exception.message }
        : this.api.describe(exception);
    const requestId = typeof req.id === 'string' ? req.id : undefined;
    if (body.statusCode >= 500 && !(exception instanceof HttpException)) {
      // The path is redacted: the link's token must never reach the log.
      this.logger.error(
        { err: exception, requestId },
        `Unhandled error on ${req.method} ${redactPath(req.path)}`,
      );
    }
    if (body.statusCode === 503) res.setHeader('Retry-After', '5');
    res
      .setHeader('Cache-Control', 'no-store')
      .status(body.statusCode)
      .type('html')
      .send(
        setupErrorPage({
          status: body.statusCode,
          message:
            body.statusCode >= 500 && body.statusCode !== 503
              ? 'Something went wrong on our side. Try again; if it keeps happening, quote the request id.'
              : body.message,
          reason: body.code,
          requestId,
        }),
      );
  }
}
