import { EVENT_TYPES } from '../../../../events/event-catalog';
import type { WebhookDeliveryView, WebhookView } from '../../../../webhooks/webhook-views';
import { badge } from '../../../../web/components/badges';
import { actionButton, copyable, csrfField, date, table, textField } from '../../../../web/components/fields';
import { joined } from '../../../../web/components/join';
import { html, type Html } from '../../../../web/html';

const stateBadge = (w: WebhookView): Html =>
  !w.enabled
    ? badge('bad', 'disabled')
    : w.failingSince
      ? badge('warn', html`failing since ${date(w.failingSince)}`)
      : badge('ok', 'active');

const eventCodes = (events: string[]): Html =>
  joined(
    events.map((e) => html`<code>${e}</code>`),
    html` `,
  );

/** The list of endpoints and the form for a new one. */
export function webhooksListView(input: {
  webhooks: WebhookView[];
  csrf: string;
  error?: string;
  values?: { url?: string; events?: string; description?: string };
}): Html {
  const rows = input.webhooks.map((w) => [
    html`<a href="/admin/webhooks/${w.id}"><code>${w.url}</code></a><br><span class="muted">${w.description}</span>`,
    eventCodes(w.events),
    stateBadge(w),
    date(w.createdAt),
  ]);
  const v = input.values ?? {};
  return html`<p>The bridge pushes events (logins, provisioning, connection health, certificate expiry) to these endpoints, signed as the Standard Webhooks specification says (<code>webhook-id</code>, <code>webhook-timestamp</code>, <code>webhook-signature</code>), at least once, in order per endpoint.</p>${table(
    'Webhook endpoints',
    ['Endpoint', 'Events', 'State', 'Created'],
    rows,
    'No webhook endpoints yet.',
  )}<form method="post" action="/admin/webhooks" class="main">${csrfField(input.csrf)}<fieldset><legend>Add an endpoint</legend>${textField(
    { name: 'url', label: 'URL', type: 'url', value: v.url, error: input.error, required: true },
  )}${textField({
    name: 'events',
    label: 'Events',
    value: v.events ?? '*',
    hint: `Comma-separated, or * for all: ${EVENT_TYPES.join(', ')}.`,
  })}${textField({
    name: 'description',
    label: 'Description (optional)',
    value: v.description,
  })}<button type="submit">Add the endpoint</button></fieldset></form>`;
}

/** The secret of a new endpoint, shown once. */
export function createdWebhookView(w: WebhookView, secret: string): Html {
  return html`<section class="secret" aria-labelledby="secret-heading"><h2 id="secret-heading">Signing secret — shown only now</h2><p>Verify every delivery with it. The bridge keeps it encrypted and cannot show it again; to change it, delete the endpoint and add it again.</p>${copyable(
    'webhook-secret',
    'Signing secret',
    secret,
  )}</section><p><a href="/admin/webhooks/${w.id}">Open the endpoint</a></p>`;
}

function deliveryStatus(d: WebhookDeliveryView): Html {
  if (d.status === 'delivered') return badge('ok', 'delivered');
  if (d.status === 'failed') return badge('bad', 'failed');
  return html`${badge('warn', 'pending')}${
    d.nextAttemptAt ? html`<br><span class="muted">next ${date(d.nextAttemptAt)}</span>` : ''
  }`;
}

/** One endpoint: its state, its deliveries (redeliver), test, pause or resume, delete. */
export function webhookDetailsView(w: WebhookView, deliveries: WebhookDeliveryView[], csrf: string): Html {
  const base = `/admin/webhooks/${w.id}`;
  const rows = deliveries.map((d) => [
    html`<code>${d.eventType}</code><br><span class="muted">evt_${d.eventId}</span>`,
    deliveryStatus(d),
    String(d.attempts),
    d.lastStatus !== null ? String(d.lastStatus) : '—',
    d.lastError || html`<span class="muted">—</span>`,
    date(d.lastAttemptAt),
    actionButton(`${base}/deliveries/${d.id}/redeliver`, csrf, 'Redeliver'),
  ]);
  return html`<p><code>${w.url}</code> · ${stateBadge(w)}${
    w.disabledReason ? html` — ${w.disabledReason}` : ''
  }</p><p>Events: ${eventCodes(w.events)}</p>${actionButton(`${base}/test`, csrf, 'Send a test event')}${actionButton(
    `${base}/${w.enabled ? 'pause' : 'resume'}`,
    csrf,
    w.enabled ? 'Pause deliveries' : 'Resume deliveries',
  )}<h2 id="deliveries">Deliveries</h2>${table(
    'Latest deliveries, newest first',
    ['Event', 'Status', 'Attempts', 'HTTP', 'Last error', 'Last attempt', ''],
    rows,
    'No deliveries yet.',
  )}<h2 id="delete">Delete</h2>${actionButton(`${base}/delete`, csrf, 'Delete this endpoint')}`;
}
