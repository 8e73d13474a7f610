import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { affectedRows } from '../database/returned-rows';
import type { Transaction } from '../database/transactions';
import type { NewEvent } from './event-catalog';

/** Runs one statement on whatever connection the caller's transaction is on (EntityManager or pg client). */
export type RunQuery = (sql: string, params: unknown[]) => Promise<unknown>;

const incomingCte = (first: number, when: string) => `incoming AS (
    SELECT * FROM unnest($${first}::text[], $${first + 1}::uuid[], $${first + 2}::text[], $${first + 3}::text[])
      AS e(type, connection_id, data, dedupe_key) WHERE ${when}
  ), ins AS (
    INSERT INTO events (type, connection_id, data, dedupe_key)
    SELECT type, connection_id, data::jsonb, dedupe_key FROM incoming
    ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
    RETURNING id, type
  )`;
const INSERT_DELIVERIES = `INSERT INTO webhook_deliveries (endpoint_id, event_id)
  SELECT w.id, ins.id FROM ins JOIN webhook_endpoints w
    ON w.enabled AND (w.event_types @> ARRAY[ins.type::text] OR w.event_types @> ARRAY['*'])`;

/**
 * Appends events and, in the same statement, a pending delivery for every enabled webhook endpoint that
 * subscribes to each (its types, or `*`). An event whose dedupe key exists already is skipped, and so are
 * its deliveries. Callers pass their transaction's query function: the events commit with the change.
 */
export const APPEND_EVENTS_SQL = `
  WITH ${incomingCte(1, 'true')}
  ${INSERT_DELIVERIES}`;

/**
 * The same append as CTEs (`incoming`, `ins`, `deliveries`) for a statement that writes something else too
 * (the audit log's one-statement append): the events are parameters `$first` to `$first + 3`
 * (`appendEventsParams`), appended only where `when` holds.
 */
export const appendEventsCtes = (first: number, when: string): string =>
  `${incomingCte(first, when)}, deliveries AS (${INSERT_DELIVERIES} RETURNING 1)`;

/** The events as the four parameters of APPEND_EVENTS_SQL / `appendEventsCtes`. */
export function appendEventsParams(events: NewEvent[]): unknown[] {
  return [
    events.map((e) => e.type),
    events.map((e) => e.connectionId ?? null),
    events.map((e) => JSON.stringify(e.data)),
    events.map((e) => e.dedupeKey ?? null),
  ];
}

export async function appendEvents(run: RunQuery, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await run(APPEND_EVENTS_SQL, appendEventsParams(events));
}

export interface StoredEvent {
  id: string;
  type: string;
  occurredAt: Date;
  connectionId: string | null;
  data: Record<string, unknown>;
}

interface EventRow {
  id: string;
  type: string;
  occurred_at: Date;
  connection_id: string | null;
  data: Record<string, unknown>;
}

export const storedEvent = (r: EventRow): StoredEvent => ({
  id: String(r.id),
  type: r.type,
  occurredAt: new Date(r.occurred_at),
  connectionId: r.connection_id,
  data: r.data,
});

/** The event stream as the API and the dispatcher read it. */
@Injectable()
export class EventsRepository {
  constructor(private readonly dataSource: DataSource) {}

  append(events: NewEvent[]): Promise<void> {
    return appendEvents((sql, params) => this.dataSource.query(sql, params), events);
  }

  /** Appends the events in the transaction: they commit with the change they announce. */
  appendIn(tx: Transaction, events: NewEvent[]): Promise<void> {
    return appendEvents((sql, params) => tx.query(sql, params), events);
  }

  /** Events after the cursor (an event id), oldest first, of the given exact types or type prefixes. */
  async page(types: string[], after: string | undefined, limit: number): Promise<StoredEvent[]> {
    const exact = types.filter((t) => !t.endsWith('.'));
    const prefixes = types.filter((t) => t.endsWith('.')).map((t) => `${t.replace(/[\\%_]/g, '\\$&')}%`);
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT id, type, occurred_at, connection_id, data FROM events
        WHERE id > $1 AND ($2::text[] IS NULL OR type = ANY($2::text[]) OR type LIKE ANY($3::text[]))
        ORDER BY id LIMIT $4`,
      [after ?? '0', types.length ? exact : null, prefixes, limit],
    );
    return rows.map(storedEvent);
  }

  /** The latest events, newest first, optionally of one connection and of some types (the console). */
  async recent(types: string[], connectionId: string | undefined, limit: number): Promise<StoredEvent[]> {
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT id, type, occurred_at, connection_id, data FROM events
        WHERE ($1::text[] IS NULL OR type = ANY($1::text[])) AND ($2::uuid IS NULL OR connection_id = $2::uuid)
        ORDER BY id DESC LIMIT $3`,
      [types.length ? types : null, connectionId ?? null, limit],
    );
    return rows.map(storedEvent);
  }

  async find(id: string): Promise<StoredEvent | null> {
    if (!/^\d{1,18}$/.test(id)) return null;
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT id, type, occurred_at, connection_id, data FROM events WHERE id = $1`,
      [id],
    );
    return rows[0] ? storedEvent(rows[0]) : null;
  }

  /** Deletes events (and their deliveries) older than the cutoff; returns how many. */
  async purgeBefore(cutoff: Date): Promise<number> {
    return affectedRows(await this.dataSource.query(`DELETE FROM events WHERE occurred_at < $1`, [cutoff]));
  }
}
