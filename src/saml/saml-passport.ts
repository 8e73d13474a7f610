import { Injectable } from '@nestjs/common';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { addLogContext } from '../logging/logger';
import { SamlMessageStrategy } from './saml-message.strategy';
import { type AcsSuccess, SamlService } from './saml.service';
import { type SloOutcome, SloService } from './slo.service';

/** The raw query string as received (the Redirect binding's signature covers these exact octets). */
function rawQuery(req: Request): string {
  const i = req.originalUrl.indexOf('?');
  return i < 0 ? '' : req.originalUrl.slice(i + 1);
}

/** The connection slug of the route; the access log line names it, whether the message is accepted or not. */
function slugOf(req: Request): string {
  const slug = String(req.params.slug ?? '');
  if (req.res) addLogContext(req.res, { connection: slug });
  return slug;
}

/** `saml-acs`: a SAML Response posted to /saml/:slug/acs, verified by the ACS pipeline. */
@Injectable()
export class SamlAcsStrategy extends PassportStrategy(SamlMessageStrategy, 'saml-acs') {
  constructor(private readonly saml: SamlService) {
    super();
  }

  validate(req: Request & { id?: unknown }): Promise<AcsSuccess> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    return this.saml.consumeResponse(slugOf(req), body, typeof req.id === 'string' ? req.id : undefined);
  }
}

/** `saml-slo`: a LogoutRequest or LogoutResponse at /saml/:slug/slo (either binding), by the SLO pipeline. */
@Injectable()
export class SamlSloStrategy extends PassportStrategy(SamlMessageStrategy, 'saml-slo') {
  constructor(private readonly slo: SloService) {
    super();
  }

  validate(req: Request): Promise<SloOutcome> {
    return this.slo.receive(
      slugOf(req),
      req.method === 'GET'
        ? { binding: 'HTTP-Redirect', rawQuery: rawQuery(req) }
        : { binding: 'HTTP-POST', body: (req.body ?? {}) as Record<string, unknown> },
    );
  }
}

/** The ACS behind passport: the handler reads the verified login with verifiedMessage(). */
@Injectable()
export class SamlAcsGuard extends AuthGuard('saml-acs') {}

/** SLO behind passport: the handler reads the logout's outcome with verifiedMessage(). */
@Injectable()
export class SamlSloGuard extends AuthGuard('saml-slo') {}

/** What the guard's strategy verified (passport keeps it as req.user). */
export function verifiedMessage<T extends AcsSuccess | SloOutcome>(req: Request): T {
  return req.user as unknown as T;
}
