import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { Response } from 'express';
import { Public } from '../common/public.decorator';
import { DatabaseHealthIndicator } from './database-health.indicator';

/** Liveness and readiness for load balancers and orchestrators. */
@ApiExcludeController()
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: DatabaseHealthIndicator,
  ) {}

  /** The process is up and serving HTTP. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Ready when the database is reachable and every migration is applied (terminus' report: 200 with
   * `status: "ok"`, or 503 with `status: "error"` and the failing check under `error`). Never a crash.
   */
  @Get('readyz')
  @HealthCheck()
  async readyz(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    res.setHeader('Cache-Control', 'no-store');
    const readiness = await this.db.check();
    try {
      return await this.health.check([
        () => this.db.database(readiness),
        () => this.db.migrations(readiness),
      ]);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      // Not ready: the database is away (a restart, a failover) or migrations are pending. Ask again soon.
      res.status(503).setHeader('Retry-After', '2');
      return err.getResponse() as HealthCheckResult;
    }
  }
}
