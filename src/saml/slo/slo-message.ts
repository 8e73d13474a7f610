import type { Document, Element } from 'xmldom-0.9';
import type { ConnectionEntity } from '../../connections/connection.entity';
import type { SamlRequestEntity } from '../saml-request.entity';

/** What every check of a logout message is measured against: this connection, this SP's SLO URL, now. */
export interface SloPolicy {
  sloUrl: string;
  idpEntityId: string;
  allowSha1: boolean;
  clockSkewMs: number;
  now: Date;
}

/** A logout message as it arrived, on either binding. */
export type SloInput =
  { binding: 'HTTP-Redirect'; rawQuery: string } | { binding: 'HTTP-POST'; body: Record<string, unknown> };

export type SloField = 'SAMLRequest' | 'SAMLResponse';

/** What the checks of a LogoutRequest or LogoutResponse found, for the logout that follows them. */
export interface LogoutFacts {
  kind: 'LogoutRequest' | 'LogoutResponse';
  id: string;
  issuer: string;
  destination?: string;
  inResponseTo?: string;
  statusCode?: string;
  nameId?: string;
  sessionIndexes: string[];
  notOnOrAfter?: Date;
  issueInstant: Date;
}

/** The Redirect binding's signature over the exact octets received (bindings §3.4.4.1). */
export interface RedirectSignature {
  /** `SAMLRequest=…[&RelayState=…]&SigAlg=…` as received. */
  signedOctets: string;
  hash: string;
  signature: Buffer;
}

/**
 * One logout message on its way through the SLO pipeline (slo/pipeline.ts): the input, and what each check
 * found for the checks after it. A field is set by the check that names it and read only by later ones.
 */
export interface SloMessage {
  readonly connection: ConnectionEntity;
  readonly input: SloInput;
  readonly policy: SloPolicy;
  /** binding intake */
  field?: SloField;
  xml?: string;
  relayState?: string;
  /** binding intake (Redirect): the query parameters exactly as received */
  params?: Map<string, string>;
  /** message intake */
  doc?: Document;
  /** logout shape */
  root?: Element;
  kind?: LogoutFacts['kind'];
  /** signature shape (Redirect): what the signature verification checks */
  redirectSignature?: RedirectSignature;
  /** logout addressing and windows: everything the message says, checked */
  logout?: LogoutFacts;
  /** InResponseTo binding (LogoutResponse): our logout request it answers */
  pending?: SamlRequestEntity;
}
