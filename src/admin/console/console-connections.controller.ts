import {
  Body,
  Controller,
  Get,
  HttpStatus,
  Inject,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { SsoTracesService } from '../../audit/sso-traces.service';
import { ApiError } from '../../common/api-error';
import { Public } from '../../common/public.decorator';
import type { BridgeConfig } from '../../config/bridge-config';
import { BRIDGE_CONFIG } from '../../config/config.module';
import type { ConnectionEntity } from '../../connections/connection.entity';
import { connectionView, ConnectionView } from '../../connections/connection.view';
import { ConnectionsService } from '../../connections/connections.service';
import { SpKeysService } from '../../keys/sp-keys.service';
import { sendOutgoing } from '../../saml/login.port';
import { TestLoginConsumer } from '../test-login/test-login.consumer';
import { ensureBrowserBinding } from '../../saml/session-cookie';
import { UsersService } from '../../users/users.service';
import { ScimTokensService } from '../../scim/scim-tokens.service';
import { scimTokenView } from '../../scim/scim-token.dto';
import { applyMetadataInput, metadataInput, type UploadedForm as BaseUploadedForm } from '../metadata-input';
import type { FieldErrors } from '../../web/components/fields';
import { noticeFor } from '../../web/components/notices';
import { type Html, render } from '../../web/html';
import { SetupLinksService } from '../setup-links/setup-links.service';
import {
  bodyValues,
  CONNECTION_NOTICES,
  type ConnectionFormValues,
  metadataField,
  parseCreateForm,
  parseSetupLinkForm,
  parseUpdateForm,
} from './connection-forms';
import { formText, serviceError, type FormBody } from './console-forms';
import type { ConsoleSession } from './console-sessions.service';
import type { ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';
import { connectionCreateView } from './views/connections/connection-create.view';
import { connectionDeleteView } from './views/connections/connection-delete.view';
import { type ConnectionDetails, connectionDetailsView } from './views/connections/connection-details.view';
import { connectionListView } from './views/connections/connection-list.view';
import { setupLinkCreatedView } from './views/connections/setup-link-created.view';

/** An uploaded file, as multer (memory storage) hands it over. */
type UploadedForm = ConsoleRequest & BaseUploadedForm;

/** The IdP connections pages: list, create, details for the customer, settings, metadata, keys, traces. */
@ApiExcludeController()
@Public()
@UseFilters(ConsolePageFilter)
@Controller('admin/connections')
export class ConsoleConnectionsController {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly spKeys: SpKeysService,
    private readonly traces: SsoTracesService,
    private readonly users: UsersService,
    private readonly testLogins: TestLoginConsumer,
    private readonly setupLinks: SetupLinksService,
    private readonly scimTokens: ScimTokensService,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  private send(res: Response, view: Html, status = 200): void {
    res.status(status).setHeader('Cache-Control', 'no-store').type('html').send(render(view));
  }

  private view(c: ConnectionEntity): ConnectionView {
    return connectionView(c, this.config.baseUrl);
  }

  @Get()
  async list(
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query('q') q: unknown,
    @Query('notice') code: unknown,
  ): Promise<void> {
    const search = typeof q === 'string' ? q.trim().slice(0, 200) : '';
    const { items, total } = await this.connections.list({ q: search || undefined, limit: 200, offset: 0 });
    const lastLogins = await this.users.lastLoginByConnection();
    this.send(
      res,
      connectionListView({
        session: req.consoleSession as ConsoleSession,
        notice: noticeFor(CONNECTION_NOTICES, code),
        search,
        total,
        connections: items.map((entity) => this.view(entity)),
        lastLogins,
      }),
    );
  }

  @Get('new')
  newForm(@Req() req: ConsoleRequest, @Res() res: Response): void {
    this.send(
      res,
      connectionCreateView({ session: req.consoleSession as ConsoleSession, values: {}, errors: {} }),
    );
  }

  @Post()
  async create(@Req() req: UploadedForm, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const { values, dto, errors } = await parseCreateForm(body, req.file);
    if (Object.keys(errors).length > 0) {
      this.send(res, connectionCreateView({ session, values, errors }), HttpStatus.BAD_REQUEST);
      return;
    }
    try {
      const created = await this.connections.create(dto);
      res.redirect(HttpStatus.SEE_OTHER, `/admin/connections/${created.id}?notice=created`);
    } catch (err) {
      const e = serviceError(err, { slug_taken: 'slug', invalid_domain: 'domains' }, metadataField);
      if (e.field) errors[e.field] = e.message;
      this.send(
        res,
        connectionCreateView({ session, values, errors, error: e.field ? undefined : e.message }),
        e.status,
      );
    }
  }

  @Get(':id')
  async details(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query('notice') code: unknown,
  ): Promise<void> {
    const entity = await this.connections.get(id);
    this.send(
      res,
      await this.renderDetails(req, entity, {}, {}, { notice: noticeFor(CONNECTION_NOTICES, code) }),
    );
  }

  @Post(':id')
  async update(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: ConsoleRequest,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const entity = await this.connections.get(id);
    const { dto, errors } = await parseUpdateForm(body, entity);
    const values = bodyValues(body);
    if (Object.keys(errors).length > 0) {
      const error = 'The settings were not saved: fix the fields marked below.';
      this.send(
        res,
        await this.renderDetails(req, entity, values, errors, { error }),
        HttpStatus.BAD_REQUEST,
      );
      return;
    }
    try {
      await this.connections.update(id, dto);
    } catch (err) {
      const e = serviceError(err, { invalid_domain: 'domains' });
      const fieldErrors = e.field ? { [e.field]: e.message } : {};
      this.send(
        res,
        await this.renderDetails(req, entity, values, fieldErrors, { error: e.message }),
        e.status,
      );
      return;
    }
    res.redirect(HttpStatus.SEE_OTHER, `/admin/connections/${id}?notice=saved#settings`);
  }

  @Post(':id/metadata')
  async replaceMetadata(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: UploadedForm,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const entity = await this.connections.get(id);
    const input = metadataInput(req, body);
    try {
      await applyMetadataInput(this.connections, id, input);
    } catch (err) {
      const e = serviceError(err);
      const values = { metadataUrl: input.url, metadataXml: input.pasted };
      this.send(
        res,
        await this.renderDetails(req, entity, values, { metadata: e.message }, { error: e.message }),
        e.status,
      );
      return;
    }
    res.redirect(HttpStatus.SEE_OTHER, `/admin/connections/${id}?notice=metadata#metadata`);
  }

  @Post(':id/metadata/refresh')
  async refresh(@Param('id', new ParseUUIDPipe()) id: string, @Res() res: Response): Promise<void> {
    const after = await this.connections.refreshNow(id);
    const ok = after.lastRefreshError === null;
    res.redirect(
      HttpStatus.SEE_OTHER,
      `/admin/connections/${id}?notice=${ok ? 'refreshed' : 'refresh-failed'}#metadata`,
    );
  }

  @Get(':id/sp-certificate.pem')
  async certificate(@Param('id', new ParseUUIDPipe()) id: string, @Res() res: Response): Promise<void> {
    const entity = await this.connections.get(id);
    const keys = await this.spKeys.list(id);
    const current = keys.find((k) => k.status === 'current');
    if (!current) throw ApiError.notFound('sp_key_missing', 'This connection has no current SP key.');
    res
      .setHeader('Cache-Control', 'no-store')
      .setHeader('Content-Disposition', `attachment; filename="${entity.slug}-sp-certificate.pem"`)
      .type('application/x-pem-file')
      .send(current.certificatePem);
  }

  @Post(':id/test-login')
  async testLogin(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
  ): Promise<void> {
    const entity = await this.connections.get(id);
    const binding = ensureBrowserBinding(req, res, this.config);
    sendOutgoing(res, await this.testLogins.start(entity.slug, binding, `/admin/connections/${id}`));
  }

  @Post(':id/setup-links')
  async createSetupLink(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: ConsoleRequest,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const entity = await this.connections.get(id);
    const { dto, errors } = await parseSetupLinkForm(body);
    if (Object.keys(errors).length > 0) {
      const error = 'The setup link was not created: fix the fields marked below.';
      const page = await this.renderDetails(req, entity, bodyValues(body), errors, { error });
      this.send(res, page, HttpStatus.BAD_REQUEST);
      return;
    }
    const { link, url } = await this.setupLinks.create(id, dto);
    const session = req.consoleSession as ConsoleSession;
    this.send(
      res,
      setupLinkCreatedView({ session, connection: entity, url, expiresAt: link.expiresAt }),
      HttpStatus.CREATED,
    );
  }

  @Post(':id/setup-links/:linkId/revoke')
  async revokeSetupLink(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('linkId', new ParseUUIDPipe()) linkId: string,
    @Res() res: Response,
  ): Promise<void> {
    await this.setupLinks.revoke(id, linkId);
    res.redirect(HttpStatus.SEE_OTHER, `/admin/connections/${id}?notice=link-revoked#setup-links`);
  }

  @Post(':id/sp-keys/next')
  async spKeyNext(@Param('id', new ParseUUIDPipe()) id: string, @Res() res: Response): Promise<void> {
    const entity = await this.connections.get(id);
    await this.spKeys.addNext(id, entity.slug);
    res.redirect(HttpStatus.SEE_OTHER, `/admin/connections/${id}?notice=sp-next#sp-keys`);
  }

  @Post(':id/sp-keys/promote')
  async spKeyPromote(@Param('id', new ParseUUIDPipe()) id: string, @Res() res: Response): Promise<void> {
    await this.connections.get(id);
    await this.spKeys.promote(id);
    res.redirect(HttpStatus.SEE_OTHER, `/admin/connections/${id}?notice=sp-promoted#sp-keys`);
  }

  @Get(':id/delete')
  async confirmDelete(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
  ): Promise<void> {
    const c = await this.connections.get(id);
    this.send(res, connectionDeleteView(req.consoleSession as ConsoleSession, c));
  }

  @Post(':id/delete')
  async remove(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const c = await this.connections.get(id);
    if (formText(body, 'confirmSlug', 64) !== c.slug) {
      throw ApiError.badRequest(
        'confirmation_mismatch',
        `The connection was not deleted: type its slug "${c.slug}" exactly to confirm.`,
      );
    }
    await this.connections.remove(id);
    res.redirect(HttpStatus.SEE_OTHER, '/admin/connections?notice=deleted');
  }

  /** The details page, with what the admin typed and the problems when a form on it was refused. */
  private async renderDetails(
    req: ConsoleRequest,
    entity: ConnectionEntity,
    values: ConnectionFormValues,
    errors: FieldErrors,
    messages: { notice?: string; error?: string },
  ): Promise<Html> {
    const c = this.view(entity);
    const [keys, traces, lastLogins, links, scimTokens] = await Promise.all([
      this.spKeys.list(c.id),
      this.traces.list(c.id, { limit: 20 }),
      this.users.lastLoginByConnection(),
      this.setupLinks.list(c.id),
      this.scimTokens.list(c.id),
    ]);
    const details: ConnectionDetails = {
      entity,
      c,
      keys,
      traces,
      lastLogin: lastLogins.get(c.id) ?? null,
      links: links.map((l) => this.setupLinks.view(l)),
      scimTokens: scimTokens.map(scimTokenView),
    };
    const session = req.consoleSession as ConsoleSession;
    return connectionDetailsView({ session, details, values, errors, ...messages });
  }
}
