import { Body, Controller, Get, HttpStatus, Inject, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { setAuditActor } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import { ApiError } from '../../common/api-error';
import { Public } from '../../common/public.decorator';
import type { BridgeConfig } from '../../config/bridge-config';
import { BRIDGE_CONFIG } from '../../config/config.module';
import { ConnectionsService } from '../../connections/connections.service';
import { sendOutgoing } from '../../saml/login.port';
import { browserCookieName, ensureBrowserBinding, readCookie } from '../../saml/session-cookie';
import { consoleNext } from './console-sign-in';
import { ConsoleSsoConsumer } from './console-sso.consumer';
import { setConsoleCookie } from './console-cookie';
import { formText, type FormBody } from './console-forms';
import { sendPage } from './console-page';
import { ConsoleSessionsService } from './console-sessions.service';
import { ConsoleOpen, type ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';
import { ssoSignedInPage } from './views/sign-in/sign-in.view';

/**
 * Admin sign-in through SSO: a connection whose `adminGroups` option names IdP groups lets members of
 * those groups open a console session. Everyone else is refused with a page that says why.
 */
@ApiExcludeController()
@Public()
@UseFilters(ConsolePageFilter)
@Controller('admin/sso')
export class ConsoleSsoController {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly sso: ConsoleSsoConsumer,
    private readonly sessions: ConsoleSessionsService,
    private readonly audit: AuditService,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  @ConsoleOpen()
  @Post('start')
  async start(@Body() body: FormBody, @Req() req: ConsoleRequest, @Res() res: Response): Promise<void> {
    const slug = formText(body, 'connection', 64) ?? '';
    const connection = /^[a-z0-9-]{1,64}$/.test(slug) ? await this.connections.findBySlug(slug) : null;
    if (!connection || !connection.enabled || !connection.options.adminGroups?.length) {
      throw new ApiError(
        HttpStatus.FORBIDDEN,
        'admin_sso_not_enabled',
        'This connection is not set up for admin sign-in. Sign in with an admin key instead.',
      );
    }
    const binding = ensureBrowserBinding(req, res, this.config);
    sendOutgoing(res, await this.sso.start(connection.slug, consoleNext(body?.next), binding));
  }

  @ConsoleOpen()
  @Get('continue')
  async continue(
    @Query('code') code: unknown,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
  ): Promise<void> {
    // (The code alone names the sign-in; the connection in the URL is for people reading it.)
    const identity = await this.sso.identity(code, readCookie(req, browserCookieName(this.config)));
    const { connection, mapped } = identity;
    const adminGroups = connection.options.adminGroups ?? [];
    const who = mapped.email ?? mapped.subject;
    if (!mapped.groups.some((g) => adminGroups.includes(g))) {
      await this.audit.recordSafely({
        type: 'admin.sign_in_failed',
        connectionId: connection.id,
        data: { method: 'sso', reason: 'not_an_admin', who },
      });
      throw new ApiError(
        HttpStatus.FORBIDDEN,
        'not_an_admin',
        `${who} signed in at ${connection.name}, but is not in an admin group of this connection (${adminGroups.join(', ')}), so the console stays closed. Ask a bridge administrator to add you to one of these groups.`,
      );
    }
    if (req.consoleSession) await this.sessions.end(req.consoleSession.id);
    const { token, session } = await this.sessions.create({
      kind: 'sso',
      id: `sso:${connection.id}:${mapped.subject}`,
      name: who,
    });
    setAuditActor({ type: 'admin-session', id: session.admin.id, name: session.admin.name });
    await this.audit.recordSafely({
      type: 'admin.signed_in',
      connectionId: connection.id,
      data: { method: 'sso', groups: mapped.groups.filter((g) => adminGroups.includes(g)) },
    });
    setConsoleCookie(res, this.config, token, session.expiresAt);
    // The browser arrives here through the IdP's cross-site POST: a SameSite=Strict cookie is only sent on
    // the next same-site navigation, so continue from this page (automatically when script runs).
    const next = consoleNext(identity.next);
    sendPage(res, ssoSignedInPage({ who, connectionName: connection.name, next }));
  }
}
