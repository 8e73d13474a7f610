import { Controller, Get, Inject, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../common/public.decorator';
import type { BridgeConfig } from '../../config/bridge-config';
import { BRIDGE_CONFIG } from '../../config/config.module';
import { addLogContext } from '../../logging/logger';
import { testLoginPage } from '../../saml/html';
import { SamlPageFilter } from '../../saml/saml-page.filter';
import { browserCookieName, readCookie } from '../../saml/session-cookie';
import { TestLoginConsumer } from './test-login.consumer';

/**
 * The continue step of a test login (started from the console or a setup page): the result page. Public:
 * the login's browser binding is what lets only the browser that started it see the result.
 */
@ApiExcludeController()
@Public()
@UseFilters(SamlPageFilter)
@Controller('test-login')
export class TestLoginController {
  constructor(
    private readonly testLogins: TestLoginConsumer,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  @Get('result')
  async result(@Query('code') code: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const result = await this.testLogins.result(code, readCookie(req, browserCookieName(this.config)));
    // A test login only shows what the IdP sent and how it maps: no session, no provisioning.
    addLogContext(res, { connection: result.connection.slug, outcome: 'test_login' });
    res.setHeader('Cache-Control', 'no-store').type('html').send(testLoginPage(result));
  }
}
