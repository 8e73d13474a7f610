import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { GroupCommit } from '../common/group-commit';
import { Clock } from '../common/clock';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { isDatabaseUnavailable } from '../database/database-errors';
import { PeriodicJobs } from '../database/periodic-jobs';
import { SsoTraceEntity } from './sso-trace.entity';
import { SsoTracesRepository } from './sso-traces.repository';

const MAX_MESSAGE_CHARS = 64 * 1024;
/** At most this many traces go into one statement. */
export const MAX_TRACE_BATCH = 200;
/**
 * And at most about this much text (SAML messages and messages, in characters): a batch of refusals, each
 * with its SAML message of up to MAX_MESSAGE_CHARS, stays a statement of a few MB. A trace larger than
 * this on its own still goes (alone).
 */
export const MAX_TRACE_BATCH_CHARS = 1024 * 1024;

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

/** The text a trace adds to its batch's statement (what the batch's size is bounded by). */
const weightOf = (trace: SsoTraceEntity): number =>
  (trace.samlMessage?.length ?? 0) + (trace.message?.length ?? 0);

/** How many of the queued traces go into the next statement (at least one). */
function nextBatchLength(queued: Iterable<SsoTraceEntity>): number {
  let length = 0;
  let chars = 0;
  for (const trace of queued) {
    chars += weightOf(trace);
    if (length === MAX_TRACE_BATCH || (length > 0 && chars > MAX_TRACE_BATCH_CHARS)) break;
    length++;
  }
  return length;
}

/**
 * SSO traces: what happened in each SAML exchange, for admins (never shown to end users).
 *
 * Recording is a group commit (GroupCommit, as the audit log's appends): one statement at a time per
 * instance; traces recorded meanwhile go together into the next one (one multi-row INSERT, one commit).
 * Each caller's promise resolves once the statement holding its row committed, with its row's id.
 */
@Injectable()
export class SsoTracesService implements OnApplicationBootstrap {
  private readonly logger = new Logger('SsoTraces');
  private readonly writes = new GroupCommit<SsoTraceEntity, string | undefined>({
    name: 'SSO trace',
    nextBatch: (queued) => nextBatchLength(queued),
    write: async (traces) => {
      const written = await this.write(traces);
      return traces.map((t) => (written.has(t.id) ? t.id : undefined));
    },
  });

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

  /**
   * Records a trace and returns its id (shown to the user as the trace id) once it is committed; undefined
   * when it could not be written. Never throws.
   */
  record(input: TraceInput): Promise<string | undefined> {
    let trace: SsoTraceEntity;
    try {
      trace = {
        id: randomUUID(),
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
      };
    } catch (err) {
      this.logger.warn(`Could not record an SSO trace: ${(err as Error).message}`);
      return Promise.resolve(undefined);
    }
    return this.writes.submit(trace);
  }

  /**
   * Writes the traces in one statement; the ids written. Never throws: what could not be written is logged
   * once for the batch (the error's message, never the traces' contents).
   *
   * When the database refuses the statement for what a row holds (its connection deleted meanwhile, text
   * PostgreSQL cannot store such as a NUL in a SAML message an attacker sent), the rows are then written one
   * by one, so one such row costs only its own trace, not those of the other logins in its batch. When the
   * database is unreachable, the whole batch fails at once.
   */
  private async write(traces: SsoTraceEntity[]): Promise<Set<string>> {
    try {
      return new Set(await this.traces.insertMany(traces));
    } catch (err) {
      if (traces.length === 1 || isDatabaseUnavailable(err)) {
        this.writeFailed(traces.length, traces.length, err);
        return new Set();
      }
    }
    const written = new Set<string>();
    let failure: unknown;
    let failed = 0;
    for (const [i, trace] of traces.entries()) {
      try {
        for (const id of await this.traces.insertMany([trace])) written.add(id);
      } catch (err) {
        failure ??= err;
        if (isDatabaseUnavailable(err)) {
          failed += traces.length - i;
          break;
        }
        failed++;
      }
    }
    if (failed > 0) this.writeFailed(failed, traces.length, failure);
    return written;
  }

  private writeFailed(failed: number, of: number, err: unknown): void {
    const what = of === 1 ? 'an SSO trace' : `${failed} of ${of} SSO traces`;
    this.logger.warn(`Could not record ${what}: ${(err as Error).message}`);
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
