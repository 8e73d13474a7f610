import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A pending AuthnRequest or LogoutRequest: single use, expiring, shared by every instance. */
@Entity({ name: 'saml_requests' })
export class SamlRequestEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ name: 'connection_id', type: 'uuid' })
  connectionId!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: 'authn' | 'logout';

  /** Same-origin path the browser returns to afterwards. */
  @Column({ name: 'return_to', type: 'text', nullable: true })
  returnTo!: string | null;

  /** Extra state for whoever started the login (e.g. the OIDC interaction). */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  context!: Record<string, unknown>;

  /** SHA-256 of the browser-binding cookie of the browser that started the login. */
  @Column({ name: 'browser_binding', type: 'char', length: 64, nullable: true })
  browserBinding!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}
