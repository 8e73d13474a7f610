import type { VerifyResult } from '../../../../audit/audit.service';
import { html, type Html } from '../../../../web/html';
import { consoleLayout, type ConsoleChrome } from '../../../../web/layout';

/** The result of recomputing the audit chain. */
export function auditVerifyPage(input: {
  session: NonNullable<ConsoleChrome['session']>;
  result: VerifyResult;
}): Html {
  const { result } = input;
  const body = result.ok
    ? html`<p role="status" class="notice" id="verify-result">Chain OK: ${result.checked} events verified intact. Last event <code>${result.lastSeq}</code>, hash <code>${result.lastHash}</code>.</p><p class="muted">Keep the last seq and hash outside the bridge: the API's verify with <code>anchorSeq</code> and <code>anchorHash</code> then also detects a cut of the newest events.</p>`
    : html`<div role="alert" class="error-summary" id="verify-result">Chain broken at seq <code>${result.firstBrokenSeq}</code>: <code>${result.reason}</code> (${result.checked} events verified intact before it).</div>`;
  return consoleLayout(
    { title: 'Audit chain verification', session: input.session, active: 'audit' },
    html`${body}<p><a href="/admin/audit">Back to the audit log</a></p>`,
  );
}
