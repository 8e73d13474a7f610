import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../common/public.decorator';
import { Database } from '../database/database';

/** Liveness and readiness for load balancers and orchestrators. */
@ApiExcludeController()
@Public()
@Controller()
export class HealthController {
  constructor(private readonly database: Database) {}

  /** The process is up and serving HTTP. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** The database is reachable and every migration is applied; 503 otherwise (never a crash). */
  @Get('readyz')
  async readyz(@Res({ passthrough: true }) res: Response): Promise<Record<string, unknown>> {
    const db = await this.database.readiness();
    res.setHeader('Cache-Control', 'no-store');
    if (!db.ready) {
      res.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { status: 'unavailable', checks: { database: { status: 'down', reason: db.reason } } };
    }
    return { status: 'ok', checks: { database: { status: 'up', mode: this.database.mode } } };
  }
}
