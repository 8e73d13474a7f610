import { Body, Controller, Get, HttpStatus, Inject, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { setAuditActor } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import { Public } from '../../common/public.decorator';
import type { BridgeConfig } from '../../config/bridge-config';
import { BRIDGE_CONFIG } from '../../config/config.module';
import { ConnectionsService } from '../../connections/connections.service';
import { AdminApiKeysService } from '../admin-api-keys.service';
import { CONSOLE_CSS, CONSOLE_JS } from './console-assets';
import { clearConsoleCookie, setConsoleCookie } from './console-cookie';
import { formText, type FormBody } from './console-forms';
import { render } from '../../web/html';
import { adminSsoConnections, consoleNext, DEFAULT_LANDING } from './console-sign-in';
import { ConsoleSessionsService } from './console-sessions.service';
import { ConsoleOpen, type ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';
import { signInPage } from './views/sign-in/sign-in.view';

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
    noStore(res).send(await this.renderSignIn(consoleNext(next)));
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
          await this.renderSignIn(
            next,
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
          await this.renderSignIn(
            next,
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

  private async renderSignIn(next: string, error?: string, reason?: string): Promise<string> {
    return render(signInPage({ next, sso: await adminSsoConnections(this.connections), error, reason }));
  }
}
