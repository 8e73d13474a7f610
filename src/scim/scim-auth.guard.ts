import { CanActivate, ExecutionContext, createParamDecorator, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { setAuditActor } from '../audit/audit-context';
import { scimActor, type ScimContext } from './scim-context';
import { ScimTokensService } from './scim-tokens.service';

type ScimRequest = Request & { scim?: ScimContext };

/** SCIM routes: the connection's bearer token (not an admin key), with its request limit. */
@Injectable()
export class ScimAuthGuard implements CanActivate {
  constructor(private readonly tokens: ScimTokensService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<ScimRequest>();
    const slug = typeof req.params.slug === 'string' ? req.params.slug : '';
    req.scim = await this.tokens.authenticate(slug, req.headers.authorization);
    setAuditActor(scimActor(req.scim));
    return true;
  }
}

/** The authenticated SCIM caller of this request (set by ScimAuthGuard). */
export const Scim = createParamDecorator((_: unknown, context: ExecutionContext): ScimContext => {
  const ctx = context.switchToHttp().getRequest<ScimRequest>().scim;
  if (!ctx) throw new Error('ScimAuthGuard did not run');
  return ctx;
});
