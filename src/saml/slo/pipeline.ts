import { need } from '../acs/acs-message';
import { MAX_ASSERTION_AGE_MS } from '../acs/checks/assertion-issuer';
import { parseSamlXml } from '../acs/checks/message-intake';
import { checkReplay } from '../acs/checks/replay';
import type { SamlRequestEntity } from '../saml-request.entity';
import { readPostBinding, readRedirectBinding } from './checks/binding-intake';
import { checkLogoutAddressing } from './checks/logout-addressing';
import { checkLogoutInResponseTo } from './checks/logout-in-response-to';
import { checkLogoutShape } from './checks/logout-shape';
import { checkPostSignature, checkRedirectSignature } from './checks/logout-signature';
import { checkPostSignatureShape, checkRedirectSignatureShape } from './checks/logout-signature-shape';
import { checkLogoutRequestSubject, logoutResponseStatus } from './checks/logout-subject';
import { checkLogoutWindows } from './checks/logout-windows';
import type { LogoutFacts, SloMessage } from './slo-message';

/** The I/O the checks need, provided by SloService (database, the node-saml engine). */
export interface SloPorts {
  /** node-saml verifies the enveloped signature of a POST-binding message; rejects when it does not. */
  verifyPostSignature(xml: string, field: 'SAMLRequest' | 'SAMLResponse'): Promise<void>;
  /** Records a LogoutRequest ID until `until`; false when it was already seen. */
  rememberLogoutRequest(requestId: string, until: Date): Promise<boolean>;
  /** Takes our pending logout request out (single use), or null. */
  consumeLogoutRequest(requestId: string): Promise<SamlRequestEntity | null>;
}

export interface SloCheck {
  /** What it checks; its file is checks/<name with dashes>.ts, or the ACS check it reuses. */
  readonly name: string;
  run(m: SloMessage, ports: SloPorts): void | Promise<void>;
}

/**
 * Single logout, in order: every check a LogoutRequest or LogoutResponse passes, on either binding, before
 * it ends a session. Where the rule is the ACS's (XML intake and safety, unique IDs, plain values, strict
 * times, signature shapes and the SHA-1 policy, replay), the ACS check runs. Everything the message says is
 * checked before its signature is verified, so a refusal names the first rule it breaks; nothing that
 * changes state (the replay cache, our pending logout request) runs before the signature verified.
 */
export const SLO_CHECKS: readonly SloCheck[] = [
  {
    name: 'binding intake',
    run: (m) => {
      const read =
        m.input.binding === 'HTTP-Redirect'
          ? readRedirectBinding(m.input.rawQuery)
          : { ...readPostBinding(m.input.body), params: undefined };
      m.field = read.field;
      m.xml = read.xml;
      m.relayState = read.relayState;
      m.params = read.params;
    },
  },
  {
    name: 'message intake',
    run: (m) => {
      m.doc = parseSamlXml(need(m.xml, 'the message'));
    },
  },
  {
    name: 'logout shape',
    run: (m) => {
      const { root, kind } = checkLogoutShape(need(m.doc, 'the document'), need(m.field, 'the field'));
      m.root = root;
      m.kind = kind;
    },
  },
  {
    name: 'logout signature shape',
    run: (m) => {
      if (m.input.binding === 'HTTP-Redirect') {
        m.redirectSignature = checkRedirectSignatureShape(
          m.input.rawQuery,
          need(m.params, 'the query parameters'),
          need(m.field, 'the field'),
          m.policy,
        );
      } else {
        checkPostSignatureShape(need(m.doc, 'the document'), need(m.root, 'the message'), m.policy);
      }
    },
  },
  {
    name: 'logout addressing and windows',
    run: (m) => {
      const root = need(m.root, 'the message');
      const kind = need(m.kind, 'the kind');
      const addressing = checkLogoutAddressing(root, m.policy);
      const windows = checkLogoutWindows(root, m.policy);
      const facts: LogoutFacts = {
        kind,
        id: root.getAttribute('ID') as string,
        ...addressing,
        ...windows,
        inResponseTo: root.getAttribute('InResponseTo') || undefined,
        sessionIndexes: [],
      };
      if (kind === 'LogoutResponse') facts.statusCode = logoutResponseStatus(root).statusCode;
      m.logout = facts;
    },
  },
  {
    name: 'logout signature',
    run: async (m, ports) => {
      if (m.input.binding === 'HTTP-Redirect') {
        checkRedirectSignature(
          need(m.redirectSignature, 'the Redirect signature'),
          m.connection.idp.signingCertificates.map((c) => c.pem),
        );
      } else {
        const xml = need(m.xml, 'the message');
        const field = need(m.field, 'the field');
        await checkPostSignature(() => ports.verifyPostSignature(xml, field));
      }
    },
  },
  {
    name: 'logout subject',
    run: (m) => {
      const logout = need(m.logout, 'the logout facts');
      if (logout.kind !== 'LogoutRequest') return;
      Object.assign(logout, checkLogoutRequestSubject(need(m.root, 'the message')));
    },
  },
  {
    name: 'replay',
    run: async (m, ports) => {
      const logout = need(m.logout, 'the logout facts');
      if (logout.kind !== 'LogoutRequest') return;
      // A captured LogoutRequest must not end the user's next session: each ID is accepted once, until
      // its NotOnOrAfter (or the latest IssueInstant the windows accept).
      const until = logout.notOnOrAfter ?? new Date(logout.issueInstant.getTime() + MAX_ASSERTION_AGE_MS);
      await checkReplay(
        { id: logout.id, notOnOrAfter: until },
        m.policy.clockSkewMs,
        (id, at) => ports.rememberLogoutRequest(id, at),
        { message: 'This LogoutRequest was already processed.', detail: { logoutRequestId: logout.id } },
      );
    },
  },
  {
    name: 'logout InResponseTo',
    run: async (m, ports) => {
      const logout = need(m.logout, 'the logout facts');
      if (logout.kind !== 'LogoutResponse') return;
      m.pending = await checkLogoutInResponseTo(logout.inResponseTo, (id) => ports.consumeLogoutRequest(id));
    },
  },
];

/** Runs the checks in order; the first refusal ends the run. */
export async function runSloPipeline(m: SloMessage, ports: SloPorts): Promise<LogoutFacts> {
  for (const check of SLO_CHECKS) await check.run(m, ports);
  return need(m.logout, 'the logout facts');
}
