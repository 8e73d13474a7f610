import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { returnedRows } from '../database/returned-rows';
import { storedEvent, type StoredEvent } from '../events/events.repository';

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  secretSealed: string;
  enabled: boolean;
  disabledReason: string | null;
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

interface EndpointRow {
  id: string;
  url: string;
  description: string | null;
  event_types: string[];
  secret_sealed: string;
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: Date | null;
  created_at: Date;
  updated_at: Date;
}

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
}

const endpoint = (r: EndpointRow): WebhookEndpoint => ({
  id: r.id,
  url: r.url,
  description: r.description,
  eventTypes: r.event_types,
  secretSealed: r.secret_sealed,
  enabled: r.enabled,
  disabledReason: r.disabled_reason,
  failingSince: r.failing_since ? new Date(r.failing_since) : null,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

const delivery = (r: DeliveryRow): WebhookDelivery => ({
  id: r.id,
  endpointId: r.endpoint_id,
  eventId: String(r.event_id),
  eventType: r.event_type,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: new Date(r.next_attempt_at),
  lastAttemptAt: r.last_attempt_at ? new Date(r.last_attempt_at) : null,
  lastStatus: r.last_status,
  lastError: r.last_error,
  deliveredAt: r.delivered_at ? new Date(r.delivered_at) : null,
  createdAt: new Date(r.created_at),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The head of an endpoint's queue: its oldest pending delivery, in event order. */
const HEAD = `(SELECT d.next_attempt_at FROM webhook_deliveries d
                WHERE d.endpoint_id = e.id AND d.status = 'pending' ORDER BY d.event_id, d.created_at LIMIT 1)`;

/** Webhook endpoints and their deliveries (tables webhook_endpoints, webhook_deliveries). */
@Injectable()
export class WebhooksRepository {
  constructor(private readonly dataSource: DataSource) {}

  private m(manager?: EntityManager) {
    return manager ?? this.dataSource.manager;
  }

  async insert(
    manager: EntityManager,
    e: { url: string; description: string | null; eventTypes: string[]; secretSealed: string },
  ): Promise<WebhookEndpoint> {
    const rows = returnedRows<EndpointRow>(
      await manager.query(
        `INSERT INTO webhook_endpoints (url, description, event_types, secret_sealed) VALUES ($1, $2, $3, $4) RETURNING *`,
        [e.url, e.description, e.eventTypes, e.secretSealed],
      ),
    );
    return endpoint(rows[0] as EndpointRow);
  }

  async list(): Promise<WebhookEndpoint[]> {
    const rows: EndpointRow[] = await this.dataSource.query(
      `SELECT * FROM webhook_endpoints ORDER BY created_at, id`,
    );
    return rows.map(endpoint);
  }

  async find(id: string, manager?: EntityManager, lock = false): Promise<WebhookEndpoint | null> {
    if (!UUID.test(id)) return null;
    const rows: EndpointRow[] = await this.m(manager).query(
      `SELECT * FROM webhook_endpoints WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0] ? endpoint(rows[0]) : null;
  }

  async update(
    manager: EntityManager,
    id: string,
    e: { url: string; description: string | null; eventTypes: string[]; enabled: boolean },
  ): Promise<WebhookEndpoint> {
    const rows = returnedRows<EndpointRow>(
      await manager.query(
        `UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4, enabled = $5,
           disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END,
           failing_since = CASE WHEN $5 THEN NULL ELSE failing_since END, updated_at = now()
         WHERE id = $1 RETURNING *`,
        [id, e.url, e.description, e.eventTypes, e.enabled],
      ),
    );
    return endpoint(rows[0] as EndpointRow);
  }

  async delete(manager: EntityManager, id: string): Promise<void> {
    await manager.query(`DELETE FROM webhook_endpoints WHERE id = $1`, [id]);
  }

  /** An endpoint's deliveries, newest first, before the cursor (a delivery's created_at + id). */
  async deliveries(
    endpointId: string,
    limit: number,
    before?: { at: Date; id: string },
  ): Promise<WebhookDelivery[]> {
    const rows: DeliveryRow[] = await this.dataSource.query(
      `SELECT d.*, ev.type AS event_type FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id
        WHERE d.endpoint_id = $1 AND ($2::timestamptz IS NULL OR (d.created_at, d.id) < ($2, $3::uuid))
        ORDER BY d.created_at DESC, d.id DESC LIMIT $4`,
      [endpointId, before?.at ?? null, before?.id ?? '00000000-0000-0000-0000-000000000000', limit],
    );
    return rows.map(delivery);
  }

  async findDelivery(endpointId: string, id: string): Promise<WebhookDelivery | null> {
    if (!UUID.test(id)) return null;
    const rows: DeliveryRow[] = await this.dataSource.query(
      `SELECT d.*, ev.type AS event_type FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id
        WHERE d.endpoint_id = $1 AND d.id = $2`,
      [endpointId, id],
    );
    return rows[0] ? delivery(rows[0]) : null;
  }

  /** Queues the event of a delivery again for its endpoint (a new delivery; same webhook-id). */
  async requeue(endpointId: string, eventId: string): Promise<WebhookDelivery> {
    const rows = returnedRows<{ id: string }>(
      await this.dataSource.query(
        `INSERT INTO webhook_deliveries (endpoint_id, event_id) VALUES ($1, $2) RETURNING id`,
        [endpointId, eventId],
      ),
    );
    return (await this.findDelivery(endpointId, (rows[0] as { id: string }).id)) as WebhookDelivery;
  }

  /** Appends a `webhook.test` event delivered to this endpoint only. */
  async queueTest(endpointId: string, data: Record<string, unknown>): Promise<void> {
    await this.dataSource.query(
      `WITH ev AS (INSERT INTO events (type, data) VALUES ('webhook.test', $2) RETURNING id)
       INSERT INTO webhook_deliveries (endpoint_id, event_id) SELECT $1, id FROM ev`,
      [endpointId, JSON.stringify(data)],
    );
  }

  /**
   * Leases up to `limit` enabled endpoints whose queue head is due and that no instance holds: this
   * instance alone sends to them until the lease ends (a killed instance's lease lapses; another resumes).
   */
  async lease(owner: string, leaseMs: number, limit: number): Promise<WebhookEndpoint[]> {
    const rows = returnedRows<EndpointRow>(
      await this.dataSource.query(
        `UPDATE webhook_endpoints w SET lease_until = now() + make_interval(secs => $2), lease_owner = $1
          WHERE w.id IN (
            SELECT e.id FROM webhook_endpoints e
             WHERE e.enabled AND (e.lease_until IS NULL OR e.lease_until < now()) AND ${HEAD} <= now()
             ORDER BY e.id LIMIT $3 FOR UPDATE SKIP LOCKED)
          RETURNING w.*`,
        [owner, leaseMs / 1000, limit],
      ),
    );
    return rows.map(endpoint);
  }

  async release(endpointId: string, owner: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_endpoints SET lease_until = NULL, lease_owner = NULL WHERE id = $1 AND lease_owner = $2`,
      [endpointId, owner],
    );
  }

  /** The head of the endpoint's queue with its event, when it is due. */
  async dueHead(endpointId: string): Promise<{ delivery: WebhookDelivery; event: StoredEvent } | null> {
    const rows: Array<
      DeliveryRow & {
        ev_id: string;
        ev_type: string;
        ev_occurred_at: Date;
        ev_connection_id: string | null;
        ev_data: Record<string, unknown>;
        due: boolean;
      }
    > = await this.dataSource.query(
      `SELECT d.*, ev.type AS event_type, ev.id AS ev_id, ev.type AS ev_type, ev.occurred_at AS ev_occurred_at,
                ev.connection_id AS ev_connection_id, ev.data AS ev_data, d.next_attempt_at <= now() AS due
           FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id
          WHERE d.endpoint_id = $1 AND d.status = 'pending'
          ORDER BY d.event_id, d.created_at LIMIT 1`,
      [endpointId],
    );
    const r = rows[0];
    if (!r || !r.due) return null;
    return {
      delivery: delivery(r),
      event: storedEvent({
        id: r.ev_id,
        type: r.ev_type,
        occurred_at: r.ev_occurred_at,
        connection_id: r.ev_connection_id,
        data: r.ev_data,
      }),
    };
  }

  async markDelivered(id: string, status: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_attempt_at = now(),
         last_status = $2, last_error = NULL, delivered_at = now() WHERE id = $1`,
      [id, status],
    );
  }

  /** Records a failed attempt; `retryInMs` null makes it final. */
  async markAttemptFailed(
    id: string,
    status: number | null,
    error: string,
    retryInMs: number | null,
  ): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = now(), last_status = $2,
         last_error = $3, status = CASE WHEN $4::float8 IS NULL THEN 'failed' ELSE 'pending' END,
         next_attempt_at = CASE WHEN $4::float8 IS NULL THEN next_attempt_at ELSE now() + make_interval(secs => $4::float8) END
       WHERE id = $1`,
      [id, status, error.slice(0, 500), retryInMs === null ? null : retryInMs / 1000],
    );
  }

  /** Marks the endpoint failing since now (if it was not); returns since when it fails. */
  async failing(endpointId: string): Promise<Date> {
    const rows = returnedRows<{ failing_since: Date }>(
      await this.dataSource.query(
        `UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now()) WHERE id = $1 RETURNING failing_since`,
        [endpointId],
      ),
    );
    return new Date((rows[0] as { failing_since: Date }).failing_since);
  }

  async healthy(endpointId: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`,
      [endpointId],
    );
  }

  /** Disables an endpoint (a day of failures); its pending deliveries stay, for a redeliver after a fix. */
  async disable(manager: EntityManager, endpointId: string, reason: string): Promise<void> {
    await manager.query(
      `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, lease_until = NULL, lease_owner = NULL,
         updated_at = now() WHERE id = $1`,
      [endpointId, reason.slice(0, 200)],
    );
  }
}
