import { HttpStatus } from '@nestjs/common';
import type { DomainErrorKind } from './domain-error';

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
