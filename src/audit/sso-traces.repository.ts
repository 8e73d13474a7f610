import { Injectable } from '@nestjs/common';
import { DataSource, type DeepPartial, type Repository } from 'typeorm';
import { affectedRows } from '../database/returned-rows';
import { Statements } from '../database/statements';
import { SsoTraceEntity } from './sso-trace.entity';

/** The sso_traces table. Recording a trace is on the login path: a prepared statement. */
@Injectable()
export class SsoTracesRepository {
  private readonly traces: Repository<SsoTraceEntity>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly statements: Statements,
  ) {
    this.traces = dataSource.getRepository(SsoTraceEntity);
  }

  /** Inserts the trace; returns its generated id. */
  async insert(fields: DeepPartial<SsoTraceEntity>): Promise<string> {
    const { id } = await this.statements.insert(this.traces, this.traces.create(fields));
    return id as string;
  }

  /** The connection's latest traces first, of one outcome when given. */
  latest(
    connectionId: string,
    opts: { limit: number; outcome?: 'success' | 'failure' },
  ): Promise<SsoTraceEntity[]> {
    return this.traces.find({
      where: { connectionId, ...(opts.outcome ? { outcome: opts.outcome } : {}) },
      order: { createdAt: 'DESC' },
      take: opts.limit,
    });
  }

  /** Deletes the traces created at or before `cutoff`; how many. */
  async deleteCreatedBefore(cutoff: Date): Promise<number> {
    return affectedRows(
      await this.dataSource.query('DELETE FROM sso_traces WHERE created_at <= $1', [cutoff]),
    );
  }
}
