import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { ApiExceptionFilter } from '../../common/api-exception.filter';
import { SamlRejection } from '../../saml/saml-rejection';
import { consoleErrorPage } from './console-html';
import { type ConsoleRequest, ConsoleSignInRedirect } from './console.guard';

/**
 * Every console error is a readable page (reason code and request id), never JSON or a stack trace.
 * Unexpected errors are logged with the request id and shown as a generic message.
 */
@Catch()
export class ConsolePageFilter implements ExceptionFilter {
  private readonly logger = new Logger('ConsolePageFilter');
  private readonly api = new ApiExceptionFilter();

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<ConsoleRequest & { id?: string }>();
    if (res.headersSent) return;
    res.setHeader('Cache-Control', 'no-store');
    if (exception instanceof ConsoleSignInRedirect) {
      res.redirect(303, exception.location);
      return;
    }
    const body =
      exception instanceof SamlRejection
        ? { statusCode: exception.status, code: exception.reason, message: exception.message }
        : this.api.describe(exception);
    const requestId = typeof req.id === 'string' ? req.id : undefined;
    if (body.statusCode >= 500 && !(exception instanceof HttpException)) {
      this.logger.error({ err: exception, requestId }, `Unhandled error on ${req.method} ${req.path}`);
    }
    if (body.statusCode === 503) res.setHeader('Retry-After', '5');
    const session = req.consoleSession;
    res
      .status(body.statusCode)
      .type('html')
      .send(
        consoleErrorPage({
          status: body.statusCode,
          message:
            body.statusCode >= 500 && body.statusCode !== 503
              ? 'Something went wrong on our side. Try again; if it keeps happening, quote the request id.'
              : body.message,
          reason: body.code,
          requestId,
          session: session ? { adminName: session.admin.name, csrfToken: session.csrfToken } : undefined,
        }),
      );
  }
}
