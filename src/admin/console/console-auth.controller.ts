import { Body, Controller, Get, HttpStatus, Inject, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { setAuditActor } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import { Public } from '../../common/public.decorator';
import type { BridgeConfig } from '../../config/bridge-config';
import { BRIDGE_CONFIG } from '../../config/config.module';
import { isSafeReturnPath } from '../../saml/return-path';
import { ConnectionsService } from '../../connections/connections.service';
import { AdminApiKeysService } from '../admin-api-keys.service';
import { CONSOLE_CSS, CONSOLE_JS } from './console-assets';
import { clearConsoleCookie, setConsoleCookie } from './console-cookie';
import { formText, type FormBody } from './console-forms';
import { consolePage, h, textField } from './console-html';
import { ConsoleSessionsService } from './console-sessions.service';
import { ConsoleOpen, type ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';

const DEFAULT_LANDING = '/admin/connections';

/** Where to go after sign-in: a console path only (never the sign-in page itself, never another site). */
export function consoleNext(next: unknown): string {
  return typeof next === 'string' &&
    isSafeReturnPath(next) &&
    (next === '/admin' || next.startsWith('/admin/')) &&
    !next.startsWith('/admin/sign-in')
    ? next
    : DEFAULT_LANDING;
}

function noStore(res: Response): Response {
  return res.setHeader('Cache-Control', 'no-store').type('html');
}

/** Console sign-in (admin key → server-side session), sign-out, and the console's static files. */
@ApiExcludeController()
@Public()
@UseFilters(ConsolePageFilter)
@Controller('admin')
export class ConsoleAuthController {
  constructor(
    private readonly keys: AdminApiKeysService,
    private readonly sessions: ConsoleSessionsService,
    private readonly connections: ConnectionsService,
    private readonly audit: AuditService,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  @Get()
  home(@Res() res: Response): void {
    res.redirect(HttpStatus.SEE_OTHER, DEFAULT_LANDING);
  }

  @ConsoleOpen()
  @Get('assets/console.css')
  css(@Res() res: Response): void {
    res.type('text/css').setHeader('Cache-Control', 'public, max-age=300').send(CONSOLE_CSS);
  }

  @ConsoleOpen()
  @Get('assets/console.js')
  js(@Res() res: Response): void {
    res.type('text/javascript').setHeader('Cache-Control', 'public, max-age=300').send(CONSOLE_JS);
  }

  @ConsoleOpen()
  @Get('sign-in')
  async signInPage(
    @Query('next') next: unknown,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
  ): Promise<void> {
    if (req.consoleSession) {
      res.redirect(HttpStatus.SEE_OTHER, consoleNext(next));
      return;
    }
    noStore(res).send(this.renderSignIn(consoleNext(next), await this.ssoConnections()));
  }

  @ConsoleOpen()
  @Post('sign-in')
  async signIn(@Body() body: FormBody, @Req() req: ConsoleRequest, @Res() res: Response): Promise<void> {
    const next = consoleNext(body?.next);
    const client = req.ip ?? 'unknown';
    if (await this.sessions.signInBlocked(client)) {
      await this.audit.recordSafely({
        type: 'admin.sign_in_failed',
        data: { method: 'key', reason: 'signin_rate_limited' },
      });
      noStore(res)
        .status(HttpStatus.TOO_MANY_REQUESTS)
        .setHeader('Retry-After', '900')
        .send(
          this.renderSignIn(
            next,
            await this.ssoConnections(),
            'Too many failed sign-ins from your address. Wait 15 minutes, then try again.',
            'signin_rate_limited',
          ),
        );
      return;
    }
    const key = formText(body, 'key', 512);
    const principal = key ? await this.keys.authenticate(key) : undefined;
    if (!principal) {
      await this.sessions.recordSignInFailure(client);
      // Never the presented key (it may be a real key with a typo).
      await this.audit.recordSafely({
        type: 'admin.sign_in_failed',
        data: { method: 'key', reason: key ? 'invalid_api_key' : 'key_missing' },
      });
      noStore(res)
        .status(HttpStatus.UNAUTHORIZED)
        .send(
          this.renderSignIn(
            next,
            await this.ssoConnections(),
            key
              ? 'That key is not valid or was revoked.'
              : 'Enter the bootstrap admin key (ADMIN_API_KEY) or an admin API key.',
            'invalid_api_key',
          ),
        );
      return;
    }
    await this.sessions.clearSignInFailures(client);
    // A session that came with the request (if any) ends: sign-in always issues a new session id.
    if (req.consoleSession) await this.sessions.end(req.consoleSession.id);
    const { token, session } = await this.sessions.create({
      kind: principal.kind,
      id: principal.keyId ?? 'bootstrap',
      name: principal.name,
      apiKeyId: principal.keyId,
    });
    setAuditActor({ type: 'admin-session', id: session.admin.id, name: session.admin.name });
    await this.audit.recordSafely({ type: 'admin.signed_in', data: { method: 'key', kind: principal.kind } });
    setConsoleCookie(res, this.config, token, session.expiresAt);
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(HttpStatus.SEE_OTHER, next);
  }

  @Post('sign-out')
  async signOut(@Req() req: ConsoleRequest, @Res() res: Response): Promise<void> {
    if (req.consoleSession) {
      await this.sessions.end(req.consoleSession.id);
      await this.audit.recordSafely({ type: 'admin.signed_out', data: {} });
    }
    clearConsoleCookie(res, this.config);
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(HttpStatus.SEE_OTHER, '/admin/sign-in?signed-out=1');
  }

  /** Enabled connections through which admins may sign in (their `adminGroups` option is set). */
  private async ssoConnections(): Promise<Array<{ slug: string; name: string }>> {
    const { items } = await this.connections.list({ limit: 500, offset: 0 });
    return items.filter((c) => c.enabled && (c.options.adminGroups?.length ?? 0) > 0);
  }

  private renderSignIn(
    next: string,
    sso: Array<{ slug: string; name: string }>,
    error?: string,
    reason?: string,
  ): string {
    return consolePage(
      { title: 'Sign in', error: error ? `${error}${reason ? ` (${reason})` : ''}` : undefined },
      `<p>Sign in with the bootstrap admin key (<code>ADMIN_API_KEY</code>) or an admin API key.</p>` +
        `<form method="post" action="/admin/sign-in" class="main">` +
        `<input type="hidden" name="next" value="${h(next)}">` +
        textField({
          name: 'key',
          label: 'Admin key',
          type: 'password',
          required: true,
          autocomplete: 'current-password',
          error: error ? error : undefined,
        }) +
        `<button type="submit">Sign in</button></form>` +
        (sso.length
          ? `<h2>Or sign in with your company account</h2>` +
            sso
              .map(
                (c) =>
                  `<form method="post" action="/admin/sso/start" class="inline">` +
                  `<input type="hidden" name="connection" value="${h(c.slug)}"><input type="hidden" name="next" value="${h(next)}">` +
                  `<button type="submit">Sign in with ${h(c.name)}</button></form>`,
              )
              .join('')
          : ''),
    );
  }
}
