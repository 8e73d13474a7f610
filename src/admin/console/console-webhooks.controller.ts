import {
  Body,
  Controller,
  Get,
  HttpStatus,
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
import { refusalOf } from '../../common/error-status';
import type { Html } from '../../web/html';
import { consoleLayout } from '../../web/layout';
import { Public } from '../../common/public.decorator';
import { deliveryView, webhookView } from '../../webhooks/webhook-views';
import { WebhooksService } from '../../webhooks/webhooks.service';
import { formText, type FormBody } from './console-forms';
import { sendPage, sessionChrome } from './console-page';
import type { ConsoleSession } from './console-sessions.service';
import type { ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';
import { createdWebhookView, webhookDetailsView, webhooksListView } from './views/webhooks/webhooks.view';

const NOTICES: Record<string, string> = {
  test: 'Test event queued: it is delivered within seconds (see the deliveries below).',
  redeliver: 'Delivery queued again.',
  paused: 'Deliveries paused.',
  resumed: 'Deliveries resumed.',
  deleted: 'Endpoint deleted.',
};

/** Webhook endpoints in the console: list, add (secret shown once), deliveries, test, pause, delete. */
@ApiExcludeController()
@Public()
@UseFilters(ConsolePageFilter)
@Controller('admin/webhooks')
export class ConsoleWebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  private send(
    req: ConsoleRequest,
    res: Response,
    title: string,
    body: Html,
    opts: { status?: number; notice?: unknown; error?: string } = {},
  ) {
    const session = req.consoleSession as ConsoleSession;
    sendPage(
      res,
      consoleLayout(
        {
          title,
          session: sessionChrome(session),
          active: 'webhooks',
          notice: typeof opts.notice === 'string' ? NOTICES[opts.notice] : undefined,
          error: opts.error,
        },
        body,
      ),
      opts.status,
    );
  }

  @Get()
  async list(
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query('notice') notice: unknown,
  ): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const list = (await this.webhooks.list()).map(webhookView);
    this.send(req, res, 'Webhooks', webhooksListView({ webhooks: list, csrf: session.csrfToken }), {
      notice,
    });
  }

  @Post()
  async create(@Req() req: ConsoleRequest, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const values = {
      url: formText(body, 'url', 2000),
      events: formText(body, 'events', 2000),
      description: formText(body, 'description', 500),
    };
    try {
      const { endpoint, secret } = await this.webhooks.create({
        url: values.url,
        events: (values.events ?? '*')
          .split(',')
          .map((e) => e.trim())
          .filter(Boolean),
        description: values.description,
      });
      this.send(req, res, 'Webhook endpoint added', createdWebhookView(webhookView(endpoint), secret), {
        status: HttpStatus.CREATED,
      });
    } catch (err) {
      const refusal = refusalOf(err);
      if (!refusal) throw err;
      const list = (await this.webhooks.list()).map(webhookView);
      this.send(
        req,
        res,
        'Webhooks',
        webhooksListView({ webhooks: list, csrf: session.csrfToken, error: refusal.message, values }),
        {
          status: refusal.status,
          error: `The endpoint was not added: ${refusal.message}`,
        },
      );
    }
  }

  @Get(':id')
  async details(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query('notice') notice: unknown,
  ): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const w = webhookView(await this.webhooks.get(id));
    const deliveries = (await this.webhooks.deliveries(id, 50)).map(deliveryView);
    this.send(
      req,
      res,
      `Webhook ${w.description ?? w.url}`,
      webhookDetailsView(w, deliveries, session.csrfToken),
      { notice },
    );
  }

  @Post(':id/test')
  async test(@Param('id', new ParseUUIDPipe()) id: string, @Res() res: Response): Promise<void> {
    await this.webhooks.sendTest(id);
    res.redirect(HttpStatus.SEE_OTHER, `/admin/webhooks/${id}?notice=test#deliveries`);
  }

  @Post(':id/deliveries/:deliveryId/redeliver')
  async redeliver(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('deliveryId', new ParseUUIDPipe()) deliveryId: string,
    @Res() res: Response,
  ): Promise<void> {
    await this.webhooks.redeliver(id, deliveryId);
    res.redirect(HttpStatus.SEE_OTHER, `/admin/webhooks/${id}?notice=redeliver#deliveries`);
  }

  @Post(':id/pause')
  async pause(@Param('id', new ParseUUIDPipe()) id: string, @Res() res: Response): Promise<void> {
    await this.webhooks.update(id, { enabled: false });
    res.redirect(HttpStatus.SEE_OTHER, `/admin/webhooks/${id}?notice=paused`);
  }

  @Post(':id/resume')
  async resume(@Param('id', new ParseUUIDPipe()) id: string, @Res() res: Response): Promise<void> {
    await this.webhooks.update(id, { enabled: true });
    res.redirect(HttpStatus.SEE_OTHER, `/admin/webhooks/${id}?notice=resumed`);
  }

  @Post(':id/delete')
  async delete(@Param('id', new ParseUUIDPipe()) id: string, @Res() res: Response): Promise<void> {
    await this.webhooks.delete(id);
    res.redirect(HttpStatus.SEE_OTHER, '/admin/webhooks?notice=deleted');
  }
}
