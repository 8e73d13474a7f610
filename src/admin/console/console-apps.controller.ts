import { Body, Controller, Get, HttpStatus, Param, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../../common/public.decorator';
import { CreateClientDto, UpdateClientDto } from '../../oidc/oidc-client.dto';
import type { OidcClientEntity } from '../../oidc/oidc-client.entity';
import { OidcClientsService } from '../../oidc/oidc-clients.service';
import { OidcLogoutService } from '../../oidc/oidc-logout.service';
import type { FieldErrors } from '../../web/components/fields';
import {
  APP_FIELD_OF_REASON,
  appClientId,
  appFormInput,
  appFormValues,
  type AppFormValues,
} from './apps-form';
import { serviceError, validateForm, type FormBody } from './console-forms';
import { sendPage, sessionChrome } from './console-page';
import type { ConsoleSession } from './console-sessions.service';
import type { ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';
import { appDeletePage, appDetailsPage } from './views/apps/app-details.view';
import { appFormPage } from './views/apps/app-form.view';
import { appNotice, appsListPage } from './views/apps/apps-list.view';

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

  @Get()
  async list(
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query('notice') code: unknown,
  ): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const [apps, deliveries] = await Promise.all([this.clients.list(), this.logout.deliveryStates()]);
    sendPage(
      res,
      appsListPage({ session: sessionChrome(session), apps, deliveries, notice: appNotice(code) }),
    );
  }

  @Get('new')
  newForm(@Req() req: ConsoleRequest, @Res() res: Response): void {
    sendPage(res, this.form(req.consoleSession as ConsoleSession, undefined, {}, {}));
  }

  @Post()
  async create(@Req() req: ConsoleRequest, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const values = appFormValues(body);
    const { dto, errors } = await validateForm(CreateClientDto, appFormInput(body, true));
    if (Object.keys(errors).length === 0) {
      try {
        const { client, clientSecret } = await this.clients.create(dto);
        sendPage(
          res,
          appDetailsPage({
            session: sessionChrome(session),
            client,
            secret: clientSecret,
            notice: 'App registered.',
          }),
          HttpStatus.CREATED,
        );
        return;
      } catch (err) {
        const e = serviceError(err, APP_FIELD_OF_REASON);
        const fieldErrors = e.field ? { [e.field]: e.message } : {};
        sendPage(res, this.form(session, undefined, values, fieldErrors, e.message), e.status);
        return;
      }
    }
    sendPage(res, this.form(session, undefined, values, errors), HttpStatus.BAD_REQUEST);
  }

  @Get(':clientId')
  async details(
    @Param('clientId') raw: string,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query('notice') code: unknown,
  ): Promise<void> {
    const client = await this.clients.get(appClientId(raw));
    const delivery = (await this.logout.deliveryStates([client.clientId])).get(client.clientId);
    const session = sessionChrome(req.consoleSession as ConsoleSession);
    sendPage(res, appDetailsPage({ session, client, notice: appNotice(code), delivery }));
  }

  @Post(':clientId')
  async update(
    @Param('clientId') raw: string,
    @Req() req: ConsoleRequest,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const client = await this.clients.get(appClientId(raw));
    const values = appFormValues(body);
    const { dto, errors } = await validateForm(UpdateClientDto, appFormInput(body, false));
    if (Object.keys(errors).length > 0) {
      sendPage(res, this.form(session, client, values, errors), HttpStatus.BAD_REQUEST);
      return;
    }
    try {
      const { clientSecret } = await this.clients.update(client.clientId, dto);
      if (clientSecret) {
        // Switching to a secret-based authentication method creates the first secret: show it now.
        sendPage(
          res,
          appDetailsPage({
            session: sessionChrome(session),
            client: await this.clients.get(client.clientId),
            secret: clientSecret,
            notice: 'Changes saved.',
          }),
        );
        return;
      }
    } catch (err) {
      const e = serviceError(err, APP_FIELD_OF_REASON);
      const fieldErrors = e.field ? { [e.field]: e.message } : {};
      sendPage(res, this.form(session, client, values, fieldErrors, e.message), e.status);
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
    const { client, clientSecret } = await this.clients.rotateSecret(appClientId(raw));
    sendPage(
      res,
      appDetailsPage({
        session: sessionChrome(req.consoleSession as ConsoleSession),
        client,
        secret: clientSecret,
        notice: 'New secret created: the old one no longer works.',
      }),
    );
  }

  @Get(':clientId/delete')
  async confirmDelete(
    @Param('clientId') raw: string,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
  ): Promise<void> {
    const client = await this.clients.get(appClientId(raw));
    sendPage(res, appDeletePage({ session: sessionChrome(req.consoleSession as ConsoleSession), client }));
  }

  @Post(':clientId/delete')
  async remove(@Param('clientId') raw: string, @Res() res: Response): Promise<void> {
    await this.clients.remove(appClientId(raw));
    res.redirect(HttpStatus.SEE_OTHER, '/admin/apps?notice=deleted');
  }

  private form(
    session: ConsoleSession,
    client: OidcClientEntity | undefined,
    values: AppFormValues,
    errors: FieldErrors,
    error?: string,
  ) {
    return appFormPage({ session: sessionChrome(session), client, values, errors, error });
  }
}
