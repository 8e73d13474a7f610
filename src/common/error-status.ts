import { HttpStatus } from '@nestjs/common';
import { ApiError } from './api-error';
import { DomainError, type DomainErrorKind } from './domain-error';

/**
 * The one mapping from a domain error's kind to the HTTP status every surface answers with: the JSON API
 * (api-exception.filter), the HTML error pages (web/error-page: console, setup, sign-in) and SCIM.
 */
export const STATUS_OF_KIND: Readonly<Record<DomainErrorKind, HttpStatus>> = {
  invalid: HttpStatus.BAD_REQUEST,
  unauthenticated: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  gone: HttpStatus.GONE,
  too_large: HttpStatus.PAYLOAD_TOO_LARGE,
  unprocessable: HttpStatus.UNPROCESSABLE_ENTITY,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

export function statusOfKind(kind: DomainErrorKind): HttpStatus {
  return STATUS_OF_KIND[kind];
}

/**
 * A refusal a page answers in place (a form shown again with the message): a domain error, or an
 * `ApiError` a controller or guard threw; with the status its surface answers. Anything else: undefined.
 */
export function refusalOf(err: unknown): { status: number; reason: string; message: string } | undefined {
  if (err instanceof DomainError) {
    return { status: statusOfKind(err.kind), reason: err.reason, message: err.message };
  }
  if (err instanceof ApiError) return { status: err.getStatus(), reason: err.code, message: err.message };
  return undefined;
}
