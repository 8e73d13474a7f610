import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
  VersionColumn,
} from 'typeorm';
import type { AttributeMappingOverrides, SubjectSource } from '../mapping/attribute-mapping';
import type { IdpCertificate, IdpEndpoint } from './metadata/idp-metadata.parser';

export const PRESETS = ['okta', 'entra', 'adfs', 'google', 'generic'] as const;
export type Preset = (typeof PRESETS)[number];

export const SIGNATURE_REQUIREMENTS = ['assertion', 'response', 'either', 'both'] as const;
export type SignatureRequirement = (typeof SIGNATURE_REQUIREMENTS)[number];

/**
 * One OIDC `acr` value an app may ask for, and the IdP's SAML authentication context classes that satisfy
 * it (see src/oidc/step-up.ts).
 */
export interface AcrMapping {
  /** The OIDC acr value (acr_values / claims.id_token.acr). */
  acr: string;
  /** AuthnContextClassRefs requested for it, and the only ones accepted as meeting it. */
  classRefs: string[];
  /** RequestedAuthnContext Comparison sent with it (default exact). */
  comparison?: 'exact' | 'minimum' | 'maximum' | 'better';
  /** RFC 8176 methods the ID token's amr states when the IdP answers with one of classRefs. */
  amr?: string[];
}

/** Per-connection SAML policy. Defaults come from the preset; an admin may override each. */
export interface ConnectionOptions {
  /** Which element must carry a valid signature from a metadata certificate. */
  requiredSignature: SignatureRequirement;
  /** Sign AuthnRequests even when the IdP does not ask for it. */
  signAuthnRequests: boolean;
  /** Accepted clock difference with the IdP, in seconds. */
  clockSkewSeconds: number;
  /** Accept RSA-SHA1 signatures and SHA-1 digests (legacy IdPs only). */
  allowSha1: boolean;
  /** Ask the IdP to re-authenticate the user on every login. */
  forceAuthn: boolean;
  /** NameIDPolicy Format to request; undefined lets the IdP choose. */
  nameIdFormat?: string;
  /** RequestedAuthnContext class references; empty requests none. */
  requestedAuthnContext: string[];
  /**
   * OIDC acr values → SAML AuthnContextClassRefs, strongest first (the first entry listing the returned
   * class is the ID token's acr). Unset: the preset's map.
   */
  acrMap?: AcrMapping[];
  /** Binding used to send AuthnRequests: the IdP's first advertised one when unset. */
  authnRequestBinding?: 'HTTP-Redirect' | 'HTTP-POST';
  /** Where IdP-initiated logins land (same-origin path or a registered app URL). */
  idpInitiatedTarget?: string;
  /** Where the stable subject comes from; the preset's choice when unset. */
  subjectSource?: SubjectSource;
  /** SP entityID to use instead of the bridge's own (connections moved from another SP). */
  spEntityId?: string;
  /** ACS URL the IdP posts to instead of the bridge's own (a proxy must route it to the bridge). */
  acsUrl?: string;
  /** Attribute names that override the preset's mapping, per field. */
  attributeMapping?: AttributeMappingOverrides;
  /** Members of any of these IdP groups may sign in to the admin console through this connection. */
  adminGroups?: string[];
  /**
   * How a directory (SCIM) user is the same person as a SAML login: their `externalId` (default; Entra:
   * map objectId to externalId, Okta sends its user id) or their `userName` equals the login's subject.
   */
  scimMatch?: 'externalId' | 'userName';
}

/** What the bridge read from the IdP's metadata (the last good copy). */
export interface IdpDescriptor {
  ssoEndpoints: IdpEndpoint[];
  sloEndpoints: IdpEndpoint[];
  signingCertificates: IdpCertificate[];
  encryptionCertificates: IdpCertificate[];
  wantAuthnRequestsSigned: boolean;
  nameIdFormats: string[];
}

export type MetadataStatus = 'ok' | 'refresh_failed' | 'expired';

export interface RefreshErrorRecord {
  code: string;
  message: string;
  at: string;
}

@Entity({ name: 'connections' })
export class ConnectionEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('connections_slug_key', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  slug!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 16 })
  preset!: Preset;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  /** Verified email domains (lower case). */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  domains!: string[];

  @Column({ name: 'allow_idp_initiated', type: 'boolean', default: false })
  allowIdpInitiated!: boolean;

  @Column({ type: 'jsonb' })
  options!: ConnectionOptions;

  @Column({ name: 'idp_entity_id', type: 'text' })
  idpEntityId!: string;

  @Column({ type: 'jsonb' })
  idp!: IdpDescriptor;

  /** The last good metadata document, as received. */
  @Column({ name: 'metadata_xml', type: 'text' })
  metadataXml!: string;

  @Column({ name: 'metadata_url', type: 'text', nullable: true })
  metadataUrl!: string | null;

  /** The entityID chosen inside an EntitiesDescriptor, if the admin named one. */
  @Column({ name: 'metadata_entity_id', type: 'text', nullable: true })
  metadataEntityId!: string | null;

  /** Pinned certificate that must have signed the metadata document. */
  @Column({ name: 'metadata_signing_certificate', type: 'text', nullable: true })
  metadataSigningCertificate!: string | null;

  @Column({ name: 'metadata_signature', type: 'varchar', length: 24 })
  metadataSignature!: 'absent' | 'present-unverified' | 'verified';

  @Column({ name: 'metadata_status', type: 'varchar', length: 16, default: 'ok' })
  metadataStatus!: MetadataStatus;

  @Column({ name: 'metadata_warnings', type: 'jsonb', default: () => "'[]'" })
  metadataWarnings!: string[];

  @Column({ name: 'metadata_valid_until', type: 'timestamptz', nullable: true })
  metadataValidUntil!: Date | null;

  @Column({ name: 'metadata_cache_duration_seconds', type: 'integer', nullable: true })
  metadataCacheDurationSeconds!: number | null;

  /** Per-connection refresh period for metadata URLs; the configured default when null. */
  @Column({ name: 'metadata_refresh_seconds', type: 'integer', nullable: true })
  metadataRefreshSeconds!: number | null;

  @Column({ name: 'metadata_updated_at', type: 'timestamptz' })
  metadataUpdatedAt!: Date;

  @Column({ name: 'metadata_refresh_attempted_at', type: 'timestamptz', nullable: true })
  metadataRefreshAttemptedAt!: Date | null;

  @Index('connections_next_refresh_idx')
  @Column({ name: 'metadata_next_refresh_at', type: 'timestamptz', nullable: true })
  metadataNextRefreshAt!: Date | null;

  @Column({ name: 'last_refresh_error', type: 'jsonb', nullable: true })
  lastRefreshError!: RefreshErrorRecord | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @VersionColumn()
  version!: number;
}
