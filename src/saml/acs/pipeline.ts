import type { LoadedSpKey } from '../../keys/sp-keys.service';
import type { AssertionDecryption, EngineOutcome } from '../saml-engine-pool';
import type { SamlRequestEntity } from '../saml-request.entity';
import { SamlRejection } from '../saml-rejection';
import { type AcsMessage, need } from './acs-message';
import { pendingAuthnOf } from '../requested-authn';
import { checkAssertionIssuer } from './checks/assertion-issuer';
import { checkAuthnContext } from './checks/authn-context';
import { checkConditionsAndWindows } from './checks/conditions-and-windows';
import { decryptInPlace } from './checks/decryption';
import { checkEncryptionEnvelope, encryptedAssertionsOf } from './checks/encryption-envelope';
import { encryptedAssertionInvalid } from './checks/engine-verification';
import { checkInResponseToBinding } from './checks/in-response-to-binding';
import { parseSamlXml } from './checks/message-intake';
import { checkMessageShape } from './checks/message-shape';
import { checkPendingRequest } from './checks/pending-request';
import { checkRequiredSignature } from './checks/required-signature';
import { checkResponseAddressing } from './checks/response-addressing';
import { assertionFacts, checkSignedAssertion } from './checks/signed-assertion';
import { checkSignatureShapes } from './checks/signature-shape';
import { type AcceptOutcome, checkSingleUse } from './checks/single-use';
import { checkSubjectConfirmation } from './checks/subject-confirmation';
import { checkSubjectMapping } from './checks/subject-mapping';
import { checkUserState } from './checks/user-state';

/** The I/O the checks need, provided by SamlService (database, SP keys, the node-saml engine pool). */
export interface AcsPorts {
  /** The pending AuthnRequest, unexpired, or null (read: acceptLogin takes it). */
  findRequest(requestId: string): Promise<SamlRequestEntity | null>;
  decryptionKeys(): Promise<LoadedSpKey[]>;
  /** Decrypts the EncryptedAssertions with the first key that opens them; refuses with one answer otherwise. */
  decrypt(keys: LoadedSpKey[], xml: string): Promise<AssertionDecryption>;
  /** node-saml: verifies the signatures (and decrypts when not given the plaintexts); refusals mapped. */
  verify(key: LoadedSpKey | undefined, decryption: AssertionDecryption | undefined): Promise<EngineOutcome>;
  /**
   * The login's single-use writes in one statement (SamlStateService.acceptLogin): takes the pending
   * request, records the assertion ID until `until` and stores the login (from the message's facts) for its
   * consumer's continue step.
   */
  acceptLogin(m: AcsMessage, until: Date): Promise<AcceptOutcome>;
  findUser(subject: string): Promise<Parameters<typeof checkUserState>[0]>;
  /** What a disabled user means for the login that is pending (see checkUserState). */
  disabledUserPolicy(pending: SamlRequestEntity | null): Parameters<typeof checkUserState>[1];
}

export interface AcsCheck {
  /** What it checks; its file is checks/<name with dashes>.ts. */
  readonly name: string;
  /**
   * It judges decrypted content before the IdP's signature over it was verified. With AES-CBC (no
   * integrity) its refusals are only told apart when that signature verifies (see runAcsPipeline).
   */
  readonly judgesDecryptedContent?: boolean;
  run(m: AcsMessage, ports: AcsPorts): void | Promise<void>;
}

/**
 * The assertion consumer service, in order: every check a SAML Response passes before it becomes a login.
 * Each check is one file in ./checks and owns its reason codes. The message is decrypted first, and
 * everything after that sees it as if the IdP had sent it in plaintext: encryption never skips a check.
 */
export const ACS_CHECKS: readonly AcsCheck[] = [
  {
    name: 'message intake',
    run: (m) => {
      m.doc = parseSamlXml(m.xml);
    },
  },
  {
    name: 'encryption envelope',
    run: (m) => {
      const doc = need(m.doc, 'the document');
      m.encrypted = encryptedAssertionsOf(doc);
      if (m.encrypted.length > 0) m.malleable = checkEncryptionEnvelope(doc, m.encrypted).malleable;
    },
  },
  {
    name: 'decryption',
    run: async (m, ports) => {
      const encrypted = need(m.encrypted, 'the EncryptedAssertions');
      if (encrypted.length === 0) return;
      const keys = await ports.decryptionKeys();
      m.decryption = await ports.decrypt(keys, m.xml);
      m.decryptionKey = keys[m.decryption.keyIndex];
      decryptInPlace(encrypted, m.decryption);
    },
  },
  {
    name: 'message shape',
    judgesDecryptedContent: true,
    run: (m) => {
      const { root, assertion } = checkMessageShape(need(m.doc, 'the document'));
      m.root = root;
      m.assertionElement = assertion;
    },
  },
  {
    name: 'signature shape',
    judgesDecryptedContent: true,
    run: (m) => {
      const root = need(m.root, 'the Response');
      checkSignatureShapes(
        need(m.doc, 'the document'),
        [root, need(m.assertionElement, 'the assertion')],
        m.policy,
      );
    },
  },
  {
    name: 'response addressing',
    judgesDecryptedContent: true,
    run: (m) => {
      m.response = checkResponseAddressing(
        need(m.root, 'the Response'),
        need(m.assertionElement, 'the assertion'),
        m.policy,
        m.decryption !== undefined,
      );
    },
  },
  {
    name: 'required signature',
    judgesDecryptedContent: true,
    run: (m) => checkRequiredSignature(m.connection, need(m.response, 'the Response facts')),
  },
  {
    name: 'pending request',
    run: async (m, ports) => {
      m.pending = await checkPendingRequest(
        need(m.response, 'the Response facts'),
        { allowIdpInitiated: m.connection.allowIdpInitiated, relayState: m.relayState },
        (id) => ports.findRequest(id),
      );
    },
  },
  {
    name: 'engine verification',
    run: async (m, ports) => {
      m.engine = await ports.verify(m.decryptionKey, m.decryption);
    },
  },
  {
    name: 'signed assertion',
    run: (m) => {
      const profile = need(m.engine, 'the engine outcome').profile;
      if (!profile) throw new SamlRejection('saml_no_assertion', 'The response carries no assertion.');
      m.signed = checkSignedAssertion(parseSamlXml(profile.getAssertionXml?.() ?? ''), m.policy);
    },
  },
  {
    // First after the engine, as node-saml judged them first when it did (Conditions window, then audience).
    name: 'conditions and windows',
    run: (m) => {
      m.windows = checkConditionsAndWindows(need(m.signed, 'the signed assertion').element, m.policy);
    },
  },
  {
    name: 'assertion issuer',
    run: (m) => {
      m.assertionIssuer = checkAssertionIssuer(
        need(m.signed, 'the signed assertion').element,
        m.policy,
      ).issuer;
    },
  },
  {
    name: 'subject confirmation',
    run: (m) => {
      const signed = need(m.signed, 'the signed assertion');
      m.subject = checkSubjectConfirmation(signed.element, m.policy);
      // Everything the signed assertion says, checked, for the checks after it and the login.
      m.assertion = assertionFacts(signed.element, {
        id: signed.id,
        issuer: need(m.assertionIssuer, 'the assertion issuer'),
        ...m.subject,
        ...need(m.windows, 'the conditions'),
      });
    },
  },
  {
    name: 'InResponseTo binding',
    run: (m) =>
      checkInResponseToBinding(
        need(m.pending, 'the pending request'),
        need(m.response, 'the Response facts'),
        need(m.assertion, 'the assertion facts'),
      ),
  },
  {
    name: 'authn context',
    run: (m) => {
      const pending = need(m.pending, 'the pending request');
      if (!pending) return;
      checkAuthnContext(need(m.assertion, 'the assertion facts'), pendingAuthnOf(pending.context), {
        requestedAt: pending.createdAt,
        now: m.policy.now,
        clockSkewMs: m.policy.clockSkewMs,
      });
    },
  },
  {
    name: 'subject mapping',
    run: (m) => {
      m.mapped = checkSubjectMapping(m.connection, need(m.assertion, 'the assertion facts'));
    },
  },
  {
    name: 'user state',
    run: async (m, ports) => {
      const pending = need(m.pending, 'the pending request');
      const existing = await ports.findUser(need(m.mapped, 'the mapped identity').subject);
      checkUserState(existing, ports.disabledUserPolicy(pending));
    },
  },
  {
    // Last: nothing is written until every check passed, and then in one statement (one commit).
    name: 'single use',
    run: async (m, ports) => {
      m.completionCode = await checkSingleUse(
        need(m.pending, 'the pending request'),
        need(m.assertion, 'the assertion facts'),
        m.policy.clockSkewMs,
        (until) => ports.acceptLogin(m, until),
      );
    },
  },
];

/**
 * Runs the checks in order; the first refusal ends the run. With AES-CBC a refusal of decrypted content
 * that was not verified yet could tell an attacker who alters a ciphertext how it decrypted (format oracle,
 * SAML-ATTACKS.md §5): it is told apart only when the IdP's signature over that content verifies, and is
 * otherwise the one answer of every decryption failure.
 */
export async function runAcsPipeline(m: AcsMessage, ports: AcsPorts): Promise<void> {
  for (const check of ACS_CHECKS) {
    try {
      await check.run(m, ports);
    } catch (err) {
      if (
        !(err instanceof SamlRejection) ||
        !check.judgesDecryptedContent ||
        !m.malleable ||
        err.reason === 'saml_encrypted_assertion_invalid'
      ) {
        throw err;
      }
      // The engine judges only the signatures (and decryption): it succeeds exactly when they verify.
      const verified = await ports.verify(m.decryptionKey, m.decryption).then(
        () => true,
        () => false,
      );
      throw verified ? err : encryptedAssertionInvalid({ policy: err.reason });
    }
  }
}
