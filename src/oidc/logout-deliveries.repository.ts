import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { returnedRows } from '../database/returned-rows';

/** last_error while an instance is sending (claimed): the previous error follows. */
export const SENDING = 'sending|';

/** A back-channel logout token to send (claimed by this instance). */
export interface Delivery {
  id: string;
  client_id: string;
  sub: string;
  sid: string | null;
  attempts: number;
}

/** A delivery's state column. */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** An app's latest delivery as stored, with when it was last tried and how many of its deliveries wait. */
export interface LatestDeliveryRow {
  client_id: string;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  last_attempt_at: Date | string | null;
  pending: string | number;
}

/**
 * The backchannel_deliveries table: back-channel logout tokens queued, sent, retried and failed. A
 * pending delivery is claimed with SKIP LOCKED, so two instances never send the same one.
 */
@Injectable()
export class LogoutDeliveriesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Queues a delivery, due now. */
  async queue(clientId: string, sub: string, sid: string | null): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO backchannel_deliveries (client_id, sub, sid) VALUES ($1, $2, $3)`,
      [clientId, sub, sid],
    );
  }

  /** Records a delivery made (by oidc-provider) at the first attempt. */
  async insertDelivered(clientId: string, sub: string, sid: string | null): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO backchannel_deliveries (client_id, sub, sid, status, attempts, delivered_at)
         VALUES ($1, $2, $3, 'delivered', 1, now())`,
      [clientId, sub, sid],
    );
  }

  /**
   * Records a delivery whose first attempt (by oidc-provider) failed: pending, retried in `retryInSeconds`,
   * or failed.
   */
  async insertFailedAttempt(
    clientId: string,
    sub: string,
    sid: string | null,
    status: 'pending' | 'failed',
    lastError: string,
    retryInSeconds: number,
  ): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO backchannel_deliveries (client_id, sub, sid, status, attempts, last_error, next_attempt_at)
         VALUES ($1, $2, $3, $4, 1, $5, now() + make_interval(secs => $6))`,
      [clientId, sub, sid, status, lastError, retryInSeconds],
    );
  }

  /**
   * The latest delivery of each app (of these apps, or all): its last attempt derived from the next one
   * and the retry delays (`retryDelaysS[attempts - 1]` after attempt N), and its app's pending count.
   */
  latestPerClient(clientIds: string[] | null, retryDelaysS: number[]): Promise<LatestDeliveryRow[]> {
    return this.dataSource.query(
      `WITH d AS (
         SELECT client_id, status, attempts, last_error,
                CASE WHEN status = 'delivered' THEN delivered_at
                     WHEN attempts = 0 THEN NULL
                     WHEN status = 'failed' THEN next_attempt_at
                     WHEN starts_with(coalesce(last_error, ''), '${SENDING}') THEN next_attempt_at - interval '5 minutes'
                     ELSE next_attempt_at - make_interval(secs => ($2::int[])[attempts]) END AS last_attempt_at,
                created_at
           FROM backchannel_deliveries WHERE $1::text[] IS NULL OR client_id = ANY($1::text[]))
       SELECT DISTINCT ON (client_id) client_id, status, attempts, last_error, last_attempt_at,
              (SELECT count(*) FROM d p WHERE p.client_id = d.client_id AND p.status = 'pending') AS pending
         FROM d ORDER BY client_id, coalesce(last_attempt_at, created_at) DESC`,
      [clientIds, retryDelaysS],
    );
  }

  /**
   * Claims up to `limit` due pending deliveries: each gets a 5-minute lease, one more attempt and the
   * SENDING mark on its last error.
   */
  async claimDue(limit: number): Promise<Delivery[]> {
    const claimed: unknown = await this.dataSource.query(
      `UPDATE backchannel_deliveries SET next_attempt_at = now() + interval '5 minutes', attempts = attempts + 1,
              last_error = CASE WHEN starts_with(coalesce(last_error, ''), '${SENDING}') THEN last_error
                                ELSE '${SENDING}' || coalesce(last_error, '') END
        WHERE id IN (SELECT id FROM backchannel_deliveries WHERE status = 'pending' AND next_attempt_at <= now()
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING id, client_id, sub, sid, attempts`,
      [limit],
    );
    return returnedRows<Delivery>(claimed);
  }

  async markDelivered(id: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE backchannel_deliveries SET status = 'delivered', delivered_at = now(), last_error = NULL WHERE id = $1`,
      [id],
    );
  }

  /** Records a failed attempt: pending again in `retryInSeconds`, or failed. */
  async markAttemptFailed(
    id: string,
    lastError: string,
    status: 'pending' | 'failed',
    retryInSeconds: number,
  ): Promise<void> {
    await this.dataSource.query(
      `UPDATE backchannel_deliveries SET last_error = $2, status = $3, next_attempt_at = now() + make_interval(secs => $4)
        WHERE id = $1`,
      [id, lastError, status, retryInSeconds],
    );
  }
}
