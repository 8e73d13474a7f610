import { ApiHideProperty, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { PaginationQuery } from '../../common/pagination.query';
import { PRESETS, SIGNATURE_REQUIREMENTS } from '../connection.entity';
import type { AcrMapping, ConnectionOptions, Preset, SignatureRequirement } from '../connection.entity';
import { AUTHN_COMPARISONS } from '../../saml/requested-authn';

export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
export const DOMAIN_PATTERN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Admin-set SAML policy for a connection; every field is optional and defaults to the preset's value. */
export class AttributeMappingDto {
  @ApiPropertyOptional({ description: 'Attribute holding the stable user id' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  subject?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(512) email?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(512) givenName?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(512) familyName?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(512) displayName?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(512) groups?: string;
}

/** One OIDC acr value and the SAML authentication context classes that satisfy it. */
export class AcrMappingDto implements AcrMapping {
  @ApiProperty({ example: 'https://refeds.org/profile/mfa', description: 'OIDC acr value (no spaces)' })
  @IsString()
  @Matches(/^[\x21-\x7e]{1,256}$/, { message: 'acr must be 1-256 printable characters without spaces' })
  acr!: string;

  @ApiProperty({
    type: [String],
    example: ['http://schemas.microsoft.com/claims/multipleauthn'],
    description: 'SAML AuthnContextClassRefs requested for it, and the only ones accepted as meeting it',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(256, { each: true })
  classRefs!: string[];

  @ApiPropertyOptional({ enum: AUTHN_COMPARISONS, description: 'RequestedAuthnContext Comparison (exact)' })
  @IsOptional()
  @IsIn(AUTHN_COMPARISONS)
  comparison?: AcrMapping['comparison'];

  @ApiPropertyOptional({
    type: [String],
    example: ['mfa'],
    description: 'RFC 8176 amr values the ID token states when the IdP answers with one of classRefs',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @Matches(/^[a-z]{2,16}$/, { each: true, message: 'amr values are RFC 8176 names such as mfa or pwd' })
  amr?: string[];
}

export class ConnectionOptionsDto implements Partial<ConnectionOptions> {
  @ApiPropertyOptional({
    enum: ['auto', 'nameid'],
    description:
      'auto: a stable-id attribute, else a persistent NameID (an email is never a subject); nameid: the NameID whatever its format',
  })
  @IsOptional()
  @IsIn(['auto', 'nameid'])
  subjectSource?: 'auto' | 'nameid';

  @ApiPropertyOptional({
    description: 'Keep the SP entityID an IdP already uses (connection moved from another SP)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  spEntityId?: string;

  @ApiPropertyOptional({
    description: 'Keep the ACS URL an IdP already posts to (a proxy must route it to /saml/{slug}/acs)',
  })
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  @MaxLength(2048)
  acsUrl?: string;

  @ApiPropertyOptional({
    type: AttributeMappingDto,
    description: 'Attribute names overriding the preset mapping',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => AttributeMappingDto)
  attributeMapping?: AttributeMappingDto;

  @ApiPropertyOptional({ enum: SIGNATURE_REQUIREMENTS, description: 'Which element must be signed' })
  @IsOptional()
  @IsIn(SIGNATURE_REQUIREMENTS)
  requiredSignature?: SignatureRequirement;

  @ApiPropertyOptional({ description: 'Sign AuthnRequests even if the IdP does not ask for it' })
  @IsOptional()
  @IsBoolean()
  signAuthnRequests?: boolean;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 600,
    description: 'Accepted clock skew, seconds (default 180)',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600)
  clockSkewSeconds?: number;

  @ApiPropertyOptional({ description: 'Accept SHA-1 signatures and digests (legacy IdPs only)' })
  @IsOptional()
  @IsBoolean()
  allowSha1?: boolean;

  @ApiPropertyOptional({ description: 'Ask the IdP to re-authenticate on every login' })
  @IsOptional()
  @IsBoolean()
  forceAuthn?: boolean;

  @ApiPropertyOptional({ description: 'NameIDPolicy Format to request' })
  @IsOptional()
  @IsString()
  @Matches(/^urn:oasis:names:tc:SAML:(1\.1|2\.0):nameid-format:[A-Za-z]+$/, {
    message: 'nameIdFormat must be a SAML NameID format URN',
  })
  nameIdFormat?: string;

  @ApiPropertyOptional({ type: [String], description: 'RequestedAuthnContext class references' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  requestedAuthnContext?: string[];

  @ApiPropertyOptional({
    type: [AcrMappingDto],
    description:
      'OIDC acr values → SAML AuthnContextClassRefs, strongest first (default: the preset map; [] maps nothing)',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @ArrayUnique((m: AcrMappingDto) => m?.acr, { message: 'acrMap lists each acr value once' })
  @ValidateNested({ each: true })
  @Type(() => AcrMappingDto)
  acrMap?: AcrMappingDto[];

  @ApiPropertyOptional({ enum: ['HTTP-Redirect', 'HTTP-POST'] })
  @IsOptional()
  @IsIn(['HTTP-Redirect', 'HTTP-POST'])
  authnRequestBinding?: 'HTTP-Redirect' | 'HTTP-POST';

  @ApiPropertyOptional({
    type: [String],
    description:
      'IdP groups (as mapped into the groups claim) whose members may sign in to the admin console through this connection; empty: nobody',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(256, { each: true })
  adminGroups?: string[];

  @ApiPropertyOptional({
    enum: ['externalId', 'userName'],
    description:
      "Directory sync (SCIM): which attribute of a directory user equals the SAML login's stable subject (default externalId)",
  })
  @IsOptional()
  @IsIn(['externalId', 'userName'])
  scimMatch?: 'externalId' | 'userName';

  @ApiPropertyOptional({
    description: 'Where IdP-initiated logins land: a same-origin path such as /welcome',
  })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  @Matches(/^\/(?!\/)[^\s\\]*$/, { message: 'idpInitiatedTarget must be a same-origin path starting with /' })
  idpInitiatedTarget?: string;
}

class ConnectionFieldsDto {
  @ApiPropertyOptional({ type: [String], example: ['acme.com'], description: 'Verified email domains' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  domains?: string[];

  @ApiPropertyOptional({ enum: PRESETS, description: 'IdP family: sets signature and mapping defaults' })
  @IsOptional()
  @IsIn(PRESETS)
  preset?: Preset;

  @ApiPropertyOptional({ description: 'Accept unsolicited (IdP-initiated) responses; off by default' })
  @IsOptional()
  @IsBoolean()
  allowIdpInitiated?: boolean;

  @ApiPropertyOptional({ description: 'A disabled connection refuses logins' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ type: ConnectionOptionsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ConnectionOptionsDto)
  options?: ConnectionOptionsDto;

  @ApiPropertyOptional({
    description: 'Metadata URL to fetch and refresh on a schedule',
    example: 'https://login.microsoftonline.com/<tenant>/federationmetadata/2007-06/federationmetadata.xml',
  })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  metadataUrl?: string;

  @ApiPropertyOptional({ description: 'Pick this entityID inside an EntitiesDescriptor' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  metadataEntityId?: string;

  @ApiPropertyOptional({ description: 'PEM certificate that must have signed the metadata document' })
  @IsOptional()
  @IsString()
  @MaxLength(16384)
  metadataSigningCertificate?: string;

  @ApiPropertyOptional({
    minimum: 300,
    maximum: 2592000,
    description: 'Metadata URL refresh period, seconds',
  })
  @IsOptional()
  @IsInt()
  @Min(300)
  @Max(2592000)
  metadataRefreshSeconds?: number;
}

export class CreateConnectionDto extends ConnectionFieldsDto {
  @ApiProperty({ example: 'acme', description: 'URL-safe identifier; part of the SP URLs; cannot change' })
  @IsString()
  @Matches(SLUG_PATTERN, {
    message: 'slug must be 1-64 lower-case letters, digits or hyphens, not starting or ending with a hyphen',
  })
  slug!: string;

  @ApiProperty({ maxLength: 200, example: 'Acme Corp (Entra ID)' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({ description: 'The IdP metadata XML (or give metadataUrl)' })
  @IsOptional()
  @IsString()
  metadataXml?: string;
}

export class UpdateConnectionDto extends ConnectionFieldsDto {
  @ApiPropertyOptional({ maxLength: 200, example: 'Acme Corp (Entra ID)' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  /** Accepted only to answer a clear `slug_immutable` instead of a generic validation error. */
  @ApiHideProperty()
  @IsOptional()
  slug?: unknown;
}

export class ListConnectionsQuery extends PaginationQuery {
  @ApiPropertyOptional({ description: 'Filter by slug, name or domain (substring)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;
}
