import { Injectable } from '@nestjs/common';
import type { Pool, PoolClient, QueryResult } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import { pgPoolOf } from '../database/pg-pool';
import { Statements } from '../database/statements';
import { eventsForAudit } from '../events/event-catalog';
import { appendEventsCtes, appendEventsParams } from '../events/events.repository';
import type { ChainedEventFields } from './audit-hash';

/** One stored event, as the API shows it. */
export interface AuditEvent extends ChainedEventFields {
  hash: string;
}

export interface AuditFilter {
  from?: Date;
  to?: Date;
  /** The actor's id (API key id, 'bootstrap', console admin, user id). */
  actor?: string;
  actorType?: string;
  /** An exact type, or a prefix ending with a dot (`login.`). */
  type?: string;
  connectionId?: string;
  userId?: string;
  clientId?: string;
}

/** The chain head: the last event's seq and hash (0 and the genesis hash before the first event). */
export interface ChainHead {
  lastSeq: number;
  lastHash: string;
}

interface HeadRow {
  last_seq: string;
  last_hash: string;
}

interface EventRow {
  seq: string;
  id: string;
  occurred_at: Date;
  type: string;
  actor_type: string;
  actor_id: string | null;
  actor_name: string;
  connection_id: string | null;
  user_id: string | null;
  client_id: string | null;
  request_id: string | null;
  ip: string | null;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

const COLUMNS =
  'seq, id, occurred_at, type, actor_type, actor_id, actor_name, connection_id, user_id, client_id, request_id, ip, data, prev_hash, hash';

const EVENT_RECORDSET = `jsonb_to_recordset($4::jsonb) AS e(seq bigint, id uuid, occurred_at timestamptz, type text,
           actor_type text, actor_id text, actor_name text, connection_id uuid, user_id uuid, client_id text,
           request_id text, ip text, data jsonb, prev_hash char(64), hash char(64))`;

/** The parameter of APPEND_SQL that lists the queued events (audit_pending) the append takes. */
const QUEUED_PARAM = 6 + appendEventsParams([]).length;

/**
 * Appends events after a head, in one statement: the head advances only if it is still exactly that one
 * (seq and hash) and every queued event of the batch is still queued, and the events, their public events
 * (the change feed and its webhook deliveries) and the queue's rows go in and out only if it did. Under the
 * head's row lock (the locked fallback, the sweep) the head is the one read under it. Without a lock or a
 * transaction of its own (the group commit, after the head this instance wrote last) it is one commit;
 * another writer that moved the head in between (another instance, the sweep) makes it append nothing, and
 * the caller then appends under the lock.
 */
const APPEND_SQL = `
  WITH head AS (
    UPDATE audit_chain_head SET last_seq = $2::bigint, last_hash = $3::char(64)
     WHERE id = 1 AND last_seq = $1::bigint AND last_hash = $5::char(64)
       AND (SELECT count(*) FROM audit_pending WHERE id = ANY($${QUEUED_PARAM}::uuid[]))
           = cardinality($${QUEUED_PARAM}::uuid[])
     RETURNING 1),
  dequeued AS (
    DELETE FROM audit_pending WHERE id = ANY($${QUEUED_PARAM}::uuid[]) AND EXISTS (SELECT 1 FROM head)),
  appended AS (
    INSERT INTO audit_events (${COLUMNS})
    SELECT ${COLUMNS} FROM ${EVENT_RECORDSET}, head
    RETURNING seq),
  ${appendEventsCtes(6, 'EXISTS (SELECT 1 FROM head)')}
  SELECT count(*)::int AS appended FROM appended`;

const ENQUEUE_SQL = 'INSERT INTO audit_pending (id, draft) VALUES ($1, $2)';

/** Takes queued events out of the queue (under the head's lock): the ids still there. */
const DEQUEUE_SQL = 'DELETE FROM audit_pending WHERE id = ANY($1::uuid[]) RETURNING id';

/** A queued event queued at least $1 seconds ago, by the database's clock. */
const STALE = 'queued_at <= now() - make_interval(secs => $1)';

/** Whether any queued event is stale (no transaction, no lock). */
const ANY_STALE_SQL = `SELECT 1 FROM audit_pending WHERE ${STALE} LIMIT 1`;

/** Takes the oldest stale events out of the queue (under the head's lock). */
const DEQUEUE_STALE_SQL = `
  DELETE FROM audit_pending WHERE id IN (SELECT id FROM audit_pending WHERE ${STALE} ORDER BY n LIMIT $2)
  RETURNING n, queued_at, draft`;

const LOCK_HEAD_SQL = 'SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE';

const headOf = (row: HeadRow): ChainHead => ({ lastSeq: Number(row.last_seq), lastHash: row.last_hash });

function toEvent(row: EventRow): AuditEvent {
  return {
    seq: Number(row.seq),
    id: row.id,
    occurredAt: new Date(row.occurred_at).toISOString(),
    type: row.type,
    actor: { type: row.actor_type, id: row.actor_id, name: row.actor_name },
    connectionId: row.connection_id,
    userId: row.user_id,
    clientId: row.client_id,
    requestId: row.request_id,
    ip: row.ip,
    data: row.data,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** The append statement's parameters: the head it moves from, the new head, the events as JSON. */
function appendParams(head: ChainHead, events: AuditEvent[]): unknown[] {
  const last = events.at(-1);
  if (!last) throw new Error('An audit append needs at least one event');
  const rows = events.map((e) => ({
    seq: e.seq,
    id: e.id,
    occurred_at: e.occurredAt,
    type: e.type,
    actor_type: e.actor.type,
    actor_id: e.actor.id,
    actor_name: e.actor.name,
    connection_id: e.connectionId,
    user_id: e.userId,
    client_id: e.clientId,
    request_id: e.requestId,
    ip: e.ip,
    data: e.data,
    prev_hash: e.prevHash,
    hash: e.hash,
  }));
  return [head.lastSeq, last.seq, last.hash, JSON.stringify(rows)];
}

/** APPEND_SQL's parameters: the append's, the head's hash, the public events, the queued events it takes. */
function appendAfterParams(head: ChainHead, events: AuditEvent[], queued: string[]): unknown[] {
  return [
    ...appendParams(head, events),
    head.lastHash,
    ...appendEventsParams(events.flatMap(eventsForAudit)),
    queued,
  ];
}

/** An event taken from the queue by the sweep: its fields as queued, and when. */
export interface QueuedDraft {
  draft: unknown;
  queuedAt: Date;
}

/** Runs a statement inside the locked transaction. */
type LockedQuery = <R>(text: string, values: unknown[]) => Promise<R[]>;

/**
 * The audit tables: `audit_events` (append-only, hash-chained), the single-row `audit_chain_head`, the queue
 * of events recorded in a change's transaction (`audit_pending`), and the public events each audit event
 * gives (events.repository). The group commit's append and the queue's insert are prepared statements (see
 * `Statements`).
 */
@Injectable()
export class AuditRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly statements: Statements,
  ) {}

  /**
   * Queues an event inside the caller's transaction: it commits (or rolls back) with the caller's change,
   * and is chained by a later append that takes it (`queued`) or by the sweep (`appendStale`). No lock: a
   * change's transaction does not wait for the chain.
   */
  async enqueue(manager: EntityManager, id: string, draft: unknown): Promise<void> {
    if (!manager.queryRunner?.isTransactionActive) {
      throw new Error('AuditService.record(event, manager) needs a manager inside a transaction');
    }
    await this.statements.rowsIn(manager, 'audit_enqueue', ENQUEUE_SQL, [id, JSON.stringify(draft)]);
  }

  /**
   * One statement, one commit: appends the events (chained after `head`) if the head is still `head` and
   * the `queued` events among them are all still queued (they leave the queue with it). False when not
   * (nothing was written).
   */
  async appendAfterKnownHead(head: ChainHead, events: AuditEvent[], queued: string[]): Promise<boolean> {
    const [row] = await this.statements.rows<{ appended: number }>(
      'audit_append_after_known_head',
      APPEND_SQL,
      appendAfterParams(head, events, queued),
    );
    const appended = row?.appended ?? 0;
    if (appended !== 0 && appended !== events.length) {
      throw new Error('The audit chain appended part of a batch');
    }
    return appended === events.length;
  }

  /**
   * In a short transaction of its own: lock the head, take the `queued` events out of the queue, chain the
   * events after the head (`chain` is told which queued ones were still there: the others were chained by
   * the sweep meanwhile), append them, commit.
   */
  appendLocked(
    queued: string[],
    chain: (head: ChainHead, stillQueued: Set<string>) => AuditEvent[],
  ): Promise<AuditEvent[]> {
    return this.locked(async (head, query) => {
      const taken = queued.length ? await query<{ id: string }>(DEQUEUE_SQL, [queued]) : [];
      return chain(head, new Set(taken.map((r) => r.id)));
    });
  }

  /**
   * The sweep: in a short transaction of its own, lock the head, take at most `limit` events queued at
   * least `olderThanSeconds` ago by the database's clock (oldest first; their transactions committed, but
   * the instance that queued them did not chain them), chain them after the head, append them, commit.
   */
  async appendStale(
    olderThanSeconds: number,
    limit: number,
    chain: (head: ChainHead, stale: QueuedDraft[]) => AuditEvent[],
  ): Promise<AuditEvent[]> {
    // Almost always none: then no transaction, no lock and no transaction id (which would hold back the
    // pruning of every table's dead rows while it lasts).
    const any: unknown[] = await this.dataSource.query(ANY_STALE_SQL, [olderThanSeconds]);
    if (any.length === 0) return [];
    return this.locked(async (head, query) => {
      const rows = await query<{ n: string; queued_at: Date; draft: string }>(DEQUEUE_STALE_SQL, [
        olderThanSeconds,
        limit,
      ]);
      rows.sort((x, y) => Number(x.n) - Number(y.n));
      return chain(
        head,
        rows.map((r) => ({ draft: JSON.parse(r.draft) as unknown, queuedAt: new Date(r.queued_at) })),
      );
    });
  }

  /** BEGIN, lock the head, `step` (its queries, then the events to append after the head), append, COMMIT. */
  private async locked(
    step: (head: ChainHead, query: LockedQuery) => Promise<AuditEvent[]>,
  ): Promise<AuditEvent[]> {
    const client: PoolClient = await (pgPoolOf(this.dataSource) as Pool).connect();
    let broken: Error | undefined;
    try {
      const results = (await client.query(`BEGIN; ${LOCK_HEAD_SQL}`)) as unknown as QueryResult[];
      const row = results.at(-1)?.rows[0] as HeadRow | undefined;
      if (!row) throw new Error('The audit chain head row is missing');
      const head = headOf(row);
      const events = await step(head, async (text, values) => (await client.query(text, values)).rows);
      if (events.length) {
        const appended = await client.query<{ appended: number }>(
          APPEND_SQL,
          appendAfterParams(head, events, []),
        );
        if (appended.rows[0]?.appended !== events.length)
          throw new Error('The audit chain head moved while it was locked');
      }
      await client.query('COMMIT');
      return events;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /** Which of these event ids are stored. */
  async presentIds(ids: string[]): Promise<Set<string>> {
    const present: Array<{ id: string }> = await this.dataSource.query(
      'SELECT id FROM audit_events WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return new Set(present.map((r) => r.id));
  }

  /** Events matching the filter, newest first, before `beforeSeq` when given; at most `limit`. */
  async newestFirst(
    filter: AuditFilter,
    beforeSeq: number | undefined,
    limit: number,
  ): Promise<AuditEvent[]> {
    const params: unknown[] = [];
    const where = whereOf(filter, params);
    if (beforeSeq !== undefined) {
      params.push(beforeSeq);
      where.push(`seq < $${params.length}`);
    }
    params.push(limit);
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toEvent);
  }

  /** Events matching the filter after `afterSeq`, oldest first; at most `limit`. */
  async oldestFirstAfter(filter: AuditFilter, afterSeq: number, limit: number): Promise<AuditEvent[]> {
    const params: unknown[] = [];
    const where = whereOf(filter, params);
    params.push(afterSeq);
    where.push(`seq > $${params.length}`);
    params.push(limit);
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq ASC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toEvent);
  }

  /** The chain head as stored (null if its row is missing). */
  async head(): Promise<ChainHead | null> {
    const [row] = (await this.dataSource.query(
      'SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1',
    )) as HeadRow[];
    return row ? headOf(row) : null;
  }

  /** Events with `from` ≤ seq ≤ `to`, oldest first; at most `limit`. */
  async range(from: number, to: number, limit: number): Promise<AuditEvent[]> {
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM audit_events WHERE seq >= $1 AND seq <= $2 ORDER BY seq ASC LIMIT $3`,
      [from, to, limit],
    );
    return rows.map(toEvent);
  }
}

function whereOf(filter: AuditFilter, params: unknown[]): string[] {
  const where: string[] = [];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filter.from) add((p) => `occurred_at >= ${p}`, filter.from);
  if (filter.to) add((p) => `occurred_at < ${p}`, filter.to);
  if (filter.actor) add((p) => `actor_id = ${p}`, filter.actor);
  if (filter.actorType) add((p) => `actor_type = ${p}`, filter.actorType);
  if (filter.type?.endsWith('.')) {
    // A prefix as a range on the C-collated column ('.' + 1 = '/'): an index range scan, no LIKE escaping.
    add((p) => `type >= ${p}`, filter.type);
    add((p) => `type < ${p}`, `${filter.type.slice(0, -1)}/`);
  } else if (filter.type) add((p) => `type = ${p}`, filter.type);
  if (filter.connectionId) add((p) => `connection_id = ${p}`, filter.connectionId);
  if (filter.userId) add((p) => `user_id = ${p}`, filter.userId);
  if (filter.clientId) add((p) => `client_id = ${p}`, filter.clientId);
  return where;
}
