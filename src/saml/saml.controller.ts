import {
  Controller,
  Get,
  HttpStatus,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../common/public.decorator';
import { addLogContext } from '../logging/logger';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ConnectionLookup } from '../connections/connection-lookup';
import { UsersService } from '../users/users.service';
import { AppSessionConsumer } from './app-session/app-session.consumer';
import { messagePage, sessionPage } from './html';
import { LoginSessionsService } from './login-sessions.service';
import { SamlPageFilter } from './saml-page.filter';
import { SamlAcsGuard, SamlSloGuard, verifiedMessage } from './saml-passport';
import { type AcsSuccess, SamlService, sendOutgoing } from './saml.service';
import {
  browserCookieName,
  clearSessionCookie,
  ensureBrowserBinding,
  readCookie,
  sessionCookieName,
  setSessionCookie,
} from './session-cookie';
import { SloOutcome, SloService } from './slo.service';
import { displayNameOf } from '../users/display-name';

/** The browser-facing SAML endpoints of each connection. Thin: the services hold the logic. */
@ApiExcludeController()
@Public()
@UseFilters(SamlPageFilter)
@Controller('saml')
export class SamlController {
  constructor(
    private readonly saml: SamlService,
    private readonly appSession: AppSessionConsumer,
    private readonly slo: SloService,
    private readonly sessions: LoginSessionsService,
    private readonly users: UsersService,
    private readonly connections: ConnectionLookup,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  /** Who is signed in (the default landing page until apps use OIDC). */
  @Get('session')
  async session(@Req() req: Request, @Res() res: Response): Promise<void> {
    const session = await this.sessions.findActive(readCookie(req, sessionCookieName(this.config)));
    // The session's connection (cached per instance; a deleted connection ends its sessions).
    const connection = session ? await this.connections.byId(session.connectionId) : null;
    res.setHeader('Cache-Control', 'no-store');
    if (!session || !connection) {
      res
        .status(HttpStatus.UNAUTHORIZED)
        .type('html')
        .send(messagePage('Not signed in', 'You are not signed in.'));
      return;
    }
    const user = await this.users.get(session.userId);
    if (req.accepts(['html', 'json']) === 'json') {
      res.json({
        user: {
          id: user.id,
          email: user.email,
          emailVerified: user.emailVerified,
          groups: user.groups,
          name: user.displayName,
        },
        connection: connection.slug,
        sessionIndex: session.sessionIndex,
        authnContextClassRef: session.authnContextClassRef,
        expiresAt: session.expiresAt.toISOString(),
      });
      return;
    }
    res.type('html').send(
      sessionPage({
        email: user.email,
        name: displayNameOf(user),
        connection: connection.slug,
        groups: user.groups,
        logoutUrl: `/saml/${connection.slug}/logout`,
      }),
    );
  }

  @Get(':slug/metadata')
  async metadata(@Param('slug') slug: string, @Res() res: Response): Promise<void> {
    const xml = await this.saml.spMetadata(slug);
    res.type('application/samlmetadata+xml').setHeader('Cache-Control', 'public, max-age=300').send(xml);
  }

  @Get(':slug/login')
  async login(
    @Param('slug') slug: string,
    @Query('returnTo') returnTo: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const binding = ensureBrowserBinding(req, res, this.config);
    const message = await this.appSession.start(
      slug,
      typeof returnTo === 'string' ? returnTo : undefined,
      binding,
    );
    sendOutgoing(res, message);
  }

  /** The ACS, behind passport: the guard's strategy runs the ACS pipeline (SamlService.consumeResponse). */
  @Post(':slug/acs')
  @UseGuards(SamlAcsGuard)
  acs(@Param('slug') slug: string, @Req() req: Request, @Res() res: Response): void {
    addLogContext(res, { connection: slug });
    const result = verifiedMessage<AcsSuccess>(req);
    // The IdP's POST is cross-site, so cookies (SameSite=Lax) are absent here: continue with a same-site
    // GET of the login's consumer, where the browser proves it is the one that started the login.
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(HttpStatus.SEE_OTHER, result.continueUrl);
  }

  /** The app session's continue step: the bridge session cookie, then the login's return path. */
  @Get(':slug/continue')
  async continue(
    @Param('slug') slug: string,
    @Query('code') code: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    addLogContext(res, { connection: slug });
    const result = await this.appSession.complete(code, readCookie(req, browserCookieName(this.config)));
    setSessionCookie(res, this.config, result.sessionToken, result.session.expiresAt);
    addLogContext(res, { user: result.user.id, outcome: 'success' });
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(HttpStatus.SEE_OTHER, result.redirectTo);
  }

  /** Single logout on both bindings, behind passport: the guard's strategy runs the SLO pipeline. */
  @Get(':slug/slo')
  @UseGuards(SamlSloGuard)
  sloRedirect(@Req() req: Request, @Res() res: Response): void {
    this.sendSlo(res, verifiedMessage<SloOutcome>(req));
  }

  @Post(':slug/slo')
  @UseGuards(SamlSloGuard)
  sloPost(@Req() req: Request, @Res() res: Response): void {
    this.sendSlo(res, verifiedMessage<SloOutcome>(req));
  }

  @Get(':slug/logout')
  async logout(
    @Param('slug') slug: string,
    @Query('returnTo') returnTo: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const session = await this.sessions.findActive(readCookie(req, sessionCookieName(this.config)));
    this.sendSlo(
      res,
      await this.slo.startLogout(slug, session, typeof returnTo === 'string' ? returnTo : undefined),
    );
  }

  private sendSlo(res: Response, outcome: SloOutcome): void {
    if (outcome.clearSession) clearSessionCookie(res, this.config);
    res.setHeader('Cache-Control', 'no-store');
    if (outcome.kind === 'redirect') res.redirect(HttpStatus.SEE_OTHER, outcome.url);
    else res.type('html').send(messagePage(outcome.title, outcome.message));
  }
}
