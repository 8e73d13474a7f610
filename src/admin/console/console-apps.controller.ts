import { Body, Controller, Get, HttpStatus, Param, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiError } from '../../common/api-error';
import { Public } from '../../common/public.decorator';
import { CreateClientDto, UpdateClientDto } from '../../oidc/oidc-client.dto';
import { AUTH_METHODS, GRANT_TYPES, type OidcClientEntity } from '../../oidc/oidc-client.entity';
import { OidcClientsService } from '../../oidc/oidc-clients.service';
import { OidcLogoutService, type BackchannelDeliveryState } from '../../oidc/oidc-logout.service';
import { formList, formText, serviceError, validateForm, type FormBody } from './console-forms';
import {
  actionButton,
  consolePage,
  copyable,
  csrfField,
  date,
  type FieldErrors,
  h,
  selectField,
  table,
  textArea,
  textField,
} from './console-html';
import type { ConsoleSession } from './console-sessions.service';
import type { ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';

const NOTICES: Record<string, string> = {
  saved: 'Changes saved.',
  deleted: 'App deleted.',
};

const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

type Values = Record<string, string | undefined>;

function chrome(session: ConsoleSession) {
  return { adminName: session.admin.name, csrfToken: session.csrfToken };
}

function clientId(raw: string): string {
  if (!CLIENT_ID.test(raw))
    throw ApiError.notFound('client_not_found', 'There is no app with this client_id.');
  return raw;
}

/** The usual grant combinations, plus the app's own if it is another (so that editing keeps it). */
function grantOptions(current?: string): Array<[string, string]> {
  const options: Array<[string, string]> = [
    ['authorization_code,refresh_token', 'Sign users in (authorization code + refresh tokens)'],
    ['authorization_code', 'Sign users in, no refresh tokens'],
    ['client_credentials', 'Service app (client credentials only)'],
  ];
  if (current && !options.some(([v]) => v === current))
    options.push([current, current.split(',').join(' + ')]);
  return options;
}

const URI_FIELDS: Record<string, string> = {
  invalid_redirect_uri: 'redirectUris',
  invalid_grant_types: 'grantTypes',
  outbound_destination_refused: 'backchannelLogoutUri',
};

const DELIVERY_RESULTS: Record<BackchannelDeliveryState['result'], string> = {
  delivered: 'delivered',
  retrying: 'failed, will retry',
  failed: 'failed, no retry left',
  queued: 'queued',
  sending: 'being sent',
};

/** The app's latest back-channel logout delivery (every value escaped). */
function deliverySection(client: OidcClientEntity, d: BackchannelDeliveryState | undefined): string {
  if (!client.backchannelLogoutUri && !d) return '';
  const body = d
    ? `<p>Last delivery: <strong>${h(DELIVERY_RESULTS[d.result])}</strong>` +
      (d.lastAttemptAt ? ` at ${date(d.lastAttemptAt)}` : '') +
      ` · attempts ${h(String(d.attempts))}` +
      (d.cause ? ` · cause <code>${h(d.cause)}</code>` : '') +
      (d.pending ? ` · ${h(String(d.pending))} waiting for a retry` : '') +
      `</p>` +
      (d.error ? `<p class="muted">${h(d.error)}</p>` : '')
    : '<p class="muted">No back-channel logout has been sent to this app yet.</p>';
  return `<h2>Back-channel logout</h2>${body}`;
}

/** Apps (OIDC clients): list, create (secret shown once), edit, rotate the secret, delete. */
@ApiExcludeController()
@Public()
@UseFilters(ConsolePageFilter)
@Controller('admin/apps')
export class ConsoleAppsController {
  constructor(
    private readonly clients: OidcClientsService,
    private readonly logout: OidcLogoutService,
  ) {}

  private send(res: Response, html: string, status = 200): void {
    res.status(status).setHeader('Cache-Control', 'no-store').type('html').send(html);
  }

  @Get()
  async list(
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query('notice') code: unknown,
  ): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const [apps, deliveries] = await Promise.all([this.clients.list(), this.logout.deliveryStates()]);
    const rows = apps.map((c) => {
      const d = deliveries.get(c.clientId);
      return [
        `<a href="/admin/apps/${h(c.clientId)}">${h(c.name)}</a>`,
        `<code>${h(c.clientId)}</code>`,
        c.redirectUris.map((u) => `<code>${h(u)}</code>`).join('<br>') || '<span class="muted">none</span>',
        h(c.tokenEndpointAuthMethod),
        d
          ? `${h(DELIVERY_RESULTS[d.result])}${d.cause ? ` (<code>${h(d.cause)}</code>)` : ''}`
          : '<span class="muted">—</span>',
        date(c.createdAt),
      ];
    });
    this.send(
      res,
      consolePage(
        {
          title: 'Apps',
          session: chrome(session),
          active: 'apps',
          notice: typeof code === 'string' ? NOTICES[code] : undefined,
        },
        `<p>Internal apps sign users in with OpenID Connect against this bridge. <a href="/admin/apps/new">Register an app</a></p>` +
          table(
            `${apps.length} app(s)`,
            ['App', 'Client ID', 'Redirect URIs', 'Authentication', 'Last back-channel logout', 'Created'],
            rows,
            'No apps yet.',
          ),
      ),
    );
  }

  @Get('new')
  newForm(@Req() req: ConsoleRequest, @Res() res: Response): void {
    this.send(res, this.renderForm(req.consoleSession as ConsoleSession, undefined, {}, {}));
  }

  @Post()
  async create(@Req() req: ConsoleRequest, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const values = this.values(body);
    const { dto, errors } = await validateForm(CreateClientDto, this.plain(body, true));
    if (Object.keys(errors).length === 0) {
      try {
        const { client, clientSecret } = await this.clients.create(dto);
        this.send(
          res,
          this.renderDetails(session, client, clientSecret, 'App registered.'),
          HttpStatus.CREATED,
        );
        return;
      } catch (err) {
        const e = serviceError(err, URI_FIELDS);
        this.send(
          res,
          this.renderForm(session, undefined, values, e.field ? { [e.field]: e.message } : {}, e.message),
          e.status,
        );
        return;
      }
    }
    this.send(res, this.renderForm(session, undefined, values, errors), HttpStatus.BAD_REQUEST);
  }

  @Get(':clientId')
  async details(
    @Param('clientId') raw: string,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query('notice') code: unknown,
  ): Promise<void> {
    const client = await this.clients.get(clientId(raw));
    const delivery = (await this.logout.deliveryStates([client.clientId])).get(client.clientId);
    this.send(
      res,
      this.renderDetails(
        req.consoleSession as ConsoleSession,
        client,
        undefined,
        typeof code === 'string' ? NOTICES[code] : undefined,
        delivery,
      ),
    );
  }

  @Post(':clientId')
  async update(
    @Param('clientId') raw: string,
    @Req() req: ConsoleRequest,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const client = await this.clients.get(clientId(raw));
    const values = this.values(body);
    const { dto, errors } = await validateForm(UpdateClientDto, this.plain(body, false));
    if (Object.keys(errors).length > 0) {
      this.send(res, this.renderForm(session, client, values, errors), HttpStatus.BAD_REQUEST);
      return;
    }
    try {
      const { clientSecret } = await this.clients.update(client.clientId, dto);
      if (clientSecret) {
        // Switching to a secret-based authentication method creates the first secret: show it now.
        this.send(
          res,
          this.renderDetails(
            session,
            await this.clients.get(client.clientId),
            clientSecret,
            'Changes saved.',
          ),
        );
        return;
      }
    } catch (err) {
      const e = serviceError(err, URI_FIELDS);
      this.send(
        res,
        this.renderForm(session, client, values, e.field ? { [e.field]: e.message } : {}, e.message),
        e.status,
      );
      return;
    }
    res.redirect(HttpStatus.SEE_OTHER, `/admin/apps/${client.clientId}?notice=saved`);
  }

  @Post(':clientId/rotate-secret')
  async rotate(
    @Param('clientId') raw: string,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
  ): Promise<void> {
    const { client, clientSecret } = await this.clients.rotateSecret(clientId(raw));
    this.send(
      res,
      this.renderDetails(
        req.consoleSession as ConsoleSession,
        client,
        clientSecret,
        'New secret created: the old one no longer works.',
      ),
    );
  }

  @Get(':clientId/delete')
  async confirmDelete(
    @Param('clientId') raw: string,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
  ): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const client = await this.clients.get(clientId(raw));
    this.send(
      res,
      consolePage(
        { title: `Delete ${client.name}?`, session: chrome(session), active: 'apps' },
        `<p>Deleting <strong>${h(client.name)}</strong> (<code>${h(client.clientId)}</code>) stops its sign-ins and token requests at once. This cannot be undone.</p>` +
          `<form method="post" action="/admin/apps/${h(client.clientId)}/delete" class="main">${csrfField(session.csrfToken)}` +
          `<button type="submit" class="danger">Delete this app</button> <a href="/admin/apps/${h(client.clientId)}">Cancel</a></form>`,
      ),
    );
  }

  @Post(':clientId/delete')
  async remove(@Param('clientId') raw: string, @Res() res: Response): Promise<void> {
    await this.clients.remove(clientId(raw));
    res.redirect(HttpStatus.SEE_OTHER, '/admin/apps?notice=deleted');
  }

  private values(body: FormBody): Values {
    return {
      name: formText(body, 'name', 200),
      redirectUris: formText(body, 'redirectUris', 50_000),
      postLogoutRedirectUris: formText(body, 'postLogoutRedirectUris', 50_000),
      backchannelLogoutUri: formText(body, 'backchannelLogoutUri', 2048),
      grantTypes: formText(body, 'grantTypes', 100),
      tokenEndpointAuthMethod: formText(body, 'tokenEndpointAuthMethod', 40),
      allowedConnections: formText(body, 'allowedConnections', 50_000),
    };
  }

  private plain(body: FormBody, creating: boolean): Record<string, unknown> {
    const grants = formText(body, 'grantTypes', 100);
    const allowed = formList(body, 'allowedConnections');
    return {
      name: formText(body, 'name', 200) ?? (creating ? '' : undefined),
      redirectUris: formList(body, 'redirectUris') ?? [],
      postLogoutRedirectUris: formList(body, 'postLogoutRedirectUris') ?? [],
      backchannelLogoutUri: formText(body, 'backchannelLogoutUri', 2048) ?? (creating ? undefined : ''),
      grantTypes: grants ? grants.split(',') : undefined,
      tokenEndpointAuthMethod: formText(body, 'tokenEndpointAuthMethod', 40),
      // Empty means every connection (the service stores null for "all").
      allowedConnections: allowed && allowed.length ? allowed : creating ? undefined : null,
    };
  }

  private renderForm(
    session: ConsoleSession,
    client: OidcClientEntity | undefined,
    v: Values,
    errors: FieldErrors,
    error?: string,
  ): string {
    const summary =
      error ?? (Object.keys(errors).length ? 'Not saved: fix the fields marked below.' : undefined);
    const action = client ? `/admin/apps/${h(client.clientId)}` : '/admin/apps';
    const pick = (name: string, current: string | undefined) => (v[name] !== undefined ? v[name] : current);
    return consolePage(
      {
        title: client ? `Edit ${client.name}` : 'Register an app',
        session: chrome(session),
        active: 'apps',
        error: summary,
      },
      `<form method="post" action="${action}" class="main">${csrfField(session.csrfToken)}` +
        this.fields(client, pick, errors) +
        `<button type="submit">${client ? 'Save changes' : 'Register the app'}</button></form>`,
    );
  }

  private fields(
    client: OidcClientEntity | undefined,
    pick: (name: string, current: string | undefined) => string | undefined,
    errors: FieldErrors,
  ): string {
    return (
      textField({
        name: 'name',
        label: 'Name',
        value: pick('name', client?.name),
        error: errors.name,
        required: true,
      }) +
      textArea({
        name: 'redirectUris',
        label: 'Redirect URIs',
        value: pick('redirectUris', client?.redirectUris.join('\n')),
        error: errors.redirectUris,
        rows: 3,
        hint: 'One per line, matched exactly. https (http only for localhost), no fragment.',
      }) +
      textArea({
        name: 'postLogoutRedirectUris',
        label: 'Post-logout redirect URIs',
        value: pick('postLogoutRedirectUris', client?.postLogoutRedirectUris.join('\n')),
        error: errors.postLogoutRedirectUris,
        rows: 2,
      }) +
      textField({
        name: 'backchannelLogoutUri',
        label: 'Back-channel logout URI (optional)',
        type: 'url',
        value: pick('backchannelLogoutUri', client?.backchannelLogoutUri ?? undefined),
        error: errors.backchannelLogoutUri,
      }) +
      selectField({
        name: 'grantTypes',
        label: 'What the app does',
        value: pick('grantTypes', client?.grantTypes.join(',') ?? 'authorization_code,refresh_token'),
        options: grantOptions(client?.grantTypes.join(',')),
        error: errors.grantTypes,
      }) +
      selectField({
        name: 'tokenEndpointAuthMethod',
        label: 'How the app authenticates to the token endpoint',
        value: pick('tokenEndpointAuthMethod', client?.tokenEndpointAuthMethod ?? 'client_secret_basic'),
        options: AUTH_METHODS.filter(
          (m) => m !== 'private_key_jwt' || client?.tokenEndpointAuthMethod === 'private_key_jwt',
        ).map((m) => [m, m === 'none' ? 'none (public app: PKCE, no secret)' : `${m} (client secret)`]),
        error: errors.tokenEndpointAuthMethod,
        hint: 'Apps using private_key_jwt are registered through the API (they need a JWKS URL).',
      }) +
      textArea({
        name: 'allowedConnections',
        label: 'Allowed connections (slugs)',
        value: pick('allowedConnections', client?.allowedConnections?.join('\n')),
        error: errors.allowedConnections,
        rows: 2,
        hint: 'One per line; empty allows every connection.',
      })
    );
  }

  private renderDetails(
    session: ConsoleSession,
    client: OidcClientEntity,
    secret: string | undefined,
    noticeText: string | undefined,
    delivery?: BackchannelDeliveryState,
  ): string {
    const base = `/admin/apps/${h(client.clientId)}`;
    const secretBox = secret
      ? `<section class="secret" aria-labelledby="secret-heading"><h2 id="secret-heading">Client secret — shown only now</h2>` +
        `<p>Copy it into the app's configuration now. The bridge stores only a hash: it cannot show this secret again. ` +
        `If it is lost, rotate the secret.</p>${copyable('client-secret', 'Client secret', secret)}</section>`
      : '';
    const hasSecret = client.secretHash !== null;
    return consolePage(
      { title: client.name, session: chrome(session), active: 'apps', notice: noticeText },
      secretBox +
        `<h2>Settings for the app</h2>` +
        copyable('client-id', 'Client ID', client.clientId) +
        `<p>Grant types: ${client.grantTypes.map((g) => `<code>${h(g)}</code>`).join(' ')} · authentication <code>${h(client.tokenEndpointAuthMethod)}</code>` +
        (hasSecret ? ' · has a client secret' : '') +
        `</p>` +
        deliverySection(client, delivery) +
        `<h2>Edit</h2><form method="post" action="${base}" class="main">${csrfField(session.csrfToken)}` +
        this.fields(client, (_n, current) => current, {}) +
        `<button type="submit">Save changes</button></form>` +
        (hasSecret
          ? `<h2>Client secret</h2><p>Rotating creates a new secret (shown once) and the old one stops working at once.</p>` +
            actionButton(`${base}/rotate-secret`, session.csrfToken, 'Rotate the secret')
          : '') +
        `<h2>Delete</h2><p><a href="${base}/delete">Delete this app…</a></p>` +
        `<p class="muted">Created ${date(client.createdAt)}. Grant types allowed by the API: ${GRANT_TYPES.join(', ')}.</p>`,
    );
  }
}
