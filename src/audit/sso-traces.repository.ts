import { Injectable } from '@nestjs/common';
import { DataSource, type Repository } from 'typeorm';
import { affectedRows } from '../database/returned-rows';
import { Statements } from '../database/statements';
import { SsoTraceEntity } from './sso-trace.entity';

/**
 * Any number of traces in one statement (one commit): one array per column, of the column's type, so one
 * prepared text serves every batch size.
 */
const INSERT_TRACES_SQL = `
  INSERT INTO sso_traces (id, connection_id, created_at, kind, outcome, reason, message, detail, saml_message,
                          user_id, request_id)
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::varchar[], $5::varchar[], $6::varchar[],
                       $7::text[], $8::jsonb[], $9::text[], $10::uuid[], $11::varchar[])
  RETURNING id`;

/** The sso_traces table. Recording traces is on the login path: a prepared statement. */
@Injectable()
export class SsoTracesRepository {
  private readonly traces: Repository<SsoTraceEntity>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly statements: Statements,
  ) {
    this.traces = dataSource.getRepository(SsoTraceEntity);
  }

  /**
   * Inserts the traces, all or none (one statement), with the ids they carry (chosen by the caller, so no
   * row depends on the order of RETURNING); the ids inserted. A diagnostic: an ephemeral write (see
   * `Statements.rows`).
   */
  async insertMany(traces: SsoTraceEntity[]): Promise<string[]> {
    const rows = await this.statements.rows<{ id: string }>(
      'insert_sso_traces',
      INSERT_TRACES_SQL,
      [
        traces.map((t) => t.id),
        traces.map((t) => t.connectionId),
        traces.map((t) => t.createdAt.toISOString()),
        traces.map((t) => t.kind),
        traces.map((t) => t.outcome),
        traces.map((t) => t.reason),
        traces.map((t) => t.message),
        traces.map((t) => JSON.stringify(t.detail)),
        traces.map((t) => t.samlMessage),
        traces.map((t) => t.userId),
        traces.map((t) => t.requestId),
      ],
      { ephemeral: true },
    );
    return rows.map((row) => row.id);
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
