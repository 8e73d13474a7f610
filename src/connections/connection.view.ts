import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type {
  ConnectionEntity,
  ConnectionOptions,
  MetadataStatus,
  RefreshErrorRecord,
} from './connection.entity';
import type { IdpCertificate, IdpEndpoint } from './metadata/idp-metadata.parser';

const DAY_MS = 86_400_000;
export const CERTIFICATE_EXPIRY_WARNING_DAYS = 30;

/** The SP endpoints the customer's IT admin enters at their IdP. */
export class SpDetailsView {
  @ApiProperty({ example: 'https://bridge.example.com/saml/acme/metadata' }) entityId!: string;
  @ApiProperty({ example: 'https://bridge.example.com/saml/acme/acs' }) acsUrl!: string;
  @ApiProperty({ example: 'https://bridge.example.com/saml/acme/slo' }) sloUrl!: string;
  @ApiProperty({ example: 'https://bridge.example.com/saml/acme/metadata' }) metadataUrl!: string;
}

export class CertificateView {
  @ApiProperty({ description: 'SHA-256 fingerprint' }) fingerprint!: string;
  @ApiProperty() subject!: string;
  @ApiProperty() issuer!: string;
  @ApiProperty() notBefore!: string;
  @ApiProperty() notAfter!: string;
  @ApiProperty({ enum: ['signing', 'encryption', 'both'] }) use!: string;
  @ApiProperty({ description: 'notAfter is in the past' }) expired!: boolean;
  @ApiProperty({ description: `Expires within ${CERTIFICATE_EXPIRY_WARNING_DAYS} days` })
  expiresSoon!: boolean;
  @ApiProperty() daysLeft!: number;
}

export class IdpDetailsView {
  @ApiProperty() entityId!: string;
  @ApiProperty({ description: 'SSO URL per binding', example: { 'HTTP-Redirect': 'https://idp/sso' } })
  ssoUrls!: Record<string, string>;
  @ApiProperty({ description: 'SLO URL per binding' }) sloUrls!: Record<string, string>;
  @ApiProperty({ type: [CertificateView], description: 'Signing certificates (all trusted)' })
  certificates!: CertificateView[];
  @ApiProperty({ type: [CertificateView] }) encryptionCertificates!: CertificateView[];
  @ApiProperty() wantAuthnRequestsSigned!: boolean;
  @ApiProperty({ type: [String] }) nameIdFormats!: string[];
}

export class MetadataStateView {
  @ApiProperty({ enum: ['xml', 'url'] }) source!: 'xml' | 'url';
  @ApiPropertyOptional({ nullable: true, type: String }) url!: string | null;
  @ApiProperty({ enum: ['ok', 'refresh_failed', 'expired'] }) status!: MetadataStatus;
  @ApiProperty({ enum: ['absent', 'present-unverified', 'verified'] }) signature!: string;
  @ApiProperty({ type: [String] }) warnings!: string[];
  @ApiProperty({ description: 'When the current (last good) metadata was stored' }) updatedAt!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) lastRefreshAttemptAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) nextRefreshAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) validUntil!: string | null;
  @ApiPropertyOptional({ nullable: true }) lastRefreshError!: RefreshErrorRecord | null;
}

export class ScimDetailsView {
  @ApiProperty({ description: 'The SCIM 2.0 base URL to give the directory (Entra ID, Okta provisioning)' })
  baseUrl!: string;
  @ApiProperty({
    enum: ['externalId', 'userName'],
    description: "Which directory attribute equals the SAML login's subject",
  })
  match!: string;
}

export class ConnectionView {
  @ApiProperty() id!: string;
  @ApiProperty() slug!: string;
  @ApiProperty() name!: string;
  @ApiProperty() preset!: string;
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ type: [String] }) domains!: string[];
  @ApiProperty() allowIdpInitiated!: boolean;
  @ApiProperty() options!: ConnectionOptions;
  @ApiProperty({ type: SpDetailsView }) sp!: SpDetailsView;
  @ApiProperty({ type: IdpDetailsView }) idp!: IdpDetailsView;
  @ApiProperty({ type: MetadataStateView }) metadata!: MetadataStateView;
  @ApiProperty({ type: ScimDetailsView }) scim!: ScimDetailsView;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
}

export class ConnectionPageView {
  @ApiProperty({ type: [ConnectionView] }) items!: ConnectionView[];
  @ApiProperty() total!: number;
  @ApiProperty() limit!: number;
  @ApiProperty() offset!: number;
}

const BINDING_PREFIX = 'urn:oasis:names:tc:SAML:2.0:bindings:';

/** `urn:…:bindings:HTTP-Redirect` → `HTTP-Redirect`; the first endpoint of each binding wins. */
export function urlsByBinding(endpoints: IdpEndpoint[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of endpoints) {
    const name = e.binding.startsWith(BINDING_PREFIX) ? e.binding.slice(BINDING_PREFIX.length) : e.binding;
    out[name] ??= e.location;
  }
  return out;
}

export function certificateView(c: IdpCertificate, now: Date): CertificateView {
  const msLeft = new Date(c.notAfter).getTime() - now.getTime();
  const daysLeft = Math.floor(msLeft / DAY_MS);
  return {
    fingerprint: c.fingerprintSha256,
    subject: c.subject,
    issuer: c.issuer,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    use: c.use,
    expired: msLeft <= 0,
    expiresSoon: msLeft > 0 && msLeft <= CERTIFICATE_EXPIRY_WARNING_DAYS * DAY_MS,
    daysLeft,
  };
}

/** Where a connection's directory pushes users and groups (SCIM 2.0). */
export function scimBaseUrl(baseUrl: string, slug: string): string {
  return `${baseUrl}/scim/v2/${slug}`;
}

/**
 * The SP identifiers of a connection. `spEntityId` / `acsUrl` overrides keep the identifiers an IdP was
 * already configured with when a connection moves to the bridge from another SP.
 */
export function spDetails(
  baseUrl: string,
  connection: { slug: string; options?: Pick<ConnectionOptions, 'spEntityId' | 'acsUrl'> },
): SpDetailsView {
  const root = `${baseUrl}/saml/${connection.slug}`;
  return {
    entityId: connection.options?.spEntityId ?? `${root}/metadata`,
    acsUrl: connection.options?.acsUrl ?? `${root}/acs`,
    sloUrl: `${root}/slo`,
    metadataUrl: `${root}/metadata`,
  };
}

export function connectionView(c: ConnectionEntity, baseUrl: string, now = new Date()): ConnectionView {
  return {
    id: c.id,
    slug: c.slug,
    name: c.name,
    preset: c.preset,
    enabled: c.enabled,
    domains: c.domains,
    allowIdpInitiated: c.allowIdpInitiated,
    options: c.options,
    sp: spDetails(baseUrl, c),
    idp: {
      entityId: c.idpEntityId,
      ssoUrls: urlsByBinding(c.idp.ssoEndpoints),
      sloUrls: urlsByBinding(c.idp.sloEndpoints),
      certificates: c.idp.signingCertificates.map((cert) => certificateView(cert, now)),
      encryptionCertificates: c.idp.encryptionCertificates.map((cert) => certificateView(cert, now)),
      wantAuthnRequestsSigned: c.idp.wantAuthnRequestsSigned,
      nameIdFormats: c.idp.nameIdFormats,
    },
    metadata: {
      source: c.metadataUrl ? 'url' : 'xml',
      url: c.metadataUrl,
      status: c.metadataStatus,
      signature: c.metadataSignature,
      warnings: c.metadataWarnings,
      updatedAt: c.metadataUpdatedAt.toISOString(),
      lastRefreshAttemptAt: c.metadataRefreshAttemptedAt?.toISOString() ?? null,
      nextRefreshAt: c.metadataNextRefreshAt?.toISOString() ?? null,
      validUntil: c.metadataValidUntil?.toISOString() ?? null,
      lastRefreshError: c.lastRefreshError,
    },
    scim: { baseUrl: scimBaseUrl(baseUrl, c.slug), match: c.options.scimMatch ?? 'externalId' },
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}
