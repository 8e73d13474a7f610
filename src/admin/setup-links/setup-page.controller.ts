import {
  Body,
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
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { setAuditActor } from '../../audit/audit-context';
import { ApiError } from '../../common/api-error';
import { Public } from '../../common/public.decorator';
import type { BridgeConfig } from '../../config/bridge-config';
import { BRIDGE_CONFIG } from '../../config/config.module';
import { PRESETS, type Preset } from '../../connections/connection.entity';
import { connectionView, type ConnectionView } from '../../connections/connection.view';
import { ConnectionsService } from '../../connections/connections.service';
import { SpKeysService } from '../../keys/sp-keys.service';
import { sendOutgoing } from '../../saml/login.port';
import { ensureBrowserBinding } from '../../saml/session-cookie';
import { TestLoginConsumer } from '../test-login/test-login.consumer';
import { applyMetadataInput, metadataInput, type UploadedForm } from '../metadata-input';
import { render } from '../../web/html';
import { noticeFor } from '../../web/components/notices';
import { formText, serviceError, type FormBody } from '../console/console-forms';
import { assertSameOrigin } from '../console/console.guard';
import { readSetupCookie, setSetupCookie } from './setup-cookie';
import { ScimTokensService } from '../../scim/scim-tokens.service';
import { scimTokenView } from '../../scim/scim-token.dto';
import { scimTokenCreatedView } from './views/scim-token-created.view';
import { setupPageView } from './views/setup-page.view';
import { SetupPageFilter } from './setup-page.filter';
import { ResolvedSetupLink, SetupAction, SetupLinksService } from './setup-links.service';

const NOTICES: Record<string, string> = {
  metadata: 'Thank you: your IdP metadata is saved. Run a test login to check the whole setup.',
};

/**
 * The customer's setup pages. The link `/setup/{token}` is exchanged for an HttpOnly cookie and a redirect
 * to the token-free `/setup`; every request then resolves the token to its one connection (refused once
 * the link expired or was revoked). Forms carry a CSRF token derived from the link token, and the id of
 * the connection they were rendered for (checked against the link), and must come from this origin. A link can only replace this
 * connection's IdP metadata, start test logins and create SCIM tokens for the directory: nothing else.
 */
@ApiExcludeController()
@Public()
@UseFilters(SetupPageFilter)
@Controller('setup')
export class SetupPageController {
  private readonly origin: string;

  constructor(
    private readonly links: SetupLinksService,
    private readonly connections: ConnectionsService,
    private readonly spKeys: SpKeysService,
    private readonly testLogins: TestLoginConsumer,
    private readonly scimTokens: ScimTokensService,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {
    this.origin = new URL(config.baseUrl).origin;
  }

  private send(res: Response, html: string, status = 200): void {
    res.status(status).setHeader('Cache-Control', 'no-store').type('html').send(html);
  }

  /** The link of this browser (from its cookie), refused when missing, unknown, expired or revoked. */
  private async current(
    req: Request,
    action: SetupAction,
  ): Promise<{ token: string; resolved: ResolvedSetupLink }> {
    const token = readSetupCookie(req, this.config);
    const resolved = await this.links.resolve(token, action);
    setAuditActor(resolved.actor);
    return { token: token as string, resolved };
  }

  /** A form post: same origin, a live link, its CSRF token, and the connection the form was shown for. */
  private async forPost(req: Request, body: FormBody, action: SetupAction): Promise<ResolvedSetupLink> {
    assertSameOrigin(req, this.origin);
    const { token, resolved } = await this.current(req, action);
    if (!this.links.checkCsrf(token, body?._csrf)) {
      throw new ApiError(
        HttpStatus.FORBIDDEN,
        'csrf_token_invalid',
        'This form is not valid for your setup link (it is out of date or came from elsewhere). Reload the page and try again.',
      );
    }
    if (formText(body, 'connectionId', 64) !== resolved.connection.id) {
      throw new ApiError(
        HttpStatus.FORBIDDEN,
        'setup_link_wrong_connection',
        'This form is for another connection than your setup link. Reload the setup page and try again.',
      );
    }
    return resolved;
  }

  @Get()
  async page(
    @Req() req: Request,
    @Res() res: Response,
    @Query('vendor') vendor: unknown,
    @Query('notice') notice: unknown,
  ): Promise<void> {
    const { token, resolved } = await this.current(req, 'view');
    this.send(
      res,
      await this.render(token, resolved, {
        vendor:
          typeof vendor === 'string' && (PRESETS as readonly string[]).includes(vendor)
            ? (vendor as Preset)
            : undefined,
        notice: noticeFor(NOTICES, notice),
      }),
    );
  }

  @Get('sp-certificate.pem')
  async certificate(@Req() req: Request, @Res() res: Response): Promise<void> {
    const { resolved } = await this.current(req, 'certificate');
    const current = (await this.spKeys.list(resolved.connection.id)).find((k) => k.status === 'current');
    if (!current) throw ApiError.notFound('sp_key_missing', 'This connection has no current SP key.');
    res
      .setHeader('Cache-Control', 'no-store')
      .setHeader(
        'Content-Disposition',
        `attachment; filename="${resolved.connection.slug}-sp-certificate.pem"`,
      )
      .type('application/x-pem-file')
      .send(current.certificatePem);
  }

  @Post('metadata')
  async metadata(@Req() req: UploadedForm, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const resolved = await this.forPost(req, body, 'metadata');
    const input = metadataInput(req, body);
    try {
      // Audited by ConnectionsService (connection.updated) with this link as the actor.
      await applyMetadataInput(this.connections, resolved.connection.id, input);
    } catch (err) {
      const e = serviceError(err);
      const token = readSetupCookie(req, this.config) as string;
      this.send(
        res,
        await this.render(token, resolved, {
          error: e.message,
          metadataError: e.message,
          values: { metadataXml: input.pasted, metadataUrl: input.url },
        }),
        e.status,
      );
      return;
    }
    res.redirect(HttpStatus.SEE_OTHER, '/setup?notice=metadata#status');
  }

  @Post('test-login')
  async testLogin(@Req() req: Request, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const resolved = await this.forPost(req, body, 'test_login');
    const binding = ensureBrowserBinding(req, res, this.config);
    const outgoing = await this.testLogins.start(resolved.connection.slug, binding, '/setup');
    await this.links.recordTestLogin(resolved);
    sendOutgoing(res, outgoing);
  }

  /** A SCIM token for the customer's directory provisioning (shown once; audited with the link as actor). */
  @Post('scim-tokens')
  async scimToken(@Req() req: Request, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const resolved = await this.forPost(req, body, 'scim_token');
    const { token, scimBaseUrl } = await this.scimTokens.create(resolved.connection.id, {
      description: formText(body, 'description', 200) ?? 'Created on the setup page',
    });
    this.send(
      res,
      render(scimTokenCreatedView({ connectionName: resolved.connection.name, token, scimBaseUrl })),
      HttpStatus.CREATED,
    );
  }

  /** The link itself: exchanged for the setup cookie, then a redirect to the token-free page. */
  @Get(':token')
  async open(@Param('token') token: string, @Res() res: Response): Promise<void> {
    const resolved = await this.links.resolve(token, 'open');
    setAuditActor(resolved.actor);
    await this.links.markOpened(resolved);
    setSetupCookie(res, this.config, token);
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(HttpStatus.SEE_OTHER, '/setup');
  }

  private async render(
    token: string,
    resolved: ResolvedSetupLink,
    opts: {
      vendor?: Preset;
      notice?: string;
      error?: string;
      metadataError?: string;
      values?: { metadataXml?: string; metadataUrl?: string };
    },
  ): Promise<string> {
    // Re-read: the page shows the connection as it is now (e.g. right after a metadata change).
    const c: ConnectionView = connectionView(
      await this.connections.get(resolved.connection.id),
      this.config.baseUrl,
    );
    const [keys, scimTokens] = await Promise.all([this.spKeys.list(c.id), this.scimTokens.list(c.id)]);
    return render(
      setupPageView({
        connection: c,
        linkExpiresAt: resolved.link.expiresAt,
        spFingerprint: keys.find((k) => k.status === 'current')?.fingerprint,
        scimTokens: scimTokens.map(scimTokenView),
        csrfToken: this.links.csrfToken(token),
        vendor: opts.vendor ?? (c.preset as Preset),
        notice: opts.notice,
        error: opts.error,
        metadataError: opts.metadataError,
        values: opts.values,
      }),
    );
  }
}
