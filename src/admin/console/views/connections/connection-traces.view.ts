import type { SsoTraceEntity } from '../../../../audit/sso-trace.entity';
import { badge } from '../../../../web/components/badges';
import { date, table } from '../../../../web/components/fields';
import { html, type Html } from '../../../../web/html';

/** What happened in one SSO exchange: the reason code, the message, and the detail and SAML message. */
function whatHappened(t: SsoTraceEntity): Html {
  const details =
    t.samlMessage || Object.keys(t.detail ?? {}).length
      ? html`<details><summary>Details</summary><pre>${JSON.stringify(t.detail, null, 2)}</pre>${
          t.samlMessage ? html`<pre>${t.samlMessage}</pre>` : ''
        }</details>`
      : '';
  return html`${t.reason ? html`<code>${t.reason}</code> ` : ''}${t.message}${details}`;
}

/** The connection's recent SSO traces, newest first. */
export function tracesSection(traces: SsoTraceEntity[]): Html {
  const rows = traces.map((t) => [
    date(t.createdAt),
    t.kind,
    t.outcome === 'success' ? badge('ok', 'success') : badge('bad', 'failure'),
    whatHappened(t),
    html`<code>${t.id}</code>`,
  ]);
  return html`<h2 id="traces">Recent SSO traces</h2>${table(
    'Newest first: why logins succeeded or failed',
    ['When', 'Step', 'Outcome', 'What happened', 'Trace id'],
    rows,
    'No SSO activity yet.',
  )}`;
}
