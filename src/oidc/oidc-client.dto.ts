import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { AUTH_METHODS, GRANT_TYPES } from './oidc-client.entity';
import type { AuthMethod, GrantType } from './oidc-client.entity';

export class ClientLifetimesDto {
  @ApiPropertyOptional({ minimum: 60, maximum: 86400, description: 'Access token lifetime (default 3600)' })
  @IsOptional()
  @IsInt()
  @Min(60)
  @Max(86400)
  accessTokenSeconds?: number;

  @ApiPropertyOptional({
    minimum: 300,
    maximum: 90 * 86400,
    description: 'Refresh token lifetime (default 14 days)',
  })
  @IsOptional()
  @IsInt()
  @Min(300)
  @Max(90 * 86400)
  refreshTokenSeconds?: number;

  @ApiPropertyOptional({ minimum: 60, maximum: 86400, description: 'ID token lifetime (default 3600)' })
  @IsOptional()
  @IsInt()
  @Min(60)
  @Max(86400)
  idTokenSeconds?: number;
}

class ClientFieldsDto {
  @ApiPropertyOptional({ type: [String], example: ['https://app.example.com/callback'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(2048, { each: true })
  redirectUris?: string[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(2048, { each: true })
  postLogoutRedirectUris?: string[];

  @ApiPropertyOptional({
    description:
      'Where the bridge POSTs back-channel logout tokens. Refused with 400 outbound_destination_refused when the outbound policy would not send there (link-local, metadata service, OUTBOUND_DENY_CIDRS, non-public outside OUTBOUND_ALLOW_CIDRS)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  backchannelLogoutUri?: string;

  @ApiPropertyOptional({ enum: GRANT_TYPES, isArray: true, default: ['authorization_code', 'refresh_token'] })
  @IsOptional()
  @IsArray()
  @IsIn(GRANT_TYPES, { each: true })
  grantTypes?: GrantType[];

  @ApiPropertyOptional({ enum: AUTH_METHODS, default: 'client_secret_basic' })
  @IsOptional()
  @IsIn(AUTH_METHODS)
  tokenEndpointAuthMethod?: AuthMethod;

  @ApiPropertyOptional({
    description:
      'JWKS URL of a private_key_jwt client (fetched through the outbound policy; refused with 400 outbound_destination_refused like backchannelLogoutUri)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  jwksUri?: string;

  @ApiPropertyOptional({ type: [String], description: 'Connection slugs this app may use (default: all)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  allowedConnections?: string[];

  @ApiPropertyOptional({ enum: ['jwt', 'opaque'], default: 'jwt' })
  @IsOptional()
  @IsIn(['jwt', 'opaque'])
  accessTokenFormat?: 'jwt' | 'opaque';

  @ApiPropertyOptional({ enum: ['RS256', 'ES256'], default: 'RS256' })
  @IsOptional()
  @IsIn(['RS256', 'ES256'])
  idTokenSignedResponseAlg?: 'RS256' | 'ES256';

  @ApiPropertyOptional({
    enum: ['RS256', 'ES256'],
    default: 'RS256',
    description:
      "What the app's JWT access tokens are signed with: RS256, or ES256 (much cheaper to sign) when every " +
      'resource server that verifies them accepts it. Both keys are in the JWKS.',
  })
  @IsOptional()
  @IsIn(['RS256', 'ES256'])
  accessTokenSigningAlg?: 'RS256' | 'ES256';

  @ApiPropertyOptional({ type: ClientLifetimesDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ClientLifetimesDto)
  lifetimes?: ClientLifetimesDto;
}

export class CreateClientDto extends ClientFieldsDto {
  @ApiProperty({ example: 'Wiki' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;
}

export class UpdateClientDto extends ClientFieldsDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;
}
