import { CanActivate, ExecutionContext, HttpStatus, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { setAuditActor } from '../../audit/audit-context';
import { ApiError } from '../../common/api-error';
import type { BridgeConfig } from '../../config/bridge-config';
import { BRIDGE_CONFIG } from '../../config/config.module';
import { readConsoleCookie } from './console-cookie';
import { ConsoleSession, ConsoleSessionsService } from './console-sessions.service';

const CONSOLE_OPEN = 'bridge:consoleOpen';

/** A console route reachable without a console session (sign-in page, its POST, static assets). */
export const ConsoleOpen = () => SetMetadata(CONSOLE_OPEN, true);

export type ConsoleRequest = Request & { consoleSession?: ConsoleSession };

/** Thrown to send the browser to the sign-in page (GET without a session). */
export class ConsoleSignInRedirect extends Error {
  constructor(public readonly location: string) {
    super('sign-in required');
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * Refuses a state-changing request that does not come from this origin (Origin, else Referer). Pages that
 * post forms must send `Referrer-Policy: same-origin` (else Chromium sends `Origin: null`).
 */
export function assertSameOrigin(req: Request, origin: string): void {
  const header = req.headers.origin;
  let from: string | undefined;
  if (typeof header === 'string' && header !== 'null') from = header;
  else if (typeof req.headers.referer === 'string') {
    try {
      from = new URL(req.headers.referer).origin;
    } catch {
      from = undefined;
    }
  }
  if (from !== origin) {
    throw new ApiError(
      HttpStatus.FORBIDDEN,
      'origin_mismatch',
      'This form was not sent from a page of this bridge, so it was refused.',
    );
  }
}

export function isConsolePath(path: string): boolean {
  return path === '/admin' || path.startsWith('/admin/');
}

/**
 * Guards every route under /admin (it is global, so a console route someone forgot to protect is still
 * protected): a live console session is required unless the route is @ConsoleOpen(). Every
 * state-changing request, signed in or not, must come from the bridge's own origin (Origin, else
 * Referer) and, with a session, carry the session's CSRF token in the `_csrf` field.
 */
@Injectable()
export class ConsoleSessionGuard implements CanActivate {
  private readonly origin: string;

  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: ConsoleSessionsService,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {
    this.origin = new URL(config.baseUrl).origin;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<ConsoleRequest>();
    if (!isConsolePath(req.path)) return true;
    const open = this.reflector.getAllAndOverride<boolean>(CONSOLE_OPEN, [
      context.getHandler(),
      context.getClass(),
    ]);
    const safe = SAFE_METHODS.has(req.method);
    if (!safe) assertSameOrigin(req, this.origin);
    const session = await this.sessions.resolve(readConsoleCookie(req, this.config));
    if (session) {
      req.consoleSession = session;
      setAuditActor({ type: 'admin-session', id: session.admin.id, name: session.admin.name });
    }
    if (open) return true;
    if (!session) {
      if (safe) {
        throw new ConsoleSignInRedirect(`/admin/sign-in?next=${encodeURIComponent(req.originalUrl)}`);
      }
      throw new ApiError(
        HttpStatus.UNAUTHORIZED,
        'console_session_required',
        'Your console session has ended (signed out, idle for too long or expired). Sign in again, then repeat the change.',
      );
    }
    if (!safe) {
      const body = req.body as Record<string, unknown> | undefined;
      if (!this.sessions.checkCsrf(session, body?._csrf)) {
        throw new ApiError(
          HttpStatus.FORBIDDEN,
          'csrf_token_invalid',
          'This form is not valid for your session (it is out of date or came from elsewhere). Reload the page and try again.',
        );
      }
    }
    return true;
  }
}
