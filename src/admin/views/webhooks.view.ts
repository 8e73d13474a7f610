import { EVENT_TYPES } from '../../events/event-catalog';
import type { WebhookDeliveryView, WebhookView } from '../../webhooks/webhooks.controller';
import { actionButton, copyable, csrfField, date, h, table, textField } from '../console/console-html';

const badge = (w: WebhookView) =>
  !w.enabled
    ? '<span class="badge bad">disabled</span>'
    : w.failingSince
      ? `<span class="badge warn">failing since ${date(w.failingSince)}</span>`
      : '<span class="badge ok">active</span>';

/** The list of endpoints and the form for a new one. */
export function webhooksListView(input: {
  webhooks: WebhookView[];
  csrf: string;
  error?: string;
  values?: { url?: string; events?: string; description?: string };
}): string {
  const rows = input.webhooks.map((w) => [
    `<a href="/admin/webhooks/${h(w.id)}"><code>${h(w.url)}</code></a><br><span class="muted">${h(w.description)}</span>`,
    w.events.map((e) => `<code>${h(e)}</code>`).join(' '),
    badge(w),
    date(w.createdAt),
  ]);
  const v = input.values ?? {};
  return (
    `<p>The bridge pushes events (logins, provisioning, connection health, certificate expiry) to these endpoints, ` +
    `signed as the Standard Webhooks specification says (<code>webhook-id</code>, <code>webhook-timestamp</code>, ` +
    `<code>webhook-signature</code>), at least once, in order per endpoint.</p>` +
    table(
      'Webhook endpoints',
      ['Endpoint', 'Events', 'State', 'Created'],
      rows,
      'No webhook endpoints yet.',
    ) +
    `<form method="post" action="/admin/webhooks" class="main">${csrfField(input.csrf)}` +
    `<fieldset><legend>Add an endpoint</legend>` +
    textField({ name: 'url', label: 'URL', type: 'url', value: v.url, error: input.error, required: true }) +
    textField({
      name: 'events',
      label: 'Events',
      value: v.events ?? '*',
      hint: `Comma-separated, or * for all: ${EVENT_TYPES.join(', ')}.`,
    }) +
    textField({ name: 'description', label: 'Description (optional)', value: v.description }) +
    `<button type="submit">Add the endpoint</button></fieldset></form>`
  );
}

/** The secret of a new endpoint, shown once. */
export function createdWebhookView(w: WebhookView, secret: string): string {
  return (
    `<section class="secret" aria-labelledby="secret-heading"><h2 id="secret-heading">Signing secret — shown only now</h2>` +
    `<p>Verify every delivery with it. The bridge keeps it encrypted and cannot show it again; to change it, ` +
    `delete the endpoint and add it again.</p>` +
    copyable('webhook-secret', 'Signing secret', secret) +
    `</section><p><a href="/admin/webhooks/${h(w.id)}">Open the endpoint</a></p>`
  );
}

/** One endpoint: its state, its deliveries (redeliver), test, pause or resume, delete. */
export function webhookDetailsView(w: WebhookView, deliveries: WebhookDeliveryView[], csrf: string): string {
  const base = `/admin/webhooks/${h(w.id)}`;
  const rows = deliveries.map((d) => [
    `<code>${h(d.eventType)}</code><br><span class="muted">evt_${h(d.eventId)}</span>`,
    d.status === 'delivered'
      ? '<span class="badge ok">delivered</span>'
      : d.status === 'failed'
        ? '<span class="badge bad">failed</span>'
        : `<span class="badge warn">pending</span>${d.nextAttemptAt ? `<br><span class="muted">next ${date(d.nextAttemptAt)}</span>` : ''}`,
    String(d.attempts),
    d.lastStatus !== null ? String(d.lastStatus) : '—',
    h(d.lastError) || '<span class="muted">—</span>',
    date(d.lastAttemptAt),
    actionButton(`${base}/deliveries/${h(d.id)}/redeliver`, csrf, 'Redeliver'),
  ]);
  return (
    `<p><code>${h(w.url)}</code> · ${badge(w)}${w.disabledReason ? ` — ${h(w.disabledReason)}` : ''}</p>` +
    `<p>Events: ${w.events.map((e) => `<code>${h(e)}</code>`).join(' ')}</p>` +
    actionButton(`${base}/test`, csrf, 'Send a test event') +
    actionButton(
      `${base}/${w.enabled ? 'pause' : 'resume'}`,
      csrf,
      w.enabled ? 'Pause deliveries' : 'Resume deliveries',
    ) +
    `<h2 id="deliveries">Deliveries</h2>` +
    table(
      'Latest deliveries, newest first',
      ['Event', 'Status', 'Attempts', 'HTTP', 'Last error', 'Last attempt', ''],
      rows,
      'No deliveries yet.',
    ) +
    `<h2 id="delete">Delete</h2>` +
    actionButton(`${base}/delete`, csrf, 'Delete this endpoint')
  );
}
