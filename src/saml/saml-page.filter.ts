import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { addLogContext } from '../logging/logger';
import { describePageError, sendErrorPage } from '../web/error-page';
import { SamlRejection } from './saml-rejection';

/**
 * Browser-facing SAML endpoints answer every error with an HTML page: a reason code and a trace id,
 * never a stack trace or the XML. A rejection that names where to continue (a consumer's own page) is a
 * redirect instead.
 */
@Catch()
export class SamlPageFilter implements ExceptionFilter {
  private readonly logger = new Logger('SamlPageFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request & { id?: string }>();
    if (res.headersSent) return;
    if (exception instanceof SamlRejection) addLogContext(res, { outcome: exception.reason });
    if (exception instanceof SamlRejection && exception.continueTo) {
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(303, exception.continueTo);
      return;
    }
    const error = describePageError(exception, typeof req.id === 'string' ? req.id : undefined);
    if (!error.fromRejection && error.status >= 500 && !(exception instanceof HttpException)) {
      this.logger.error(
        { err: exception, requestId: req.id },
        `Unhandled error on ${req.method} ${req.path}`,
      );
    }
    sendErrorPage(res, 'sign-in', error);
  }
}
