import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';
import { DEFAULT_PAGE_SIZE } from '../common/pagination.query';

const ACTOR_TYPES = ['admin-key', 'admin-session', 'setup-link', 'scim-token', 'user', 'system'] as const;

/** The filters shared by the list and the export. */
export class AuditFilterQuery {
  @ApiPropertyOptional({
    description: 'Events at or after this instant (ISO 8601)',
    example: '2026-11-01T00:00:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'Events before this instant (ISO 8601, exclusive)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({
    description: "The actor's id: an admin API key id, `bootstrap`, a console admin, a user id",
  })
  @IsOptional()
  @MaxLength(200)
  @Matches(/^[\x21-\x7e]+$/, { message: 'actor must be an id without spaces' })
  actor?: string;

  @ApiPropertyOptional({ enum: ACTOR_TYPES })
  @IsOptional()
  @IsIn(ACTOR_TYPES)
  actorType?: string;

  @ApiPropertyOptional({
    description: 'An event type (`login.failed`), or a prefix ending with a dot (`login.`, `connection.`)',
  })
  @IsOptional()
  @MaxLength(64)
  @Matches(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*\.?$/, {
    message: 'type must be an event type such as login.failed, or a prefix such as login.',
  })
  type?: string;

  @ApiPropertyOptional() @IsOptional() @IsUUID() connectionId?: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() userId?: string;

  @ApiPropertyOptional({ description: 'An app (OIDC client) id' })
  @IsOptional()
  @MaxLength(64)
  @Matches(/^[\x21-\x7e]+$/, { message: 'clientId must be a client id without spaces' })
  clientId?: string;
}

export class ListAuditQuery extends AuditFilterQuery {
  @ApiPropertyOptional({ description: 'The `nextCursor` of the previous page' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'cursor must be a nextCursor returned by this API' })
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: DEFAULT_PAGE_SIZE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

export class VerifyAuditQuery {
  @ApiPropertyOptional({
    description:
      'The lastSeq of an earlier verify, kept outside the database: that event must still exist with anchorHash',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  anchorSeq?: number;

  @ApiPropertyOptional({ description: 'The lastHash of that earlier verify' })
  @IsOptional()
  @Matches(/^[0-9a-f]{64}$/, { message: 'anchorHash must be 64 lowercase hex digits' })
  anchorHash?: string;
}

export class AuditActorView {
  @ApiProperty({ enum: ACTOR_TYPES }) type!: string;
  @ApiProperty({ nullable: true, type: String }) id!: string | null;
  @ApiProperty() name!: string;
}

export class AuditEventView {
  @ApiProperty({ description: 'Position in the hash chain (1, 2, 3… without gaps)' }) seq!: number;
  @ApiProperty() id!: string;
  @ApiProperty() occurredAt!: string;
  @ApiProperty({ example: 'connection.updated' }) type!: string;
  @ApiProperty({ type: AuditActorView }) actor!: AuditActorView;
  @ApiProperty({ nullable: true, type: String }) connectionId!: string | null;
  @ApiProperty({ nullable: true, type: String }) userId!: string | null;
  @ApiProperty({ nullable: true, type: String }) clientId!: string | null;
  @ApiProperty({ nullable: true, type: String }) requestId!: string | null;
  @ApiProperty({ nullable: true, type: String }) ip!: string | null;
  @ApiProperty({ description: 'Details; for admin changes {before, after} with secrets redacted' })
  data!: Record<string, unknown>;
  @ApiProperty({ description: 'The previous event’s hash (64 zeros for the first)' }) prevHash!: string;
  @ApiProperty({ description: 'sha256 of the canonical JSON of this event’s fields and prevHash' })
  hash!: string;
}

export class AuditPageView {
  @ApiProperty({ type: [AuditEventView] }) items!: AuditEventView[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` for the next (older) page' })
  nextCursor!: string | null;
}

export class AuditVerifyView {
  @ApiProperty() ok!: boolean;
  @ApiProperty({ description: 'Events verified intact' }) checked!: number;
  @ApiPropertyOptional({ description: 'The last seq of the chain (when ok)' }) lastSeq?: number;
  @ApiPropertyOptional({ description: 'The hash of the last event (when ok): keep it to anchor the chain' })
  lastHash?: string;
  @ApiPropertyOptional({ description: 'The seq of the first broken link (when not ok)' })
  firstBrokenSeq?: number;
  @ApiPropertyOptional({ enum: ['hash_mismatch', 'prev_hash_mismatch', 'sequence_gap'] })
  reason?: string;
}
