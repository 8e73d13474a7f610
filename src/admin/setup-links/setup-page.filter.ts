import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { redactPath } from '../../logging/logger';
import { describePageError, isUnexpectedError, sendErrorPage } from '../../web/error-page';

/** Every error of the customer setup pages is a readable page with a reason code; never internals. */
@Catch()
export class SetupPageFilter implements ExceptionFilter {
  private readonly logger = new Logger('SetupPageFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request & { id?: string }>();
    if (res.headersSent) return;
    const requestId = typeof req.id === 'string' ? req.id : undefined;
    const error = describePageError(exception, requestId);
    if (isUnexpectedError(exception, error)) {
      // The path is redacted: the link's token must never reach the log.
      this.logger.error(
        { err: exception, requestId },
        `Unhandled error on ${req.method} ${redactPath(req.path)}`,
      );
    }
    sendErrorPage(res, 'setup', error);
  }
}
