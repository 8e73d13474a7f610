import { Controller, Get, HttpStatus, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { streamAuditExport, toFilter } from '../../audit/audit-query';
import { AuditService } from '../../audit/audit.service';
import { ApiError } from '../../common/api-error';
import { Public } from '../../common/public.decorator';
import { ConnectionsService } from '../../connections/connections.service';
import { auditConsolePage, auditFilterValues, parseAuditFilters } from './audit-filters';
import { sendPage, sessionChrome } from './console-page';
import type { ConsoleSession } from './console-sessions.service';
import type { ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';
import { auditListPage } from './views/audit/audit-list.view';
import { auditVerifyPage } from './views/audit/audit-verify.view';

/** The console's audit log: browse with filters and cursor pages, verify the chain, export JSON lines. */
@ApiExcludeController()
@Public()
@UseFilters(ConsolePageFilter)
@Controller('admin/audit')
export class ConsoleAuditController {
  constructor(
    private readonly audit: AuditService,
    private readonly connections: ConnectionsService,
  ) {}

  @Get()
  async list(
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query() raw: Record<string, unknown>,
  ): Promise<void> {
    const values = auditFilterValues(raw);
    const [page, { items: connections }] = await Promise.all([
      auditConsolePage(this.audit, values, raw.cursor),
      this.connections.list({ limit: 500, offset: 0 }),
    ]);
    const session = sessionChrome(req.consoleSession as ConsoleSession);
    sendPage(
      res,
      auditListPage({ session, values, page, connections }),
      page.error ? HttpStatus.BAD_REQUEST : HttpStatus.OK,
    );
  }

  @Get('export')
  async export(@Res() res: Response, @Query() raw: Record<string, unknown>): Promise<void> {
    const { query, errors } = await parseAuditFilters(auditFilterValues(raw));
    if (Object.keys(errors).length) {
      const [field, message] = Object.entries(errors)[0] ?? ['query', 'invalid'];
      throw ApiError.badRequest('validation_failed', `${field}: ${message}`);
    }
    await streamAuditExport(this.audit, toFilter(query), res);
  }

  @Get('verify')
  async verify(@Req() req: ConsoleRequest, @Res() res: Response): Promise<void> {
    const result = await this.audit.verify(1000);
    sendPage(res, auditVerifyPage({ session: sessionChrome(req.consoleSession as ConsoleSession), result }));
  }
}
