import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient, QueryResult } from 'pg';
import { eventsForAudit } from '../events/event-catalog';
import { appendEvents } from '../events/events.repository';
import { DataSource, EntityManager } from 'typeorm';
import { DomainError } from '../common/domain-error';
import { Clock } from '../common/clock';
import { isDatabaseUnavailable } from '../database/database-errors';
import { pgPoolOf } from '../database/pg-pool';
import { returnedRows } from '../database/returned-rows';
import { MetricsService } from '../metrics/metrics.service';
import { AuditActor, currentAuditActor, currentAuditRequest } from './audit-context';
import { ChainedEventFields, eventHash, GENESIS_HASH } from './audit-hash';
import { redactSecrets } from './redact';
import { runInBackground } from '../common/background';

type Draft = Omit<ChainedEventFields, 'seq' | 'prevHash' | 'occurredAt'>;
interface HeadRow {
  last_seq: string;
  last_hash: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/;

/** What a service reports; actor, request id, IP and time are filled in by the audit log. */
export interface AuditEventInput {
  /** Dotted, e.g. `connection.updated`, `login.failed`. */
  type: string;
  /** Who acted; default: the current request's actor (`currentAuditActor()`). */
  actor?: AuditActor;
  connectionId?: string | null;
  userId?: string | null;
  clientId?: string | null;
  /** Details; for admin changes `{before, after}`. Secrets are redacted before storing. */
  data?: Record<string, unknown>;
}

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

export type VerifyResult =
  | { ok: true; checked: number; lastSeq: number; lastHash: string }
  | {
      ok: false;
      checked: number;
      firstBrokenSeq: number;
      reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap';
    };

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

// The head only advances from the seq read under its row lock, and the events are inserted only if it did.
const APPEND_SQL = `
  WITH head AS (
    UPDATE audit_chain_head SET last_seq = $2::bigint, last_hash = $3::char(64)
     WHERE id = 1 AND last_seq = $1::bigint RETURNING 1)
  INSERT INTO audit_events (${COLUMNS})
  SELECT ${COLUMNS}
    FROM jsonb_to_recordset($4::jsonb) AS e(seq bigint, id uuid, occurred_at timestamptz, type text,
           actor_type text, actor_id text, actor_name text, connection_id uuid, user_id uuid, client_id text,
           request_id text, ip text, data jsonb, prev_hash char(64), hash char(64)), head
  RETURNING seq`;
/** At most this many queued events go into one transaction. */
const MAX_BATCH = 200;
/** Events kept in memory, to append once the database is back, while it is unreachable. */
const MAX_DEFERRED = 10_000;
const DEFER_RETRY_MIN_MS = 1000;
const DEFER_RETRY_MAX_MS = 15_000;
const LOCK_HEAD_SQL = 'SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE';

function clip(value: string | null | undefined, max: number): string | null {
  return value === null || value === undefined || value === '' ? null : value.slice(0, max);
}

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

/**
 * The tamper-evident audit log. Each event's hash covers its fields and the previous event's hash; appends
 * are serialised across every instance by the row lock on the chain head (a short transaction: lock → read
 * head → insert event and advance head), so the chain stays single and gap-free.
 *
 * Failure policy (deliberate):
 * - `record()` throws. Admin changes call it inside their own transaction, so a change that cannot be audited
 *   is rolled back and the admin gets an error: no admin change is ever unaudited.
 * - `recordSafely()` never throws. Logins and logouts use it: the user's sign-in (or sign-out) already
 *   happened and must not become a 500 because the audit log is unavailable. When the database is
 *   unreachable (a restart, a failover) the event is kept in memory (at most MAX_DEFERRED) and appended
 *   once it is back, with `data.delayedFrom` saying when it happened; its id makes the retry idempotent
 *   (an append that committed but whose answer was lost is not added twice). An event that cannot be
 *   appended at all (another error, the buffer full, the process stopping with events still waiting) is
 *   logged at error level with the event and counted in `bridge_audit_append_failures_total` for alerting.
 */
@Injectable()
export class AuditService implements OnApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private readonly queue: Array<{
    draft: Draft;
    resolve: (e: AuditEvent) => void;
    reject: (err: unknown) => void;
  }> = [];
  private flushing = false;
  /** Events of `recordSafely` not appended because the database was unreachable, oldest first. */
  private readonly deferred: Draft[] = [];
  private deferTimer?: NodeJS.Timeout;
  private deferRetryMs = DEFER_RETRY_MIN_MS;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Appends an event, inside the caller's transaction when `manager` is given (the change and its event
   * commit together or not at all). Throws on failure: `audit_unavailable` (503) unless the database itself
   * is down (then the usual `database_unavailable`).
   */
  async record(input: AuditEventInput, manager?: EntityManager): Promise<AuditEvent> {
    const draft = this.draft(input);
    try {
      return await this.append(draft, manager);
    } catch (err) {
      if (err instanceof DomainError || isDatabaseUnavailable(err)) throw err;
      this.logger.error(
        { err, auditEvent: { type: input.type } },
        `Audit append failed: ${(err as Error).message}`,
      );
      throw new DomainError(
        'unavailable',
        'audit_unavailable',
        'The audit log could not record this change, so it was not made. Retry shortly.',
      );
    }
  }

  private append(draft: Draft, manager?: EntityManager): Promise<AuditEvent> {
    if (manager) return this.appendInTransaction(draft, manager);
    return new Promise((resolve, reject) => {
      this.queue.push({ draft, resolve, reject });
      if (!this.flushing) runInBackground('Audit group commit', this.flush());
    });
  }

  /** Inside the caller's transaction: lock the head, append after it (released when the caller commits). */
  private async appendInTransaction(draft: Draft, manager: EntityManager): Promise<AuditEvent> {
    if (!manager.queryRunner?.isTransactionActive) {
      throw new Error('AuditService.record(event, manager) needs a manager inside a transaction');
    }
    const [head] = (await manager.query(LOCK_HEAD_SQL)) as HeadRow[];
    if (!head) throw new Error('The audit chain head row is missing');
    const events = this.chain([draft], head);
    const inserted = returnedRows(await manager.query(APPEND_SQL, this.params(head, events)));
    if (inserted.length !== events.length) throw new Error('The audit chain head moved while it was locked');
    // The public events of this change commit with it (and with its audit event), or not at all.
    await appendEvents((sql, params) => manager.query(sql, params), events.flatMap(eventsForAudit));
    const [event] = events;
    if (!event) throw new Error('The audit chain appended nothing');
    return event;
  }

  /**
   * Group commit for events outside a caller's transaction (logins, logouts): one transaction at a time
   * per instance; events that arrive meanwhile go together into the next one. A lone event costs one short
   * transaction (3 round trips: BEGIN + lock and read head, insert, COMMIT); under load, one lock and one
   * commit (its fsync) serve a whole batch, so throughput is not bounded by one commit per event.
   */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          const events = await this.appendBatch(batch.map((b) => b.draft));
          batch.forEach((b, i) => {
            const event = events[i];
            if (event) b.resolve(event);
            else b.reject(new Error('The audit batch appended fewer events than it was given'));
          });
        } catch (err) {
          batch.forEach((b) => b.reject(err));
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async appendBatch(drafts: Draft[]): Promise<AuditEvent[]> {
    const client: PoolClient = await (pgPoolOf(this.dataSource) as Pool).connect();
    let broken: Error | undefined;
    try {
      const results = (await client.query(`BEGIN; ${LOCK_HEAD_SQL}`)) as unknown as QueryResult[];
      const head = results.at(-1)?.rows[0] as HeadRow | undefined;
      if (!head) throw new Error('The audit chain head row is missing');
      const events = this.chain(drafts, head);
      const inserted = await client.query(APPEND_SQL, this.params(head, events));
      if (inserted.rowCount !== events.length)
        throw new Error('The audit chain head moved while it was locked');
      await appendEvents((sql, params) => client.query(sql, params), events.flatMap(eventsForAudit));
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

  /** Appends an event for an action that already happened (logins, logouts): never throws (see above). */
  async recordSafely(input: AuditEventInput): Promise<AuditEvent | undefined> {
    let draft: Draft | undefined;
    try {
      draft = this.draft(input);
      return await this.append(draft);
    } catch (err) {
      if (draft && isDatabaseUnavailable(err) && this.defer(draft)) return undefined;
      this.appendFailed(input, err);
      return undefined;
    }
  }

  private appendFailed(
    event: Pick<AuditEventInput, 'type' | 'connectionId' | 'userId' | 'clientId'>,
    err: unknown,
  ): void {
    this.metrics.auditAppendFailures.inc({ type: event.type });
    this.logger.error(
      {
        err,
        auditEvent: {
          type: event.type,
          connectionId: event.connectionId,
          userId: event.userId,
          clientId: event.clientId,
        },
      },
      `Could not append the audit event ${event.type}: ${(err as Error).message}`,
    );
  }

  /** Keeps an event to append when the database is back; false when the buffer is full. */
  private defer(draft: Draft): boolean {
    if (this.deferred.length >= MAX_DEFERRED) return false;
    const delayedFrom = this.clock.now().toISOString();
    this.deferred.push({ ...draft, data: { ...draft.data, delayedFrom } });
    if (this.deferred.length === 1) {
      this.logger.warn('The database is unreachable: audit events are kept in memory until it is back');
    }
    this.scheduleDeferred();
    return true;
  }

  private scheduleDeferred(): void {
    if (this.deferTimer || this.deferred.length === 0) return;
    this.deferTimer = setTimeout(() => {
      this.deferTimer = undefined;
      runInBackground('Deferred audit append', this.appendDeferred());
    }, this.deferRetryMs);
    this.deferTimer.unref();
  }

  /** Appends the deferred events (those not already there), oldest first; retried with backoff. */
  private async appendDeferred(): Promise<void> {
    const batch = this.deferred.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    try {
      const present: Array<{ id: string }> = await this.dataSource.query(
        'SELECT id FROM audit_events WHERE id = ANY($1::uuid[])',
        [batch.map((d) => d.id)],
      );
      const there = new Set(present.map((r) => r.id));
      const missing = batch.filter((d) => !there.has(d.id));
      if (missing.length) await this.appendBatch(missing);
      this.deferRetryMs = DEFER_RETRY_MIN_MS;
      this.logger.log(`Appended ${missing.length} audit event(s) kept while the database was unreachable`);
    } catch (err) {
      if (isDatabaseUnavailable(err)) {
        this.deferred.unshift(...batch);
        this.deferRetryMs = Math.min(this.deferRetryMs * 2, DEFER_RETRY_MAX_MS);
      } else {
        for (const d of batch) this.appendFailed(d, err);
      }
    }
    this.scheduleDeferred();
  }

  /** The last chance for events kept while the database was unreachable; those that still fail are reported. */
  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
    while (this.deferred.length > 0) {
      const before = this.deferred.length;
      await this.appendDeferred();
      clearTimeout(this.deferTimer);
      this.deferTimer = undefined;
      if (this.deferred.length >= before) {
        for (const d of this.deferred.splice(0)) {
          this.appendFailed(d, new Error('the database is unreachable and the process is stopping'));
        }
      }
    }
  }

  /** Events matching the filter, newest first, before the given seq (the cursor). */
  async list(
    filter: AuditFilter,
    page: { beforeSeq?: number; limit: number },
  ): Promise<{ items: AuditEvent[]; nextBeforeSeq?: number }> {
    const params: unknown[] = [];
    const where = this.where(filter, params);
    if (page.beforeSeq !== undefined) {
      params.push(page.beforeSeq);
      where.push(`seq < $${params.length}`);
    }
    params.push(page.limit + 1);
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, page.limit).map(toEvent);
    return {
      items,
      nextBeforeSeq: rows.length > page.limit ? items.at(-1)?.seq : undefined,
    };
  }

  /** Events matching the filter, oldest first, read in batches (never all in memory). */
  async *stream(filter: AuditFilter, batchSize = 500): AsyncGenerator<AuditEvent[]> {
    let afterSeq = 0;
    for (;;) {
      const params: unknown[] = [];
      const where = this.where(filter, params);
      params.push(afterSeq);
      where.push(`seq > $${params.length}`);
      params.push(batchSize);
      const rows: EventRow[] = await this.dataSource.query(
        `SELECT ${COLUMNS} FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq ASC LIMIT $${params.length}`,
        params,
      );
      if (rows.length === 0) return;
      const events = rows.map(toEvent);
      yield events;
      if (rows.length < batchSize) return;
      afterSeq = events.at(-1)?.seq ?? afterSeq;
    }
  }

  /**
   * Recomputes the chain, in batches, up to the head read at the start: every seq present (1, 2, …), each
   * prevHash equal to the previous hash, each hash equal to the recomputed one, and the last event equal to
   * the head (so deleting the newest events is detected too). Reports the first broken link.
   *
   * Someone who can bypass the triggers (a database superuser) can also cut the tail and move the head
   * back; an `anchor` kept outside the database (the `lastSeq`/`lastHash` of an earlier verify) catches
   * that: the anchored event must still be there with the same hash.
   */
  async verify(batchSize = 1000, anchor?: { seq: number; hash: string }): Promise<VerifyResult> {
    const head: Array<{ last_seq: string; last_hash: string }> = await this.dataSource.query(
      'SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1',
    );
    const headSeq = Number(head[0]?.last_seq ?? 0);
    let expected = 1;
    let prevHash = GENESIS_HASH;
    let checked = 0;
    const broken = (seq: number, reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap') =>
      ({ ok: false, checked, firstBrokenSeq: seq, reason }) as const;
    while (expected <= headSeq) {
      const rows: EventRow[] = await this.dataSource.query(
        `SELECT ${COLUMNS} FROM audit_events WHERE seq >= $1 AND seq <= $2 ORDER BY seq ASC LIMIT $3`,
        [expected, headSeq, batchSize],
      );
      if (rows.length === 0) break;
      for (const row of rows) {
        const event = toEvent(row);
        if (event.seq !== expected) return broken(expected, 'sequence_gap');
        if (event.prevHash !== prevHash) return broken(event.seq, 'prev_hash_mismatch');
        if (eventHash(event) !== event.hash) return broken(event.seq, 'hash_mismatch');
        if (anchor && event.seq === anchor.seq && event.hash !== anchor.hash) {
          return broken(event.seq, 'hash_mismatch');
        }
        prevHash = event.hash;
        expected++;
        checked++;
      }
    }
    // Events missing at the end (the head says there were more), or a rewritten last event.
    if (expected <= headSeq) return broken(expected, 'sequence_gap');
    if (headSeq > 0 && prevHash !== head[0]?.last_hash) return broken(headSeq, 'hash_mismatch');
    // The chain is shorter than it was when the anchor was taken: its end was cut.
    if (anchor && anchor.seq > headSeq) return broken(headSeq + 1, 'sequence_gap');
    return { ok: true, checked, lastSeq: headSeq, lastHash: prevHash };
  }

  private where(filter: AuditFilter, params: unknown[]): string[] {
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

  /** The event's fields that do not depend on its place in the chain. */
  private draft(input: AuditEventInput): Draft {
    if (!EVENT_TYPE.test(input.type) || input.type.length > 64) {
      throw new Error(`Invalid audit event type ${JSON.stringify(input.type)}`);
    }
    for (const [field, value] of [
      ['connectionId', input.connectionId],
      ['userId', input.userId],
    ] as const) {
      if (value !== undefined && value !== null && !UUID.test(value)) {
        throw new Error(`Audit event ${input.type}: ${field} is not a UUID`);
      }
    }
    const actor = input.actor ?? currentAuditActor();
    const request = currentAuditRequest();
    return {
      id: randomUUID(),
      type: input.type,
      actor: {
        type: actor.type,
        id: clip(actor.id, 200),
        name: clip(actor.name, 200) ?? actor.type,
      },
      connectionId: input.connectionId?.toLowerCase() ?? null,
      userId: input.userId?.toLowerCase() ?? null,
      clientId: clip(input.clientId, 64),
      requestId: clip(request.requestId, 64),
      ip: clip(request.ip, 64),
      data: redactSecrets(input.data ?? {}),
    };
  }

  /** Places the events after the head (locked by the caller), in order, and computes their hashes. */
  private chain(drafts: Draft[], head: HeadRow): AuditEvent[] {
    // Taken under the lock, in ms, so events are time-ordered like the chain and the value round-trips.
    const occurredAt = this.clock.now().toISOString();
    let seq = Number(head.last_seq);
    let prevHash = head.last_hash;
    return drafts.map((draft) => {
      const fields: ChainedEventFields = { ...draft, seq: ++seq, prevHash, occurredAt };
      const event = { ...fields, hash: eventHash(fields) };
      prevHash = event.hash;
      return event;
    });
  }

  private params(head: HeadRow, events: AuditEvent[]): unknown[] {
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
    return [head.last_seq, last.seq, last.hash, JSON.stringify(rows)];
  }
}
