import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Clock } from '../common/clock';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { PeriodicJobs } from '../database/periodic-jobs';
import { SsoTraceEntity } from './sso-trace.entity';
import { SsoTracesRepository } from './sso-traces.repository';

const MAX_MESSAGE_CHARS = 64 * 1024;

export interface TraceInput {
  connectionId: string | null;
  kind: 'acs' | 'login' | 'slo' | 'logout';
  outcome: 'success' | 'failure';
  reason?: string;
  message?: string;
  detail?: Record<string, unknown>;
  samlMessage?: string;
  userId?: string;
  requestId?: string;
}

/** SSO traces: what happened in each SAML exchange, for admins (never shown to end users). */
@Injectable()
export class SsoTracesService implements OnApplicationBootstrap {
  private readonly logger = new Logger('SsoTraces');

  constructor(
    private readonly traces: SsoTracesRepository,
    private readonly clock: Clock,
    private readonly jobs: PeriodicJobs,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  /** Purges old traces every 5 minutes (one instance). */
  onApplicationBootstrap(): void {
    this.jobs.schedule({ name: 'sso-trace-purge', periodMs: 5 * 60_000, run: () => this.purgeExpired() });
  }

  /** Records a trace and returns its id (shown to the user as the trace id). Never throws. */
  async record(input: TraceInput): Promise<string | undefined> {
    try {
      return await this.traces.insert({
        connectionId: input.connectionId,
        createdAt: this.clock.now(),
        kind: input.kind,
        outcome: input.outcome,
        reason: input.reason ?? null,
        message: input.message ?? null,
        detail: input.detail ?? {},
        samlMessage: input.samlMessage ? input.samlMessage.slice(0, MAX_MESSAGE_CHARS) : null,
        userId: input.userId ?? null,
        requestId: input.requestId ?? null,
      });
    } catch (err) {
      this.logger.warn(`Could not record an SSO trace: ${(err as Error).message}`);
      return undefined;
    }
  }

  list(connectionId: string, opts: { limit: number; outcome?: string }): Promise<SsoTraceEntity[]> {
    return this.traces.latest(connectionId, {
      limit: opts.limit,
      outcome: opts.outcome as 'success' | 'failure' | undefined,
    });
  }

  /** Deletes the traces older than SSO_TRACE_RETENTION_DAYS; how many. */
  purgeExpired(): Promise<number> {
    return this.traces.deleteCreatedBefore(
      new Date(this.clock.now().getTime() - this.config.ssoTraceRetentionDays * 86_400_000),
    );
  }
}
