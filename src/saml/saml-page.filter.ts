import { ArgumentsHost, Catch, ExceptionFilter, Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { addLogContext } from '../logging/logger';
import { describePageError, isUnexpectedError, sendErrorPage } from '../web/error-page';
import { LoginConsumers } from './login-consumers';
import { SamlRejection, TracedSamlRejection } from './saml-rejection';

/**
 * Browser-facing SAML endpoints answer every error with an HTML page: a reason code and a trace id,
 * never a stack trace or the XML. A refused ACS login whose consumer answers that refusal itself (its
 * refusedUrl, e.g. back to the app that asked) is a redirect there instead: the consumer decides, not the
 * SAML core.
 */
@Injectable()
@Catch()
export class SamlPageFilter implements ExceptionFilter {
  private readonly logger = new Logger('SamlPageFilter');

  constructor(private readonly consumers: LoginConsumers) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request & { id?: string }>();
    if (res.headersSent) return;
    if (exception instanceof SamlRejection) addLogContext(res, { outcome: exception.reason });
    const continueTo =
      exception instanceof TracedSamlRejection && exception.login
        ? this.consumers.refusedUrl(exception.login.context, exception.reason)
        : undefined;
    if (continueTo) {
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(303, continueTo);
      return;
    }
    const error = describePageError(exception, typeof req.id === 'string' ? req.id : undefined);
    if (isUnexpectedError(exception, error)) {
      this.logger.error(
        { err: exception, requestId: req.id },
        `Unhandled error on ${req.method} ${req.path}`,
      );
    }
    sendErrorPage(res, 'sign-in', error);
  }
}
