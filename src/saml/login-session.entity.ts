import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A bridge login session created by a successful SAML login; the browser holds an opaque token whose SHA-256 is the id. */
@Entity({ name: 'login_sessions' })
export class LoginSessionEntity {
  @PrimaryColumn({ type: 'char', length: 64 })
  id!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @Column({ name: 'connection_id', type: 'uuid' })
  connectionId!: string;

  @Column({ name: 'name_id', type: 'varchar', length: 512 })
  nameId!: string;

  @Column({ name: 'name_id_format', type: 'varchar', length: 256, nullable: true })
  nameIdFormat!: string | null;

  @Column({ name: 'session_index', type: 'varchar', length: 256, nullable: true })
  sessionIndex!: string | null;

  @Column({ name: 'authn_context_class_ref', type: 'varchar', length: 256, nullable: true })
  authnContextClassRef!: string | null;

  @Column({ name: 'authn_instant', type: 'timestamptz', nullable: true })
  authnInstant!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt!: Date | null;

  @Column({ name: 'end_reason', type: 'varchar', length: 32, nullable: true })
  endReason!: string | null;
}
