import { Controller, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsEmail, IsOptional, IsUUID } from 'class-validator';
import { PaginationQuery } from '../common/pagination.query';
import { isDeprovisioned, UserEntity, userSource } from './user.entity';
import { UsersService } from './users.service';

export class ListUsersQuery extends PaginationQuery {
  @ApiPropertyOptional() @IsOptional() @IsUUID() connectionId?: string;
  @ApiPropertyOptional() @IsOptional() @IsEmail() email?: string;
}

export class UserView {
  @ApiProperty() id!: string;
  @ApiProperty() connectionId!: string;
  @ApiProperty({ description: 'Stable subject at the IdP' }) subject!: string;
  @ApiProperty({ nullable: true, type: String }) email!: string | null;
  @ApiProperty() emailVerified!: boolean;
  @ApiProperty({ nullable: true, type: String }) givenName!: string | null;
  @ApiProperty({ nullable: true, type: String }) familyName!: string | null;
  @ApiProperty({ nullable: true, type: String }) displayName!: string | null;
  @ApiProperty({ type: [String] }) groups!: string[];
  @ApiProperty() attributes!: Record<string, string[]>;
  @ApiProperty() disabled!: boolean;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
  @ApiProperty({ nullable: true, type: String }) lastLoginAt!: string | null;
  @ApiProperty({ enum: ['saml', 'scim', 'both'], description: 'SAML logins, the directory (SCIM), or both' })
  source!: 'saml' | 'scim' | 'both';
  @ApiProperty({ description: 'False when disabled by an admin or deactivated / deleted by the directory' })
  active!: boolean;
  @ApiProperty({ description: 'Deactivated or deleted by the directory: no login, no token' })
  deprovisioned!: boolean;
  @ApiProperty({ nullable: true, type: String, description: 'SCIM userName' }) userName!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'SCIM externalId' }) externalId!: string | null;
  @ApiProperty({ type: [String], description: "The directory's (SCIM) groups of the user" })
  directoryGroups!: string[];
  @ApiProperty({ nullable: true, type: String, description: 'Last change by the directory' })
  lastSyncedAt!: string | null;
}

export function userView(u: UserEntity): UserView {
  return {
    id: u.id,
    connectionId: u.connectionId,
    subject: u.subject,
    email: u.email,
    emailVerified: u.emailVerified,
    givenName: u.givenName,
    familyName: u.familyName,
    displayName: u.displayName,
    groups: u.groups,
    attributes: u.attributes,
    disabled: u.disabled,
    createdAt: u.createdAt.toISOString(),
    updatedAt: u.updatedAt.toISOString(),
    lastLoginAt: u.lastLoginAt?.toISOString() ?? null,
    source: userSource(u),
    active: !u.disabled && !isDeprovisioned(u),
    deprovisioned: isDeprovisioned(u),
    userName: u.userName,
    externalId: u.externalId,
    directoryGroups: u.directoryGroups ?? [],
    lastSyncedAt: u.lastSyncedAt?.toISOString() ?? null,
  };
}

@ApiTags('users')
@ApiBearerAuth()
@Controller('api/v1/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ summary: 'List users (filter by connection or email)' })
  async list(@Query() query: ListUsersQuery): Promise<{ items: UserView[]; total: number }> {
    const { items, total } = await this.users.list(query);
    return { items: items.map(userView), total };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a user' })
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<UserView> {
    return userView(await this.users.get(id));
  }

  @Post(':id/disable')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Disable a user: their next login is refused' })
  async disable(@Param('id', new ParseUUIDPipe()) id: string): Promise<UserView> {
    return userView(await this.users.setDisabled(id, true));
  }

  @Post(':id/enable')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Enable a user again' })
  async enable(@Param('id', new ParseUUIDPipe()) id: string): Promise<UserView> {
    return userView(await this.users.setDisabled(id, false));
  }
}
