import type { OidcClientEntity } from '../../../../oidc/oidc-client.entity';
import type { BackchannelDeliveryState } from '../../../../oidc/oidc-logout.service';
import { date } from '../../../../web/components/fields';
import { html, type Html } from '../../../../web/html';

const DELIVERY_RESULTS: Record<BackchannelDeliveryState['result'], string> = {
  delivered: 'delivered',
  retrying: 'failed, will retry',
  failed: 'failed, no retry left',
  queued: 'queued',
  sending: 'being sent',
};

/** The latest back-channel logout delivery in a cell of the apps list. */
export function deliveryCell(d: BackchannelDeliveryState | undefined): Html {
  return d
    ? html`${DELIVERY_RESULTS[d.result]}${d.cause ? html` (<code>${d.cause}</code>)` : ''}`
    : html`<span class="muted">—</span>`;
}

/** The app's latest back-channel logout delivery (nothing when the app has none and no URI). */
export function deliverySection(client: OidcClientEntity, d: BackchannelDeliveryState | undefined): Html {
  if (!client.backchannelLogoutUri && !d) return html``;
  const body = d
    ? html`<p>Last delivery: <strong>${DELIVERY_RESULTS[d.result]}</strong>${
        d.lastAttemptAt ? html` at ${date(d.lastAttemptAt)}` : ''
      } · attempts ${String(d.attempts)}${d.cause ? html` · cause <code>${d.cause}</code>` : ''}${
        d.pending ? html` · ${String(d.pending)} waiting for a retry` : ''
      }</p>${d.error ? html`<p class="muted">${d.error}</p>` : ''}`
    : html`<p class="muted">No back-channel logout has been sent to this app yet.</p>`;
  return html`<h2>Back-channel logout</h2>${body}`;
}
