import { html, type Html } from '../html';

/** The body of an admin or setup error page: the message (announced), its reason code and the request id. */
export function errorDetails(input: { message: string; reason: string; requestId?: string }): Html {
  return html`<p role="alert">${input.message}</p><p class="muted">Reason: <code>${input.reason}</code>${
    input.requestId ? html`<br>Request id: <code>${input.requestId}</code>` : ''
  }</p>`;
}
