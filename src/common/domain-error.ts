/**
 * What went wrong, in domain terms. The one table that turns a kind into an HTTP status is
 * common/error-status.ts; domain code (services, the SAML core) knows no HTTP status.
 */
export type DomainErrorKind =
  /** The input is malformed or breaks a rule. */
  | 'invalid'
  /** Whoever asks is not identified (no or a bad credential). */
  | 'unauthenticated'
  /** Whoever asks is identified but may not do this. */
  | 'forbidden'
  | 'not_found'
  /** It clashes with what exists (a taken name, a missing prerequisite). */
  | 'conflict'
  /** It existed and no longer works (an expired or revoked link). */
  | 'gone'
  | 'too_large'
  /** Well-formed, but it cannot be acted on (e.g. metadata that does not describe an IdP). */
  | 'unprocessable'
  /** A dependency is away right now; retry shortly. */
  | 'unavailable';

export const DOMAIN_ERROR_KINDS: readonly DomainErrorKind[] = [
  'invalid',
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'gone',
  'too_large',
  'unprocessable',
  'unavailable',
];

/**
 * A refusal with a stable reason code (snake_case) and a message safe to show whoever asked. `details`
 * are public too (the JSON API answers them); anything for the admin's eyes only does not belong here.
 */
export class DomainError extends Error {
  constructor(
    public readonly kind: DomainErrorKind,
    public readonly reason: string,
    message: string,
    public readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  static invalid(reason: string, message: string, details?: Record<string, unknown>): DomainError {
    return new DomainError('invalid', reason, message, details);
  }
  static notFound(reason: string, message: string): DomainError {
    return new DomainError('not_found', reason, message);
  }
  static conflict(reason: string, message: string, details?: Record<string, unknown>): DomainError {
    return new DomainError('conflict', reason, message, details);
  }
  static unprocessable(reason: string, message: string, details?: Record<string, unknown>): DomainError {
    return new DomainError('unprocessable', reason, message, details);
  }
  static gone(reason: string, message: string): DomainError {
    return new DomainError('gone', reason, message);
  }
  static tooLarge(reason: string, message: string, details?: Record<string, unknown>): DomainError {
    return new DomainError('too_large', reason, message, details);
  }
  static forbidden(reason: string, message: string): DomainError {
    return new DomainError('forbidden', reason, message);
  }
  static unavailable(reason: string, message: string): DomainError {
    return new DomainError('unavailable', reason, message);
  }
}
