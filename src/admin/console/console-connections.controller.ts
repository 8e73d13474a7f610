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
import { decodeXmlBytes, XmlSafetyError } from '../../common/xml-safety';
import type { BridgeConfig } from '../../config/bridge-config';
import { BRIDGE_CONFIG } from '../../config/config.module';
import { acrMapOf } from '../../connections/connection-presets';
import { type Preset, PRESETS, SIGNATURE_REQUIREMENTS } from '../../connections/connection.entity';
import type { ConnectionEntity } from '../../connections/connection.entity';
import { connectionView, ConnectionView } from '../../connections/connection.view';
import { ConnectionsService } from '../../connections/connections.service';
import { CreateConnectionDto, UpdateConnectionDto } from '../../connections/dto/connection.dto';
import { SpKeysService, SpKeyView } from '../../keys/sp-keys.service';
import { sendOutgoing } from '../../saml/login.port';
import { TestLoginConsumer } from '../test-login/test-login.consumer';
import { ensureBrowserBinding } from '../../saml/session-cookie';
import { UsersService } from '../../users/users.service';
import { ScimTokensService } from '../../scim/scim-tokens.service';
import { scimTokenView } from '../../scim/scim-token.dto';
import { CreateSetupLinkDto } from '../setup-links/setup-link.dto';
import { directorySyncSection } from './views/directory-sync/directory-sync.view';
import { applyMetadataInput, metadataInput, type UploadedForm as BaseUploadedForm } from '../metadata-input';
import {
  certificateBadges,
  certificateTable,
  metadataBadge,
  metadataForm,
} from '../../web/components/metadata';
import { trusted } from '../../web/html';
import {
  DEFAULT_EXPIRY_HOURS,
  MAX_EXPIRY_HOURS,
  SetupLinksService,
} from '../setup-links/setup-links.service';
import {
  formFlag,
  formInt,
  formJson,
  formList,
  formText,
  serviceError,
  validateForm,
  type FormBody,
} from './console-forms';
import {
  actionButton,
  checkbox,
  consolePage,
  copyable,
  csrfField,
  date,
  FieldErrors,
  h,
  selectField,
  table,
  textArea,
  textField,
} from './console-html';
import type { ConsoleSession } from './console-sessions.service';
import type { ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';

/** An uploaded file, as multer (memory storage) hands it over. */
type UploadedForm = ConsoleRequest & BaseUploadedForm;

const NOTICES: Record<string, string> = {
  created: 'Connection created. Give the customer the details below.',
  saved: 'Changes saved.',
  metadata: 'Metadata replaced.',
  refreshed: 'Metadata refreshed from its URL.',
  'refresh-failed': 'The metadata refresh failed; the last good metadata stays in use (see the error below).',
  deleted: 'Connection deleted.',
  'sp-next':
    'Next SP key created: it is in the SP metadata now. Ask the customer to refresh it at their IdP, then promote it.',
  'sp-promoted': 'The next SP key is now current; the previous one still decrypts for 24 hours.',
  'link-revoked': 'Setup link revoked: it no longer opens, and pages already open refuse every action.',
  'scim-token-revoked': 'SCIM token revoked: the directory gets 401 with it from now on.',
};

const PRESET_LABELS: Record<Preset, string> = {
  okta: 'Okta',
  entra: 'Microsoft Entra ID',
  adfs: 'AD FS',
  google: 'Google Workspace',
  generic: 'Other SAML 2.0 IdP',
};

/** Service errors about the metadata are shown on the metadata fieldset. */
function metadataField(code: string): string | undefined {
  return code.startsWith('metadata_') ? 'metadata' : undefined;
}

function chrome(session: ConsoleSession) {
  return { adminName: session.admin.name, csrfToken: session.csrfToken };
}

/** The console's events page, filtered to a connection and event types. */
function eventsLink(connectionId: string, types: string): string {
  return h(`/admin/events?${new URLSearchParams({ connection: connectionId, types }).toString()}`);
}

function notice(code: unknown): string | undefined {
  return typeof code === 'string' ? NOTICES[code] : undefined;
}

interface ConnectionFormValues {
  [field: string]: string | undefined;
}

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

  private send(res: Response, html: string, status = 200): void {
    res.status(status).setHeader('Cache-Control', 'no-store').type('html').send(html);
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
    const session = req.consoleSession as ConsoleSession;
    const search = typeof q === 'string' ? q.trim().slice(0, 200) : '';
    const { items, total } = await this.connections.list({ q: search || undefined, limit: 200, offset: 0 });
    const lastLogins = await this.users.lastLoginByConnection();
    const rows = items.map((entity) => {
      const c = this.view(entity);
      return [
        `<a href="/admin/connections/${h(c.id)}">${h(c.name)}</a><br><code>${h(c.slug)}</code>`,
        c.enabled ? 'enabled' : '<span class="badge warn">disabled</span>',
        `${metadataBadge(c)}<br><span class="muted">updated ${date(c.metadata.updatedAt)}</span>` +
          (c.metadata.lastRefreshError
            ? `<br><span class="field-error">${h(c.metadata.lastRefreshError.message)}</span>` +
              ` <a href="${eventsLink(c.id, 'connection.metadata_refresh_failed')}">events</a>`
            : ''),
        certificateBadges(c) +
          (c.idp.certificates.some((x) => x.expired || x.expiresSoon)
            ? ` <a href="${eventsLink(c.id, 'connection.certificate_expiring,connection.certificate_expired')}">events</a>`
            : ''),
        date(lastLogins.get(c.id) ?? null),
        c.domains.map((d) => `<code>${h(d)}</code>`).join(' ') || '<span class="muted">none</span>',
      ];
    });
    this.send(
      res,
      consolePage(
        { title: 'Connections', session: chrome(session), active: 'connections', notice: notice(code) },
        `<p><a href="/admin/connections/new">Add a connection</a></p>` +
          `<form method="get" action="/admin/connections" role="search">` +
          textField({ name: 'q', label: 'Filter by name, slug or domain', type: 'search', value: search }) +
          `<button type="submit">Filter</button></form>` +
          table(
            `${total} connection(s)`,
            ['Connection', 'State', 'Metadata', 'IdP certificates', 'Last login', 'Verified domains'],
            rows,
            search ? 'No connection matches this filter.' : 'No connections yet: add the first one.',
          ),
      ),
    );
  }

  @Get('new')
  newForm(@Req() req: ConsoleRequest, @Res() res: Response): void {
    this.send(res, this.renderCreate(req.consoleSession as ConsoleSession, {}, {}));
  }

  @Post()
  async create(@Req() req: UploadedForm, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const values: ConnectionFormValues = {
      name: formText(body, 'name', 200),
      slug: formText(body, 'slug', 64),
      preset: formText(body, 'preset', 20),
      domains: formText(body, 'domains', 10_000),
      metadataUrl: formText(body, 'metadataUrl', 2048),
      metadataXml: formText(body, 'metadataXml'),
      metadataEntityId: formText(body, 'metadataEntityId', 1024),
    };
    const errors: FieldErrors = {};
    let metadataXml = values.metadataXml;
    if (req.file && req.file.buffer.length > 0) {
      if (metadataXml || values.metadataUrl) {
        errors.metadata = 'Give the metadata one way only: a file, pasted XML or a URL.';
      } else {
        try {
          metadataXml = decodeXmlBytes(req.file.buffer);
        } catch (err) {
          if (!(err instanceof XmlSafetyError)) throw err;
          errors.metadata =
            'The uploaded file is not UTF-8 or UTF-16 text: upload the XML metadata document.';
        }
      }
    }
    const { dto, errors: invalid } = await validateForm(CreateConnectionDto, {
      name: values.name ?? '',
      slug: values.slug ?? '',
      preset: values.preset,
      domains: formList(body, 'domains') ?? [],
      metadataXml,
      metadataUrl: values.metadataUrl,
      metadataEntityId: values.metadataEntityId,
    });
    Object.assign(errors, invalid);
    if (Object.keys(errors).length === 0) {
      try {
        const created = await this.connections.create(dto);
        res.redirect(HttpStatus.SEE_OTHER, `/admin/connections/${created.id}?notice=created`);
        return;
      } catch (err) {
        const e = serviceError(err, { slug_taken: 'slug', invalid_domain: 'domains' }, metadataField);
        if (e.field) errors[e.field] = e.message;
        this.send(res, this.renderCreate(session, values, errors, e.field ? undefined : e.message), e.status);
        return;
      }
    }
    this.send(res, this.renderCreate(session, values, errors), HttpStatus.BAD_REQUEST);
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
      await this.renderDetails(req.consoleSession as ConsoleSession, entity, {}, {}, notice(code)),
    );
  }

  @Post(':id')
  async update(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: ConsoleRequest,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const entity = await this.connections.get(id);
    const preset = formText(body, 'preset', 20);
    const presetChanged = preset !== undefined && preset !== entity.preset;
    const options: Record<string, unknown> = {
      requiredSignature: formText(body, 'requiredSignature', 20),
      signAuthnRequests: formFlag(body, 'signAuthnRequests'),
      clockSkewSeconds: formInt(body, 'clockSkewSeconds'),
      forceAuthn: formFlag(body, 'forceAuthn'),
      allowSha1: formFlag(body, 'allowSha1'),
      authnRequestBinding: formText(body, 'authnRequestBinding', 20),
      subjectSource: formText(body, 'subjectSource', 20),
      idpInitiatedTarget: formText(body, 'idpInitiatedTarget', 2048),
      adminGroups: formList(body, 'adminGroups') ?? [],
      acrMap: formJson(body, 'acrMap'),
    };
    if (presetChanged) {
      // A new preset brings its own defaults: only the options the admin changed on this form override them.
      const current = entity.options as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(options))
        if (JSON.stringify(v) === JSON.stringify(current[k])) delete options[k];
    }
    const plain = {
      name: formText(body, 'name', 200) ?? '',
      enabled: formFlag(body, 'enabled'),
      allowIdpInitiated: formFlag(body, 'allowIdpInitiated'),
      domains: formList(body, 'domains') ?? [],
      preset,
      options,
    };
    const { dto, errors } = await validateForm(UpdateConnectionDto, plain);
    const values = this.bodyValues(body);
    if (Object.keys(errors).length > 0) {
      this.send(
        res,
        await this.renderDetails(
          session,
          entity,
          values,
          errors,
          undefined,
          'The settings were not saved: fix the fields marked below.',
        ),
        HttpStatus.BAD_REQUEST,
      );
      return;
    }
    try {
      await this.connections.update(id, dto);
    } catch (err) {
      const e = serviceError(err, { invalid_domain: 'domains' });
      this.send(
        res,
        await this.renderDetails(
          session,
          entity,
          values,
          e.field ? { [e.field]: e.message } : {},
          undefined,
          e.message,
        ),
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
    const session = req.consoleSession as ConsoleSession;
    const entity = await this.connections.get(id);
    const input = metadataInput(req, body);
    try {
      await applyMetadataInput(this.connections, id, input);
    } catch (err) {
      const e = serviceError(err);
      this.send(
        res,
        await this.renderDetails(
          session,
          entity,
          { metadataUrl: input.url, metadataXml: input.pasted },
          { metadata: e.message },
          undefined,
          e.message,
        ),
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
    const session = req.consoleSession as ConsoleSession;
    const entity = await this.connections.get(id);
    const { dto, errors } = await validateForm(CreateSetupLinkDto, {
      expiresInHours: formInt(body, 'expiresInHours'),
      note: formText(body, 'note', 500),
    });
    if (Object.keys(errors).length > 0) {
      this.send(
        res,
        await this.renderDetails(
          session,
          entity,
          this.bodyValues(body),
          errors,
          undefined,
          'The setup link was not created: fix the fields marked below.',
        ),
        HttpStatus.BAD_REQUEST,
      );
      return;
    }
    const { link, url } = await this.setupLinks.create(id, dto);
    const base = `/admin/connections/${h(id)}`;
    this.send(
      res,
      consolePage(
        { title: `Setup link for ${entity.name}`, session: chrome(session), active: 'connections' },
        `<section class="secret" aria-labelledby="link-heading"><h2 id="link-heading">Setup link — shown only now</h2>` +
          `<p>Send it to the customer's IT admin. It opens the setup page of this connection only, until ${date(link.expiresAt)}. ` +
          `The bridge stores only a hash: it cannot show this link again. If it is lost, revoke it and create another.</p>` +
          copyable('setup-link-url', 'Setup link', url) +
          `</section><p><a href="${base}#setup-links">Back to ${h(entity.name)}</a></p>`,
      ),
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
    const session = req.consoleSession as ConsoleSession;
    const c = await this.connections.get(id);
    this.send(
      res,
      consolePage(
        { title: `Delete ${c.name}?`, session: chrome(session), active: 'connections' },
        `<p>Deleting <strong>${h(c.name)}</strong> (<code>${h(c.slug)}</code>) stops every login through it at once, ` +
          `and removes its SP keys. Users of this connection can no longer sign in. This cannot be undone.</p>` +
          `<form method="post" action="/admin/connections/${h(c.id)}/delete" class="main">${csrfField(session.csrfToken)}` +
          textField({
            name: 'confirmSlug',
            label: `Type the slug (${c.slug}) to confirm`,
            required: true,
            autocomplete: 'off',
          }) +
          `<button type="submit" class="danger">Delete this connection</button> <a href="/admin/connections/${h(c.id)}">Cancel</a></form>`,
      ),
    );
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

  private bodyValues(body: FormBody): ConnectionFormValues {
    const out: ConnectionFormValues = {};
    for (const [k, v] of Object.entries(body ?? {})) {
      if (k === '_csrf') continue;
      out[k] = Array.isArray(v) ? String(v[v.length - 1]) : typeof v === 'string' ? v : undefined;
    }
    return out;
  }

  private renderCreate(
    session: ConsoleSession,
    v: ConnectionFormValues,
    errors: FieldErrors,
    error?: string,
  ): string {
    const summary =
      error ??
      (Object.keys(errors).length
        ? 'The connection was not created: fix the fields marked below.'
        : undefined);
    return consolePage(
      { title: 'Add a connection', session: chrome(session), active: 'connections', error: summary },
      `<form method="post" action="/admin/connections" enctype="multipart/form-data" class="main">${csrfField(session.csrfToken)}` +
        textField({
          name: 'name',
          label: 'Name',
          value: v.name,
          error: errors.name,
          required: true,
          hint: 'For example "Acme Corp (Entra ID)".',
        }) +
        textField({
          name: 'slug',
          label: 'Slug',
          value: v.slug,
          error: errors.slug,
          required: true,
          hint: 'Lower-case letters, digits and hyphens. It is part of the URLs the customer enters at their IdP and cannot change later.',
        }) +
        selectField({
          name: 'preset',
          label: 'Identity provider',
          value: v.preset ?? 'generic',
          options: PRESETS.map((p) => [p, PRESET_LABELS[p]]),
          error: errors.preset,
          hint: 'Sets which signature the bridge requires and how attributes are read.',
        }) +
        textArea({
          name: 'domains',
          label: 'Verified email domains',
          value: v.domains,
          error: errors.domains,
          rows: 2,
          hint: 'One per line, e.g. acme.com. Emails in these domains are marked verified.',
        }) +
        `<fieldset id="metadata"><legend>IdP metadata (one of the three)</legend>` +
        (errors.metadata ? `<p class="field-error" id="metadata-error">${h(errors.metadata)}</p>` : '') +
        `<div class="field"><label for="metadataFile">Upload the metadata file</label>` +
        `<input id="metadataFile" name="metadataFile" type="file" accept=".xml,application/xml,text/xml,application/samlmetadata+xml"></div>` +
        textArea({ name: 'metadataXml', label: 'Or paste the metadata XML', value: v.metadataXml, rows: 5 }) +
        textField({
          name: 'metadataUrl',
          label: 'Or the metadata URL',
          type: 'url',
          value: v.metadataUrl,
          error: errors.metadataUrl,
          hint: 'The bridge fetches it now and refreshes it on a schedule.',
        }) +
        textField({
          name: 'metadataEntityId',
          label: 'Entity ID inside an aggregate (optional)',
          value: v.metadataEntityId,
          error: errors.metadataEntityId,
        }) +
        `</fieldset><button type="submit">Create the connection</button></form>`,
    );
  }

  private async renderDetails(
    session: ConsoleSession,
    entity: ConnectionEntity,
    values: ConnectionFormValues,
    errors: FieldErrors,
    noticeText?: string,
    error?: string,
  ): Promise<string> {
    const c = this.view(entity);
    const [keys, traces, lastLogins, links, scimTokens] = await Promise.all([
      this.spKeys.list(c.id),
      this.traces.list(c.id, { limit: 20 }),
      this.users.lastLoginByConnection(),
      this.setupLinks.list(c.id),
      this.scimTokens.list(c.id),
    ]);
    const val = (name: string, current: string | number | boolean | undefined | null) =>
      values[name] !== undefined
        ? values[name]
        : current === undefined || current === null
          ? ''
          : String(current);
    const flag = (name: string, current: boolean) =>
      values[name] !== undefined ? values[name] === 'true' : current;
    const base = `/admin/connections/${h(c.id)}`;
    const csrf = session.csrfToken;

    const status =
      `<h2 id="status">Status</h2><ul>` +
      `<li>${c.enabled ? 'Enabled: users can sign in.' : '<strong>Disabled</strong>: logins are refused.'}</li>` +
      `<li>${metadataBadge(c)} — last stored ${date(c.metadata.updatedAt)}` +
      (c.metadata.url
        ? `, from <code>${h(c.metadata.url)}</code>; next refresh ${date(c.metadata.nextRefreshAt)}`
        : ', uploaded document') +
      `</li>` +
      (c.metadata.lastRefreshError
        ? `<li class="field-error">Last refresh failed ${date(c.metadata.lastRefreshError.at)}: ${h(c.metadata.lastRefreshError.message)} (<code>${h(c.metadata.lastRefreshError.code)}</code>)</li>`
        : '') +
      `<li>${certificateBadges(c)}</li>` +
      `<li>Last successful login: ${date(lastLogins.get(c.id) ?? null)}</li></ul>`;

    const currentKey = keys.find((k) => k.status === 'current');
    const sp =
      `<h2 id="sp-details">Details for the customer's IdP</h2>` +
      `<p>Give these to the customer's IT admin (or send them the SP metadata URL).</p>` +
      copyable('sp-entity-id', 'SP entity ID', c.sp.entityId) +
      copyable('sp-acs-url', 'ACS URL (HTTP-POST)', c.sp.acsUrl) +
      copyable('sp-slo-url', 'Single logout URL', c.sp.sloUrl) +
      copyable('sp-metadata-url', 'SP metadata URL', c.sp.metadataUrl) +
      (currentKey ? copyable('sp-cert-fingerprint', 'Certificate SHA-256', currentKey.fingerprint) : '') +
      `<p><a href="${base}/sp-certificate.pem" download>Download the SP certificate (PEM)</a> · ` +
      `<a href="${h(c.sp.metadataUrl)}">Open the SP metadata</a></p>`;

    const test =
      `<h2 id="test">Test login</h2><p>Runs a real sign-in at the IdP and shows what the bridge receives and maps. ` +
      `It does not sign anyone in to an app and does not create or update a user.</p>` +
      actionButton(`${base}/test-login`, csrf, 'Run a test login');

    const linkRows = links.map((l) => {
      const v = this.setupLinks.view(l);
      const badge =
        v.status === 'active'
          ? '<span class="badge ok">active</span>'
          : `<span class="badge ${v.status === 'revoked' ? 'bad' : 'warn'}">${v.status}</span>`;
      return [
        badge,
        h(v.note) || '<span class="muted">—</span>',
        `${date(v.createdAt)}<br><span class="muted">by ${h(v.createdBy)}</span>`,
        date(v.expiresAt),
        date(v.lastOpenedAt),
        v.status === 'active'
          ? actionButton(
              `${base}/setup-links/${h(v.id)}/revoke`,
              csrf,
              `Revoke the link${v.note ? ` "${v.note.slice(0, 40)}"` : ''}`,
            )
          : '',
      ];
    });
    const setupLinks =
      `<h2 id="setup-links">Setup links</h2>` +
      `<p>A setup link lets the customer's IT admin set up their side alone: it shows the steps for their IdP with ` +
      `the values above, takes their IdP metadata (file, paste or URL) and runs a test login, for this connection ` +
      `only. It expires, can be revoked, and every use is in the audit log.</p>` +
      table(
        'Setup links of this connection, newest first',
        ['Status', 'Note', 'Created', 'Expires', 'Last opened', ''],
        linkRows,
        'No setup links yet.',
      ) +
      `<form method="post" action="${base}/setup-links" class="main">${csrfField(csrf)}` +
      `<fieldset><legend>Create a setup link</legend>` +
      textField({
        name: 'expiresInHours',
        label: 'Valid for (hours)',
        type: 'number',
        value: values.expiresInHours ?? String(DEFAULT_EXPIRY_HOURS),
        error: errors.expiresInHours,
        attrs: ` min="1" max="${MAX_EXPIRY_HOURS}"`,
        hint: `1 to ${MAX_EXPIRY_HOURS} hours (30 days).`,
      }) +
      textField({
        name: 'note',
        label: 'Note (optional)',
        value: values.note,
        error: errors.note,
        hint: 'For example who you send it to. Shown to admins only.',
      }) +
      `<button type="submit">Create a setup link</button></fieldset></form>`;

    const directorySync = directorySyncSection({
      scimBaseUrl: c.scim.baseUrl,
      match: c.scim.match,
      tokens: scimTokens.map(scimTokenView),
      csrf,
      actions: {
        create: `${base}/scim-tokens`,
        revoke: (tokenId) => `${base}/scim-tokens/${h(tokenId)}/revoke`,
      },
    });

    const options = entity.options;
    const settings =
      `<h2 id="settings">Settings</h2><form method="post" action="${base}" class="main">${csrfField(csrf)}` +
      textField({
        name: 'name',
        label: 'Name',
        value: val('name', c.name),
        error: errors.name,
        required: true,
      }) +
      checkbox({ name: 'enabled', label: 'Enabled (logins allowed)', checked: flag('enabled', c.enabled) }) +
      textArea({
        name: 'domains',
        label: 'Verified email domains',
        value: values.domains ?? c.domains.join('\n'),
        error: errors.domains,
        rows: 2,
        hint: 'One per line.',
      }) +
      selectField({
        name: 'preset',
        label: 'Identity provider preset',
        value: val('preset', c.preset),
        options: PRESETS.map((p) => [p, PRESET_LABELS[p]]),
        error: errors.preset,
        hint: "Changing it resets the signature policy to the new preset's defaults (options you change here still apply).",
      }) +
      selectField({
        name: 'requiredSignature',
        label: 'Required signature',
        value: val('requiredSignature', options.requiredSignature),
        options: SIGNATURE_REQUIREMENTS.map((r) => [
          r,
          r === 'either' ? 'response or assertion' : r === 'both' ? 'response and assertion' : r,
        ]),
        error: errors.requiredSignature,
      }) +
      checkbox({
        name: 'signAuthnRequests',
        label: 'Sign AuthnRequests',
        checked: flag('signAuthnRequests', options.signAuthnRequests),
      }) +
      textField({
        name: 'clockSkewSeconds',
        label: 'Accepted clock skew (seconds)',
        type: 'number',
        value: val('clockSkewSeconds', options.clockSkewSeconds),
        error: errors.clockSkewSeconds,
        attrs: ' min="0" max="600"',
      }) +
      checkbox({
        name: 'forceAuthn',
        label: 'Ask the IdP to re-authenticate on every login',
        checked: flag('forceAuthn', options.forceAuthn),
      }) +
      textArea({
        name: 'acrMap',
        label: 'Step-up: OIDC acr values → SAML authentication context classes (JSON)',
        value: values.acrMap ?? JSON.stringify(acrMapOf(entity), null, 2),
        error: errors.acrMap,
        rows: 6,
        hint: 'A list of {"acr", "classRefs", "comparison", "amr"}, strongest first; [] maps nothing. See the README.',
      }) +
      checkbox({
        name: 'allowSha1',
        label: 'Accept SHA-1 signatures (legacy IdPs only)',
        checked: flag('allowSha1', options.allowSha1),
      }) +
      selectField({
        name: 'authnRequestBinding',
        label: 'AuthnRequest binding',
        value: val('authnRequestBinding', options.authnRequestBinding),
        options: [
          ...(options.authnRequestBinding
            ? []
            : ([['', "The IdP's first advertised binding"]] as Array<[string, string]>)),
          ['HTTP-Redirect', 'HTTP-Redirect'],
          ['HTTP-POST', 'HTTP-POST'],
        ],
        error: errors.authnRequestBinding,
      }) +
      selectField({
        name: 'subjectSource',
        label: 'Stable user id',
        value: val('subjectSource', options.subjectSource),
        options: [
          ...(options.subjectSource ? [] : ([['', "The preset's choice"]] as Array<[string, string]>)),
          ['auto', 'A stable-id attribute, else a persistent NameID'],
          ['nameid', 'The NameID, whatever its format'],
        ],
        error: errors.subjectSource,
      }) +
      checkbox({
        name: 'allowIdpInitiated',
        label: 'Accept IdP-initiated logins',
        checked: flag('allowIdpInitiated', c.allowIdpInitiated),
      }) +
      textField({
        name: 'idpInitiatedTarget',
        label: 'Where IdP-initiated logins land',
        value: val('idpInitiatedTarget', options.idpInitiatedTarget),
        error: errors.idpInitiatedTarget,
        hint: 'A path on this site, such as /welcome.',
      }) +
      textArea({
        name: 'adminGroups',
        label: 'Admin groups (console sign-in through this connection)',
        value: values.adminGroups ?? (options.adminGroups ?? []).join('\n'),
        error: errors.adminGroups,
        rows: 2,
        hint: 'One group per line, as in the groups claim (see a test login). Members may sign in to this console. Empty: nobody.',
      }) +
      `<button type="submit">Save settings</button></form>`;

    const metadata =
      `<h2 id="metadata">IdP metadata</h2>` +
      `<p>Entity ID: <code>${h(c.idp.entityId)}</code></p>` +
      `<p>Single sign-on: ${
        Object.entries(c.idp.ssoUrls)
          .map(([b, u]) => `${h(b)} <code>${h(u)}</code>`)
          .join('<br>') || 'none'
      }</p>` +
      certificateTable(c, 'Signing certificates (all trusted)', 'No signing certificate.') +
      (c.metadata.warnings.length
        ? `<p class="muted">Warnings: ${c.metadata.warnings.map((w) => `<code>${h(w)}</code>`).join(' ')}</p>`
        : '') +
      (c.metadata.url ? actionButton(`${base}/metadata/refresh`, csrf, 'Refresh from the URL now') : '') +
      metadataForm({
        action: `${base}/metadata`,
        hidden: trusted(csrfField(csrf)),
        values: { metadataXml: values.metadataXml, metadataUrl: values.metadataUrl },
        error: errors.metadata,
        legend: 'Replace the metadata (one of the three)',
        submit: 'Replace the metadata',
      });

    const keyRows = keys.map((k: SpKeyView) => [
      h(k.status),
      `<code>${h(k.fingerprint)}</code>`,
      date(k.notAfter),
      date(k.createdAt),
    ]);
    const hasNext = keys.some((k) => k.status === 'next');
    const spKeys =
      `<h2 id="sp-keys">SP keys</h2>` +
      table(
        'Signing and decryption keys of this connection',
        ['Status', 'SHA-256', 'Valid until', 'Created'],
        keyRows,
        'No keys.',
      ) +
      (hasNext
        ? actionButton(`${base}/sp-keys/promote`, csrf, 'Promote the next key (finish the rollover)')
        : actionButton(`${base}/sp-keys/next`, csrf, 'Start a key rollover (create the next key)'));

    const traceRows = traces.map((t) => [
      date(t.createdAt),
      h(t.kind),
      t.outcome === 'success'
        ? '<span class="badge ok">success</span>'
        : '<span class="badge bad">failure</span>',
      (t.reason ? `<code>${h(t.reason)}</code> ` : '') +
        h(t.message) +
        (t.samlMessage || Object.keys(t.detail ?? {}).length
          ? `<details><summary>Details</summary><pre>${h(JSON.stringify(t.detail, null, 2))}</pre>` +
            (t.samlMessage ? `<pre>${h(t.samlMessage)}</pre>` : '') +
            `</details>`
          : ''),
      `<code>${h(t.id)}</code>`,
    ]);
    const traceSection =
      `<h2 id="traces">Recent SSO traces</h2>` +
      table(
        'Newest first: why logins succeeded or failed',
        ['When', 'Step', 'Outcome', 'What happened', 'Trace id'],
        traceRows,
        'No SSO activity yet.',
      );

    return consolePage(
      { title: c.name, session: chrome(session), active: 'connections', notice: noticeText, error },
      `<p class="muted">Slug <code>${h(c.slug)}</code> · preset ${h(PRESET_LABELS[c.preset as Preset] ?? c.preset)} · ` +
        `<a href="#sp-details">SP details</a> · <a href="#test">Test login</a> · <a href="#setup-links">Setup links</a> · <a href="#directory-sync">Directory sync</a> · <a href="#settings">Settings</a> · ` +
        `<a href="#metadata">Metadata</a> · <a href="#sp-keys">SP keys</a> · <a href="#traces">Traces</a></p>` +
        status +
        sp +
        test +
        setupLinks +
        directorySync +
        settings +
        metadata +
        spKeys +
        traceSection +
        `<h2 id="delete">Delete</h2><p><a href="${base}/delete">Delete this connection…</a></p>`,
    );
  }
}
