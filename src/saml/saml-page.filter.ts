import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiExceptionFilter } from '../common/api-exception.filter';
import { addLogContext } from '../logging/logger';
import { errorPage } from './html';
import { SamlRejection } from './saml-rejection';

const TITLES: Record<number, string> = {
  400: 'Sign-in failed',
  403: 'Sign-in refused',
  404: 'Unknown sign-in link',
  409: 'Sign-in unavailable',
  413: 'Sign-in message too large',
};

/**
 * Browser-facing SAML endpoints answer every error with an HTML page: a reason code and a trace id,
 * never a stack trace or the XML. The JSON filter's classification is reused for non-SAML errors.
 */
@Catch()
export class SamlPageFilter implements ExceptionFilter {
  private readonly logger = new Logger('SamlPageFilter');
  private readonly api = new ApiExceptionFilter();

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request & { id?: string }>();
    if (res.headersSent) return;
    let status: number;
    let reason: string;
    let message: string;
    let traceId: string | undefined;
    if (exception instanceof SamlRejection) addLogContext(res, { outcome: exception.reason });
    if (exception instanceof SamlRejection && exception.continueTo) {
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(303, exception.continueTo);
      return;
    }
    if (exception instanceof SamlRejection) {
      status = exception.status;
      reason = exception.reason;
      message = exception.message;
      traceId = (exception as SamlRejection & { traceId?: string }).traceId;
    } else {
      const body = this.api.describe(exception);
      status = body.statusCode;
      reason = body.code;
      message = status >= 500 ? 'Something went wrong on our side. Try again in a moment.' : body.message;
      if (status >= 500 && !(exception instanceof HttpException)) {
        this.logger.error(
          { err: exception, requestId: req.id },
          `Unhandled error on ${req.method} ${req.path}`,
        );
      }
    }
    // The database away (restart, failover): the browser may retry shortly.
    if (status === 503) res.setHeader('Retry-After', '5');
    res
      .status(status)
      .type('html')
      .setHeader('Cache-Control', 'no-store')
      .send(
        errorPage({
          title: TITLES[status] ?? (status >= 500 ? 'Service unavailable' : 'Sign-in failed'),
          message,
          reason,
          traceId: traceId ?? (typeof req.id === 'string' ? req.id : undefined),
        }),
      );
  }
}
