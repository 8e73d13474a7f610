import { HttpException, HttpStatus } from '@nestjs/common';

/** The JSON body of every error the API returns. */
export interface ApiErrorBody {
  statusCode: number;
  /** A stable, machine-readable reason code (snake_case). */
  code: string;
  /** What went wrong and what to do about it, for a human. */
  message: string;
  details?: Record<string, unknown>;
  requestId?: string;
}

/** An error with a stable reason code, answered as `{statusCode, code, message, details}`. */
export class ApiError extends HttpException {
  constructor(
    status: HttpStatus,
    public readonly code: string,
    message: string,
    public readonly details?: Record<string, unknown>,
  ) {
    super({ statusCode: status, code, message, details }, status);
  }

  static badRequest(code: string, message: string, details?: Record<string, unknown>): ApiError {
    return new ApiError(HttpStatus.BAD_REQUEST, code, message, details);
  }
  static notFound(code: string, message: string): ApiError {
    return new ApiError(HttpStatus.NOT_FOUND, code, message);
  }
  static conflict(code: string, message: string, details?: Record<string, unknown>): ApiError {
    return new ApiError(HttpStatus.CONFLICT, code, message, details);
  }
  static unprocessable(code: string, message: string, details?: Record<string, unknown>): ApiError {
    return new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, code, message, details);
  }
}
