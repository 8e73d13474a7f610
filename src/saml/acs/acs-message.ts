import type { Document, Element } from 'xmldom-0.9';
import type { ConnectionEntity } from '../../connections/connection.entity';
import type { LoadedSpKey } from '../../keys/sp-keys.service';
import type { MappedUser } from '../../mapping/attribute-mapping';
import type { SamlRequestEntity } from '../saml-request.entity';
import type { AssertionDecryption, EngineOutcome } from '../saml-engine-pool';
import { type SamlReason, SamlRejection } from '../saml-rejection';

/** What every check of a response is measured against: this connection, this SP, now. */
export interface PolicyContext {
  acsUrl: string;
  spEntityId: string;
  idpEntityId: string;
  allowSha1: boolean;
  clockSkewMs: number;
  now: Date;
}

/** What the checks of the (decrypted) Response found. */
export interface ResponseFacts {
  responseId: string;
  issuer?: string;
  destination?: string;
  inResponseTo?: string;
  issueInstant?: string;
  /** The assertion was decrypted in place before these checks (they saw it as the IdP serialised it). */
  encrypted: boolean;
  responseSigned: boolean;
  assertionSigned: boolean;
}

/** What the checks of the signed assertion (as node-saml verified it) found. */
export interface AssertionFacts {
  id: string;
  issuer: string;
  nameId: string;
  nameIdFormat?: string;
  sessionIndex?: string;
  sessionNotOnOrAfter?: Date;
  authnContextClassRef?: string;
  authnInstant?: Date;
  notOnOrAfter: Date;
  subjectConfirmationInResponseTo?: string;
  attributes: Record<string, string[]>;
}

/**
 * One response on its way through the ACS pipeline (pipeline.ts): the input, and what each check found
 * for the checks after it. A field is set by the check that names it and read only by later ones.
 */
export interface AcsMessage {
  readonly connection: ConnectionEntity;
  /** The decoded SAMLResponse. */
  readonly xml: string;
  readonly relayState: unknown;
  readonly policy: PolicyContext;
  /** message intake */
  doc?: Document;
  /** encryption envelope: the EncryptedAssertions, decrypted in place by the decryption step. */
  encrypted?: Element[];
  /** encryption envelope: AES-CBC (no integrity), see pipeline.ts. */
  malleable?: boolean;
  /** decryption */
  decryption?: AssertionDecryption;
  decryptionKey?: LoadedSpKey;
  /** message shape */
  root?: Element;
  assertionElement?: Element;
  /** response addressing and signature presence */
  response?: ResponseFacts;
  /** pending request (null: an allowed IdP-initiated response) */
  pending?: SamlRequestEntity | null;
  /** engine verification */
  engine?: EngineOutcome;
  /** signed assertion: the assertion as node-saml verified it (the signed bytes) */
  signed?: { element: Element; id: string };
  /** conditions and windows */
  windows?: { conditionsEnd?: Date; sessionNotOnOrAfter?: Date };
  /** assertion issuer */
  assertionIssuer?: string;
  /** subject confirmation */
  subject?: { nameIdElement: Element; nameId: string; confirmation: Element; notOnOrAfter: Date };
  /** subject confirmation: everything the signed assertion says, checked */
  assertion?: AssertionFacts;
  /** subject mapping */
  mapped?: MappedUser;
  /** single use: the code of the stored login, for its consumer's continue URL */
  completionCode?: string;
}

export function reject(reason: SamlReason, message: string, detail: Record<string, unknown> = {}): never {
  throw new SamlRejection(reason, message, detail);
}

/** The set-by-an-earlier-check fields, asserted (a programming error otherwise, not the client's fault). */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`ACS pipeline: ${what} is read before the check that sets it`);
  return value;
}
