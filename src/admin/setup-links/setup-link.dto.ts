import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { DEFAULT_EXPIRY_HOURS, MAX_EXPIRY_HOURS } from './setup-links.service';

/** The setup-link API's request and response shapes (shared with the console's form). */
export class CreateSetupLinkDto {
  @ApiPropertyOptional({
    description: 'How long the link works, in hours',
    minimum: 1,
    maximum: MAX_EXPIRY_HOURS,
    default: DEFAULT_EXPIRY_HOURS,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_EXPIRY_HOURS)
  expiresInHours?: number;

  @ApiPropertyOptional({ description: 'A note for admins (who it was sent to)', maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  note?: string;
}

export class SetupLinkView {
  @ApiProperty() id!: string;
  @ApiProperty() connectionId!: string;
  @ApiProperty({ enum: ['active', 'expired', 'revoked'] }) status!: string;
  @ApiProperty({ nullable: true, type: String }) note!: string | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ description: 'The admin who created it' }) createdBy!: string;
  @ApiProperty() expiresAt!: string;
  @ApiProperty({ nullable: true, type: String }) revokedAt!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'When the link was last opened' })
  lastOpenedAt!: string | null;
}

export class CreatedSetupLinkView extends SetupLinkView {
  @ApiProperty({
    description:
      'The link to send to the customer. It carries the token: shown once, only its SHA-256 is stored.',
    example: 'https://bridge.example.com/setup/sbl_…',
  })
  url!: string;
}

export class SetupLinkListView {
  @ApiProperty({ type: [SetupLinkView] }) items!: SetupLinkView[];
}
