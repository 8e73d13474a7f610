import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { hostname } from 'node:os';
import { DataSource } from 'typeorm';
import { isDatabaseUnavailable } from './database-errors';
import { returnedRows } from './returned-rows';

export interface PeriodicJob {
  name: string;
  /** How often the job runs (across all instances together). */
  periodMs: number;
  /** Run at once when the job has never run (default), or only one period after first seen. */
  startImmediately?: boolean;
  run: () => Promise<unknown>;
}

/**
 * Runs periodic jobs exactly once per period across every instance sharing the database: each instance
 * checks often, and the one whose conditional UPDATE claims the period runs the job.
 */
@Injectable()
export class PeriodicJobs implements OnApplicationShutdown {
  private readonly logger = new Logger('PeriodicJobs');
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly instance = `${hostname()}:${process.pid}`;

  constructor(private readonly dataSource: DataSource) {}

  /** Claims the job's current period; true when this caller should run it. */
  async claim(name: string, periodMs: number, startImmediately = true): Promise<boolean> {
    await this.dataSource.query(
      `INSERT INTO scheduled_jobs (name, last_run_at)
       VALUES ($1, CASE WHEN $2::boolean THEN to_timestamp(0) ELSE now() END) ON CONFLICT (name) DO NOTHING`,
      [name, startImmediately],
    );
    const result: unknown = await this.dataSource.query(
      `UPDATE scheduled_jobs SET last_run_at = now(), last_instance = $3
        WHERE name = $1 AND last_run_at <= now() - make_interval(secs => $2) RETURNING name`,
      [name, periodMs / 1000, this.instance],
    );
    return returnedRows(result).length === 1;
  }

  /** Runs the job now if its period is due (and nobody else claimed it). */
  async runIfDue(job: PeriodicJob): Promise<boolean> {
    if (!(await this.claim(job.name, job.periodMs, job.startImmediately ?? true))) return false;
    try {
      await job.run();
    } catch (err) {
      this.logger.warn(`Job ${job.name} failed: ${(err as Error).message}`);
    }
    return true;
  }

  /** Checks the job every `checkMs` (default: a tenth of its period, at most a minute). */
  schedule(job: PeriodicJob, checkMs = Math.min(60_000, Math.max(1000, job.periodMs / 10))): void {
    const timer = setInterval(() => {
      this.runIfDue(job).catch((err: Error) =>
        // The database is away (a restart, a failover): this turn is skipped; the period stays unclaimed,
        // so the next check after it is back runs the job.
        isDatabaseUnavailable(err)
          ? this.logger.warn(`Job ${job.name} skipped: the database is unavailable (${err.message})`)
          : this.logger.warn(`Job ${job.name} check failed: ${err.message}`),
      );
    }, checkMs);
    timer.unref();
    this.timers.push(timer);
  }

  onApplicationShutdown(): void {
    for (const t of this.timers) clearInterval(t);
  }
}
