import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** A user provisioned just in time, keyed by (connection, stable subject). */
@Entity({ name: 'users' })
export class UserEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'connection_id', type: 'uuid' })
  connectionId!: string;

  /** The IdP's stable identifier for the person (never the email). */
  @Column({ type: 'varchar', length: 512 })
  subject!: string;

  @Column({ type: 'varchar', length: 320, nullable: true })
  email!: string | null;

  /** True only when the email's domain is one of the connection's verified domains. */
  @Column({ name: 'email_verified', type: 'boolean', default: false })
  emailVerified!: boolean;

  @Column({ name: 'given_name', type: 'varchar', length: 256, nullable: true })
  givenName!: string | null;

  @Column({ name: 'family_name', type: 'varchar', length: 256, nullable: true })
  familyName!: string | null;

  @Column({ name: 'display_name', type: 'varchar', length: 512, nullable: true })
  displayName!: string | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  groups!: string[];

  /** Every attribute of the last assertion, by name. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  attributes!: Record<string, string[]>;

  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'last_login_at', type: 'timestamptz', nullable: true })
  lastLoginAt!: Date | null;

  /** SCIM `userName` when the directory provisions this user (unique per connection among live users). */
  @Column({ name: 'user_name', type: 'varchar', length: 512, nullable: true })
  userName!: string | null;

  /** SCIM `externalId` (the directory's own id for the person). */
  @Column({ name: 'external_id', type: 'varchar', length: 512, nullable: true })
  externalId!: string | null;

  /** The SCIM resource as the directory last sent it (without id, meta, password or groups). */
  @Column({ name: 'scim_resource', type: 'jsonb', nullable: true })
  scimResource!: Record<string, unknown> | null;

  /** The directory's `active`; null when no directory manages the user. */
  @Column({ name: 'scim_active', type: 'boolean', nullable: true })
  scimActive!: boolean | null;

  /** When the directory deleted the user: a tombstone, so a SAML login cannot bring them back. */
  @Column({ name: 'scim_deleted_at', type: 'timestamptz', nullable: true })
  scimDeletedAt!: Date | null;

  /** The SCIM token that last changed the user. */
  @Column({ name: 'scim_token_id', type: 'uuid', nullable: true })
  scimTokenId!: string | null;

  @Column({ name: 'last_synced_at', type: 'timestamptz', nullable: true })
  lastSyncedAt!: Date | null;

  /** Names of the directory (SCIM) groups the user is a member of; part of the `groups` claim. */
  @Column({ name: 'directory_groups', type: 'text', array: true, default: () => "'{}'" })
  directoryGroups!: string[];
}

/** A user the directory deactivated or deleted: no login, no token. */
export function isDeprovisioned(u: Pick<UserEntity, 'scimActive' | 'scimDeletedAt'>): boolean {
  return u.scimActive === false || u.scimDeletedAt !== null;
}

/** Where a user comes from: SAML logins, the directory (SCIM), or both. */
export function userSource(
  u: Pick<UserEntity, 'scimActive' | 'scimDeletedAt' | 'lastLoginAt'>,
): 'saml' | 'scim' | 'both' {
  const scim = u.scimActive !== null || u.scimDeletedAt !== null;
  if (!scim) return 'saml';
  return u.lastLoginAt ? 'both' : 'scim';
}

/** The `groups` claim: the groups of the last assertion and the user's directory groups, once each. */
export function groupsClaim(u: Pick<UserEntity, 'groups' | 'directoryGroups'>): string[] {
  return [...new Set([...u.groups, ...(u.directoryGroups ?? [])])];
}
