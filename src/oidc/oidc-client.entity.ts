import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export interface ClientLifetimes {
  accessTokenSeconds?: number;
  refreshTokenSeconds?: number;
  idTokenSeconds?: number;
}

/** An internal app (OIDC relying party or service client). The secret is stored as a SHA-256 hash only. */
@Entity({ name: 'oidc_clients' })
export class OidcClientEntity {
  @PrimaryColumn({ name: 'client_id', type: 'varchar', length: 64 })
  clientId!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ name: 'secret_hash', type: 'char', length: 64, nullable: true })
  secretHash!: string | null;

  @Column({ name: 'redirect_uris', type: 'text', array: true, default: () => "'{}'" })
  redirectUris!: string[];

  @Column({ name: 'post_logout_redirect_uris', type: 'text', array: true, default: () => "'{}'" })
  postLogoutRedirectUris!: string[];

  @Column({ name: 'backchannel_logout_uri', type: 'text', nullable: true })
  backchannelLogoutUri!: string | null;

  @Column({ name: 'grant_types', type: 'text', array: true })
  grantTypes!: GrantType[];

  @Column({ name: 'token_endpoint_auth_method', type: 'varchar', length: 32 })
  tokenEndpointAuthMethod!: AuthMethod;

  /** JWKS URL of a private_key_jwt client. */
  @Column({ name: 'jwks_uri', type: 'text', nullable: true })
  jwksUri!: string | null;

  /** Connection slugs this app may use; null = any. */
  @Column({ name: 'allowed_connections', type: 'text', array: true, nullable: true })
  allowedConnections!: string[] | null;

  @Column({ name: 'access_token_format', type: 'varchar', length: 8, default: 'jwt' })
  accessTokenFormat!: 'jwt' | 'opaque';

  @Column({ name: 'id_token_signed_response_alg', type: 'varchar', length: 8, default: 'RS256' })
  idTokenSignedResponseAlg!: 'RS256' | 'ES256';

  /** What the app's JWT access tokens are signed with (its resource servers verify them). */
  @Column({ name: 'access_token_signing_alg', type: 'varchar', length: 8, default: 'RS256' })
  accessTokenSigningAlg!: 'RS256' | 'ES256';

  @Column({ type: 'jsonb', default: () => "'{}'" })
  lifetimes!: ClientLifetimes;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
