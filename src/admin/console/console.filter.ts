import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { describePageError, isUnexpectedError, sendErrorPage } from '../../web/error-page';
import { type ConsoleRequest, ConsoleSignInRedirect } from './console.guard';

/**
 * Every console error is a readable page (reason code and request id), never JSON or a stack trace.
 * Unexpected errors are logged with the request id and shown as a generic message.
 */
@Catch()
export class ConsolePageFilter implements ExceptionFilter {
  private readonly logger = new Logger('ConsolePageFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<ConsoleRequest & { id?: string }>();
    if (res.headersSent) return;
    res.setHeader('Cache-Control', 'no-store');
    if (exception instanceof ConsoleSignInRedirect) {
      res.redirect(303, exception.location);
      return;
    }
    const requestId = typeof req.id === 'string' ? req.id : undefined;
    const error = describePageError(exception, requestId);
    if (isUnexpectedError(exception, error)) {
      this.logger.error({ err: exception, requestId }, `Unhandled error on ${req.method} ${req.path}`);
    }
    const session = req.consoleSession;
    sendErrorPage(
      res,
      'console',
      error,
      session ? { adminName: session.admin.name, csrfToken: session.csrfToken } : undefined,
    );
  }
}
