import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import type { ScimTokenRecord } from './scim-tokens.repository';

/** The SCIM-token API's request and response shapes (shared with the console and setup pages). */
export class CreateScimTokenDto {
  @ApiPropertyOptional({
    description: 'What the token is for (e.g. "Entra ID provisioning")',
    maxLength: 200,
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  description?: string;
}

export class ScimTokenView {
  @ApiProperty() id!: string;
  @ApiProperty() connectionId!: string;
  @ApiProperty({ description: 'The first characters of the token, to tell tokens apart' }) prefix!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ description: 'The admin who created it' }) createdBy!: string;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ nullable: true, type: String }) lastUsedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) revokedAt!: string | null;
  @ApiProperty({ enum: ['active', 'revoked'] }) status!: string;
}

export class CreatedScimTokenView extends ScimTokenView {
  @ApiProperty({ description: 'The bearer token for the directory: shown once, only its SHA-256 is stored' })
  token!: string;
  @ApiProperty({ description: 'The SCIM base URL to configure at the directory with the token' })
  scimBaseUrl!: string;
}

export class ScimTokenListView {
  @ApiProperty({ type: [ScimTokenView] }) items!: ScimTokenView[];
}

export function scimTokenView(t: ScimTokenRecord): ScimTokenView {
  return {
    id: t.id,
    connectionId: t.connectionId,
    prefix: t.prefix,
    description: t.description,
    createdBy: t.createdByName,
    createdAt: t.createdAt.toISOString(),
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
    status: t.revokedAt ? 'revoked' : 'active',
  };
}
