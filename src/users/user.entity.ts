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
}
