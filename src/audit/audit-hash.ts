import { sha256 } from '../common/sha256';

/** The prevHash of the first event of the chain. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Deterministic JSON: object keys sorted (recursively, by UTF-16 code units), undefined members dropped,
 * arrays in order. The same value always gives the same text, whatever order its keys were built in or
 * how PostgreSQL's jsonb stored them.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Everything an event's hash covers: every column but the hash itself. */
export interface ChainedEventFields {
  seq: number;
  id: string;
  prevHash: string;
  /** ISO 8601 with milliseconds (`Date.toISOString()`). */
  occurredAt: string;
  type: string;
  actor: { type: string; id: string | null; name: string };
  connectionId: string | null;
  userId: string | null;
  clientId: string | null;
  requestId: string | null;
  ip: string | null;
  data: Record<string, unknown>;
}

/** sha256 (hex) of the canonical JSON of the event's fields, which include the previous event's hash. */
export function eventHash(e: ChainedEventFields): string {
  return sha256(
    canonicalJson({
      seq: e.seq,
      id: e.id,
      prevHash: e.prevHash,
      occurredAt: e.occurredAt,
      type: e.type,
      actor: { type: e.actor.type, id: e.actor.id, name: e.actor.name },
      connectionId: e.connectionId,
      userId: e.userId,
      clientId: e.clientId,
      requestId: e.requestId,
      ip: e.ip,
      data: e.data,
    }),
  );
}
