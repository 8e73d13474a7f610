import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { isDatabaseUnavailable } from '../database/database-errors';
import { Transactions } from '../database/transactions';
import { EventsRepository, type StoredEvent } from '../events/events.repository';
import { MetricsService } from '../metrics/metrics.service';
import { OutboundError, OutboundHttp } from '../platform/http/outbound';
import { WebhooksRepository, type WebhookEndpoint } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';
import { runInBackground } from '../common/background';

/** Delays before the next attempt after each failure; then every 4 h, until a day of failures. */
export const RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000];
/** An endpoint that fails this long is disabled (and `webhook.endpoint_disabled` says so). */
export const DISABLE_AFTER_MS = 24 * 3600_000;
const TICK_MS = 1_000;
const MAX_PER_LEASE = 100;

/** The request body of a delivery (Standard Webhooks: `{type, timestamp, data}`). */
export function webhookBody(event: StoredEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.occurredAt.toISOString(), data: event.data });
}

/**
 * Sends webhook deliveries: at least once, one at a time per endpoint and in event order, signed as the
 * Standard Webhooks specification says (`webhook-id` = the event id, so a retry or redelivery carries the
 * same id; `webhook-timestamp`; `webhook-signature: v1,<HMAC-SHA256>`) through the outbound policy. An
 * instance leases an endpoint before sending to it, so one delivery goes out once across instances; a
 * killed instance's lease lapses (WEBHOOK_LEASE_SECONDS) and another sends what it had not finished.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly owner = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly leaseMs: number;

  constructor(
    private readonly transactions: Transactions,
    private readonly webhooks: WebhooksRepository,
    private readonly events: EventsRepository,
    private readonly service: WebhooksService,
    private readonly outbound: OutboundHttp,
    private readonly metrics: MetricsService,
    @Inject(BRIDGE_CONFIG) config: BridgeConfig,
  ) {
    this.leaseMs = config.webhookLeaseSeconds * 1000;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => runInBackground('Webhook delivery', this.tick()), TICK_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One round: lease the endpoints whose queue head is due and work through each queue. */
  tick(): Promise<void> {
    if (this.running || this.stopped) return this.running ?? Promise.resolve();
    this.running = this.round()
      .catch((err: unknown) => {
        // The database away (restart, failover): skip this turn quietly, the next one retries.
        if (!isDatabaseUnavailable(err)) this.logger.warn(`Webhook round failed: ${(err as Error).message}`);
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async round(): Promise<void> {
    const leased = await this.webhooks.lease(this.owner, this.leaseMs, 10);
    await Promise.all(leased.map((e) => this.drain(e)));
  }

  private async drain(endpoint: WebhookEndpoint): Promise<void> {
    const started = Date.now();
    try {
      const signer = new Webhook(this.service.secretOf(endpoint));
      for (let n = 0; n < MAX_PER_LEASE && !this.stopped && Date.now() - started < this.leaseMs / 2; n++) {
        const head = await this.webhooks.dueHead(endpoint.id);
        if (!head) return;
        const ok = await this.send(endpoint, signer, head.delivery.id, head.delivery.attempts, head.event);
        if (!ok) return;
      }
    } finally {
      await this.webhooks.release(endpoint.id, this.owner);
    }
  }

  /** One attempt; true when delivered (the queue may go on). */
  private async send(
    endpoint: WebhookEndpoint,
    signer: Webhook,
    deliveryId: string,
    attempts: number,
    event: StoredEvent,
  ): Promise<boolean> {
    const body = webhookBody(event);
    const id = `evt_${event.id}`;
    const now = new Date();
    let status: number | null = null;
    let error: string;
    try {
      const res = await this.outbound.request(endpoint.url, {
        purpose: 'webhook',
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'saml-bridge-webhooks',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signer.sign(id, now, body),
        },
        body,
        maxBytes: 64 * 1024,
      });
      status = res.status;
      if (res.status >= 200 && res.status < 300) {
        await this.webhooks.markDelivered(deliveryId, res.status);
        await this.webhooks.healthy(endpoint.id);
        this.metrics.webhookDeliveries.inc({ result: 'delivered' });
        return true;
      }
      error = `status_${res.status}`;
    } catch (err) {
      error = err instanceof OutboundError ? `${err.reason}: ${err.message}` : (err as Error).message;
    }
    this.metrics.webhookDeliveries.inc({ result: 'failed' });
    const since = await this.webhooks.failing(endpoint.id);
    if (Date.now() - since.getTime() >= DISABLE_AFTER_MS) {
      await this.webhooks.markAttemptFailed(deliveryId, status, error, null);
      await this.disable(endpoint, since, error);
      return false;
    }
    const delay = RETRY_DELAYS_MS[Math.min(attempts, RETRY_DELAYS_MS.length - 1)] as number;
    await this.webhooks.markAttemptFailed(deliveryId, status, error, delay);
    this.logger.warn(
      `Webhook ${endpoint.id} delivery of event ${event.id} failed (${error}); retry in ${delay / 1000} s`,
    );
    return false;
  }

  private async disable(endpoint: WebhookEndpoint, since: Date, error: string): Promise<void> {
    await this.transactions.run(async (tx) => {
      await this.webhooks.disable(tx, endpoint.id, `failing since ${since.toISOString()}: ${error}`);
      await this.events.appendIn(tx, [
        {
          type: 'webhook.endpoint_disabled',
          data: {
            webhookId: endpoint.id,
            url: endpoint.url,
            failingSince: since.toISOString(),
            lastError: error.slice(0, 200),
          },
        },
      ]);
    });
    this.logger.warn(`Webhook ${endpoint.id} disabled after a day of failures (${error})`);
  }
}
