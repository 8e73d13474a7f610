import { Injectable, Logger } from '@nestjs/common';
import { DataSource, Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { SsoTraceEntity } from './sso-trace.entity';
import { Statements } from '../database/statements';

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
export class SsoTracesService {
  private readonly logger = new Logger('SsoTraces');
  private readonly traces: Repository<SsoTraceEntity>;

  constructor(
    dataSource: DataSource,
    private readonly statements: Statements,
    private readonly clock: Clock,
  ) {
    this.traces = dataSource.getRepository(SsoTraceEntity);
  }

  /** Records a trace and returns its id (shown to the user as the trace id). Never throws. */
  async record(input: TraceInput): Promise<string | undefined> {
    try {
      const { id } = await this.statements.insert(
        this.traces,
        this.traces.create({
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
        }),
      );
      return id as string;
    } catch (err) {
      this.logger.warn(`Could not record an SSO trace: ${(err as Error).message}`);
      return undefined;
    }
  }

  async list(connectionId: string, opts: { limit: number; outcome?: string }): Promise<SsoTraceEntity[]> {
    return this.traces.find({
      where: { connectionId, ...(opts.outcome ? { outcome: opts.outcome as 'success' | 'failure' } : {}) },
      order: { createdAt: 'DESC' },
      take: opts.limit,
    });
  }
}
