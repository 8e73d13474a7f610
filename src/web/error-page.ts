import { HttpException } from '@nestjs/common';
import type { Response } from 'express';
import { DomainError } from '../common/domain-error';
import { ApiExceptionFilter } from '../common/api-exception.filter';
import { statusOfKind } from '../common/error-status';
import { SamlRejection, TracedSamlRejection } from '../saml/saml-rejection';
import { errorDetails } from './components/error-details';
import { html, render, type Html } from './html';
import { consoleLayout, type ConsoleChrome, setupLayout, signInLayout } from './layout';

/**
 * The one HTML error renderer. Every browser-facing surface (the admin console, the customer setup pages,
 * the SAML sign-in pages and the app-wide fallback for errors raised before a controller runs) answers an
 * error with a page built here: a title for the status, a safe message, the reason code and the request
 * (trace) id — never internals. The JSON error shape stays `ApiErrorBody` (common/api-exception.filter).
 */
export type HtmlSurface = 'console' | 'setup' | 'sign-in';

/** A typed domain error as a page shows it: reason code, safe message, optional ids. */
export interface PageError {
  status: number;
  reason: string;
  message: string;
  /** The request id (console, setup) or the SSO trace id (sign-in pages). */
  requestId?: string;
  /** True when the message was written for the end user by a domain error (a SAML rejection). */
  fromRejection: boolean;
}

interface SurfaceTitles {
  byStatus: Record<number, string>;
  serverError: string;
  otherwise: string;
}

/** The status → title table of every surface. */
const TITLES: Record<HtmlSurface, SurfaceTitles> = {
  console: {
    byStatus: {
      401: 'Sign-in required',
      403: 'Not allowed',
      404: 'Not found',
      413: 'Too large',
      429: 'Too many attempts',
    },
    serverError: 'Something went wrong',
    otherwise: 'Request refused',
  },
  setup: {
    byStatus: { 403: 'Not allowed', 404: 'Setup link not found', 410: 'This setup link no longer works' },
    serverError: 'Something went wrong',
    otherwise: 'Request refused',
  },
  'sign-in': {
    byStatus: {
      400: 'Sign-in failed',
      403: 'Sign-in refused',
      404: 'Unknown sign-in link',
      409: 'Sign-in unavailable',
      413: 'Sign-in message too large',
    },
    serverError: 'Service unavailable',
    otherwise: 'Sign-in failed',
  },
};

const SERVER_ERROR_MESSAGE = {
  admin: 'Something went wrong on our side. Try again; if it keeps happening, quote the request id.',
  signIn: 'Something went wrong on our side. Try again in a moment.',
};

export function errorTitle(surface: HtmlSurface, status: number): string {
  const t = TITLES[surface];
  return t.byStatus[status] ?? (status >= 500 ? t.serverError : t.otherwise);
}

/** What the page says: the domain message, or a generic one where the message could carry internals. */
export function publicMessage(surface: HtmlSurface, e: PageError): string {
  if (surface === 'sign-in') {
    return !e.fromRejection && e.status >= 500 ? SERVER_ERROR_MESSAGE.signIn : e.message;
  }
  // 503 (the database away) says so and asks for a retry; other server errors say nothing of the cause.
  return e.status >= 500 && e.status !== 503 ? SERVER_ERROR_MESSAGE.admin : e.message;
}

const api = new ApiExceptionFilter();

/**
 * Classifies any exception once: a SAML rejection keeps its reason and message (and, once traced, shows
 * its trace id), the rest (other domain errors included) as the JSON API describes them. The status of a
 * domain error is its kind's (common/error-status); the rejection's trace detail is never shown.
 */
export function describePageError(exception: unknown, requestId?: string): PageError {
  if (exception instanceof SamlRejection) {
    const traceId = exception instanceof TracedSamlRejection ? exception.traceId : undefined;
    return {
      status: statusOfKind(exception.kind),
      reason: exception.reason,
      message: exception.message,
      requestId: traceId ?? requestId,
      fromRejection: true,
    };
  }
  const body = api.describe(exception);
  return {
    status: body.statusCode,
    reason: body.code,
    message: body.message,
    requestId,
    fromRejection: false,
  };
}

/** The error page of a surface. `session` adds the console's navigation for a signed-in admin. */
export function errorPageView(surface: HtmlSurface, e: PageError, session?: ConsoleChrome['session']): Html {
  const title = errorTitle(surface, e.status);
  const message = publicMessage(surface, e);
  switch (surface) {
    case 'console':
      return consoleLayout(
        { title, session },
        html`${errorDetails({ message, reason: e.reason, requestId: e.requestId })}<p><a href="/admin">Back to the console</a></p>`,
      );
    case 'setup':
      return setupLayout({ title }, errorDetails({ message, reason: e.reason, requestId: e.requestId }));
    case 'sign-in':
      return signInLayout(
        title,
        html`<h1>${title}</h1><p>${message}</p><p class="muted">Reason: <code>${e.reason}</code>${
          e.requestId ? html`<br>Trace id: <code>${e.requestId}</code>` : ''
        }</p><p class="muted">If this keeps happening, give the reason and trace id to your administrator.</p>`,
      );
  }
}

/**
 * An error nothing classified (neither a domain error nor an HTTP exception) that answers 5xx: a bug or an
 * outage. The page filters log these with the request id; the page itself shows only a generic message.
 */
export function isUnexpectedError(exception: unknown, error: PageError): boolean {
  return error.status >= 500 && !(exception instanceof HttpException) && !(exception instanceof DomainError);
}

/** Sends the error page: the status, no caching, and Retry-After when the database is away (503). */
export function sendErrorPage(
  res: Response,
  surface: HtmlSurface,
  e: PageError,
  session?: ConsoleChrome['session'],
): void {
  if (e.status === 503) res.setHeader('Retry-After', '5');
  res
    .setHeader('Cache-Control', 'no-store')
    .status(e.status)
    .type('html')
    .send(render(errorPageView(surface, e, session)));
}
