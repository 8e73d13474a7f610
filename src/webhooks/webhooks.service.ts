import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../common/domain-error';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { Transactions } from '../database/transactions';
import { EVENT_TYPES } from '../events/event-catalog';
import { SecretBox } from '../keys/secret-box';
import { OutboundError, OutboundHttp } from '../platform/http/outbound';
import { WebhooksRepository, type WebhookDelivery, type WebhookEndpoint } from './webhooks.repository';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';

export interface EndpointInput {
  url?: string;
  events?: string[];
  description?: string | null;
  enabled?: boolean;
}

/** What the audit log keeps of an endpoint (never its secret). */
function auditView(e: WebhookEndpoint): Record<string, unknown> {
  return { url: e.url, events: e.eventTypes, description: e.description, enabled: e.enabled };
}

/**
 * Webhook endpoints: registered by an admin with the events they want (or `*`), each with its own signing
 * secret (`whsec_…`, shown once, sealed at rest with BRIDGE_SECRET). A URL the outbound policy would refuse
 * is refused at registration.
 */
@Injectable()
export class WebhooksService {
  private readonly box: SecretBox;

  constructor(
    private readonly transactions: Transactions,
    private readonly webhooks: WebhooksRepository,
    private readonly outbound: OutboundHttp,
    private readonly audit: AuditService,
    @Inject(BRIDGE_CONFIG) config: BridgeConfig,
  ) {
    this.box = SecretBox.forConfig(config);
  }

  /** The signing secret of an endpoint (for the dispatcher). */
  secretOf(e: WebhookEndpoint): string {
    return this.box.open(e.secretSealed);
  }

  private async checkUrl(url: string): Promise<string> {
    try {
      const parsed = await this.outbound.assertAllowed(url);
      return parsed.toString();
    } catch (err) {
      if (!(err instanceof OutboundError)) throw err;
      throw DomainError.invalid(
        err.reason === 'invalid_url' ? 'webhook_url_invalid' : 'outbound_destination_refused',
        `url: the bridge does not send webhooks there: ${err.message}`,
        { field: 'url', cause: err.reason, ...(err.address ? { address: err.address } : {}) },
      );
    }
  }

  private checkEvents(events: string[] | undefined): string[] {
    if (!events || events.length === 0) {
      throw DomainError.invalid(
        'webhook_events_missing',
        'events: name the event types to send, or ["*"] for all.',
      );
    }
    const unknown = events.filter((e) => e !== '*' && !(EVENT_TYPES as readonly string[]).includes(e));
    if (unknown.length) {
      throw DomainError.invalid(
        'webhook_event_unknown',
        `events: ${unknown.map((u) => JSON.stringify(u)).join(', ')} is not an event type. Known: ${EVENT_TYPES.join(', ')}, or "*".`,
      );
    }
    return [...new Set(events)];
  }

  async create(input: EndpointInput): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    if (!input.url) throw DomainError.invalid('webhook_url_invalid', 'url is required.');
    const url = await this.checkUrl(input.url);
    const eventTypes = this.checkEvents(input.events);
    const secret = WEBHOOK_SECRET_PREFIX + randomBytes(24).toString('base64');
    const endpoint = await this.transactions.run(async (m) => {
      const saved = await this.webhooks.insert(m, {
        url,
        description: input.description?.trim() || null,
        eventTypes,
        secretSealed: this.box.seal(secret),
      });
      await this.audit.record(
        { type: 'webhook.created', data: { webhookId: saved.id, after: auditView(saved) } },
        m,
      );
      return saved;
    });
    return { endpoint, secret };
  }

  list(): Promise<WebhookEndpoint[]> {
    return this.webhooks.list();
  }

  async get(id: string): Promise<WebhookEndpoint> {
    const e = await this.webhooks.find(id);
    if (!e) throw new DomainError('not_found', 'webhook_not_found', `No webhook endpoint ${id}.`);
    return e;
  }

  async update(id: string, input: EndpointInput): Promise<WebhookEndpoint> {
    const url = input.url !== undefined ? await this.checkUrl(input.url) : undefined;
    const events = input.events !== undefined ? this.checkEvents(input.events) : undefined;
    return this.transactions.run(async (m) => {
      const current = await this.webhooks.find(id, m, true);
      if (!current) throw new DomainError('not_found', 'webhook_not_found', `No webhook endpoint ${id}.`);
      const saved = await this.webhooks.update(m, id, {
        url: url ?? current.url,
        eventTypes: events ?? current.eventTypes,
        description:
          input.description !== undefined ? input.description?.trim() || null : current.description,
        enabled: input.enabled ?? current.enabled,
      });
      await this.audit.record(
        {
          type: 'webhook.updated',
          data: { webhookId: id, before: auditView(current), after: auditView(saved) },
        },
        m,
      );
      return saved;
    });
  }

  async delete(id: string): Promise<void> {
    await this.transactions.run(async (m) => {
      const current = await this.webhooks.find(id, m, true);
      if (!current) throw new DomainError('not_found', 'webhook_not_found', `No webhook endpoint ${id}.`);
      await this.webhooks.delete(m, id);
      await this.audit.record(
        { type: 'webhook.deleted', data: { webhookId: id, before: auditView(current) } },
        m,
      );
    });
  }

  async deliveries(id: string, limit: number, before?: { at: Date; id: string }): Promise<WebhookDelivery[]> {
    await this.get(id);
    return this.webhooks.deliveries(id, limit, before);
  }

  /** Sends a delivery's event again (a new delivery with the same webhook-id), after the queue's head. */
  async redeliver(id: string, deliveryId: string): Promise<WebhookDelivery> {
    await this.get(id);
    const d = await this.webhooks.findDelivery(id, deliveryId);
    if (!d)
      throw new DomainError(
        'not_found',
        'webhook_delivery_not_found',
        `No delivery ${deliveryId} of this endpoint.`,
      );
    return this.webhooks.requeue(id, d.eventId);
  }

  /** Queues a `webhook.test` event for this endpoint alone. */
  async sendTest(id: string): Promise<void> {
    const e = await this.get(id);
    await this.webhooks.queueTest(e.id, { webhookId: e.id, message: 'A test event from SAML Bridge.' });
  }
}
