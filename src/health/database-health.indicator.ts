import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Database, Readiness } from '../database/database';

/**
 * Terminus indicators for readiness: `database` (PostgreSQL answers within 2 s) and `migrations` (every
 * migration of this build is applied). One query serves both.
 */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly db: Database,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(): Promise<Readiness> {
    return this.db.readiness();
  }

  database(readiness: Readiness): HealthIndicatorResult<'database'> {
    const check = this.indicators.check('database');
    return readiness.reachable
      ? check.up({ mode: this.db.mode })
      : check.down({ reason: `database unavailable: ${readiness.reason ?? 'no answer'}` });
  }

  migrations(readiness: Readiness): HealthIndicatorResult<'migrations'> {
    const check = this.indicators.check('migrations');
    if (!readiness.reachable) return check.down({ reason: 'unknown: the database is unavailable' });
    return readiness.pending.length === 0
      ? check.up({ applied: readiness.applied })
      : check.down({ reason: 'migrations pending', pending: readiness.pending });
  }
}
