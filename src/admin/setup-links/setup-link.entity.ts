import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A customer setup link to one connection. Only a SHA-256 hash of its token is stored. */
@Entity({ name: 'setup_links' })
export class SetupLinkEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'connection_id', type: 'uuid' })
  connectionId!: string;

  @Column({ name: 'token_hash', type: 'char', length: 64 })
  tokenHash!: string;

  /** What the admin wrote about it (e.g. who it was sent to). */
  @Column({ type: 'varchar', length: 500, nullable: true })
  note!: string | null;

  @Column({ name: 'created_by_type', type: 'varchar', length: 32 })
  createdByType!: string;

  @Column({ name: 'created_by_id', type: 'varchar', length: 600, nullable: true })
  createdById!: string | null;

  @Column({ name: 'created_by_name', type: 'varchar', length: 400 })
  createdByName!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  /** The last time the link itself was opened (exchanged for the setup cookie). */
  @Column({ name: 'last_opened_at', type: 'timestamptz', nullable: true })
  lastOpenedAt!: Date | null;
}
