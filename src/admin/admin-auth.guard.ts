import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { setAuditActor } from '../audit/audit-context';
import { ApiError } from '../common/api-error';
import { IS_PUBLIC } from '../common/public.decorator';
import { AdminApiKeysService, AdminPrincipal } from './admin-api-keys.service';

export type AdminRequest = Request & { admin?: AdminPrincipal };

/**
 * Every route requires `Authorization: Bearer <admin key>` unless it is marked @Public(). Fails closed:
 * a route someone forgot to mark is protected, not open.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: AdminApiKeysService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const req = context.switchToHttp().getRequest<AdminRequest>();
    const header = req.headers.authorization;
    const key = typeof header === 'string' ? /^Bearer ([\x21-\x7e]+)$/i.exec(header.trim())?.[1] : undefined;
    if (key === undefined) {
      this.challenge(context);
      throw new ApiError(
        HttpStatus.UNAUTHORIZED,
        'unauthorized',
        'An admin API key is required: send "Authorization: Bearer <key>".',
      );
    }
    const principal = await this.keys.authenticate(key);
    if (!principal) {
      this.challenge(context);
      throw new ApiError(
        HttpStatus.UNAUTHORIZED,
        'invalid_api_key',
        'The admin API key is not valid or was revoked.',
      );
    }
    req.admin = principal;
    setAuditActor({ type: 'admin-key', id: principal.keyId ?? 'bootstrap', name: principal.name });
    return true;
  }

  private challenge(context: ExecutionContext): void {
    context
      .switchToHttp()
      .getResponse<Response>()
      .setHeader('WWW-Authenticate', 'Bearer realm="saml-bridge-admin"');
  }
}
