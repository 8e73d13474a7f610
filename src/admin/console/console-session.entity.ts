import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type ConsoleAdminKind = 'bootstrap' | 'api-key' | 'sso';

/** A web console session. Only a SHA-256 hash of the session id (the cookie value) is stored. */
@Entity({ name: 'admin_console_sessions' })
export class ConsoleSessionEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'token_hash', type: 'char', length: 64 })
  tokenHash!: string;

  /** The synchronizer token every state-changing form of this session carries. */
  @Column({ name: 'csrf_token', type: 'varchar', length: 64 })
  csrfToken!: string;

  @Column({ name: 'admin_kind', type: 'varchar', length: 16 })
  adminKind!: ConsoleAdminKind;

  /** Stable id of the admin: 'bootstrap', the API key id, or `sso:<connection id>:<subject>`. */
  @Column({ name: 'admin_id', type: 'varchar', length: 600 })
  adminId!: string;

  /** Readable name: the API key's name or the SSO user's email. */
  @Column({ name: 'admin_name', type: 'varchar', length: 400 })
  adminName!: string;

  /** The API key the session was opened with: revoking the key ends the session. */
  @Column({ name: 'api_key_id', type: 'uuid', nullable: true })
  apiKeyId!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz' })
  lastSeenAt!: Date;

  /** Absolute end of the session, however active. */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt!: Date | null;
}
