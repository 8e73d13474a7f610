import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import { changeSet } from '../audit/redact';
import { DomainError } from '../common/domain-error';
import { definedFields } from '../common/defined';
import { sha256 } from '../common/sha256';
import { CreateClientDto, UpdateClientDto } from './oidc-client.dto';
import { GrantType, OidcClientEntity } from './oidc-client.entity';
import { OidcClientsRepository } from './oidc-clients.repository';
import { ChangeCache, ChangeFeed } from '../database/change-feed';
import { Transactions } from '../database/transactions';
import { OutboundError, OutboundHttp } from '../platform/http/outbound';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Checks one redirect-style URI: absolute, http(s), no fragment, https unless loopback. */
function checkUri(raw: string, field: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `${field}: "${raw.slice(0, 100)}" is not an absolute URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return `${field}: ${raw.slice(0, 100)} must be http(s)`;
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
    return `${field}: ${raw.slice(0, 100)} must use https (http is only accepted for localhost)`;
  }
  if (url.hash || raw.includes('#')) return `${field}: ${raw.slice(0, 100)} must not contain a fragment`;
  if (url.username || url.password) return `${field}: ${raw.slice(0, 100)} must not contain credentials`;
  return undefined;
}

/** Internal apps registered with the OpenID Provider. Secrets are shown once and stored hashed. */
@Injectable()
export class OidcClientsService {
  private readonly lookups: ChangeCache<OidcClientEntity | null>;

  constructor(
    private readonly clients: OidcClientsRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    feed: ChangeFeed,
    private readonly outbound: OutboundHttp,
  ) {
    this.lookups = new ChangeCache(feed, ['oidc_clients']);
  }

  /** Saves an app and its audit event in one transaction (an unaudited change is never kept). */
  private saveAudited(
    client: OidcClientEntity,
    event: (saved: OidcClientEntity) => { type: string; data: Record<string, unknown> },
  ): Promise<OidcClientEntity> {
    return this.transactions.run(async (tx) => {
      const saved = await this.clients.save(tx, client);
      await this.audit.record({ ...event(saved), clientId: saved.clientId }, tx);
      return saved;
    });
  }

  private validate(c: OidcClientEntity): void {
    const problems: string[] = [];
    for (const uri of c.redirectUris) {
      const p = checkUri(uri, 'redirectUris');
      if (p) problems.push(p);
    }
    for (const uri of c.postLogoutRedirectUris) {
      const p = checkUri(uri, 'postLogoutRedirectUris');
      if (p) problems.push(p);
    }
    if (c.backchannelLogoutUri) {
      const p = checkUri(c.backchannelLogoutUri, 'backchannelLogoutUri');
      if (p) problems.push(p);
    }
    if (problems.length > 0) {
      throw DomainError.invalid('invalid_redirect_uri', problems.join('; '), { problems });
    }
    if (c.grantTypes.length === 0)
      throw DomainError.invalid('invalid_grant_types', 'Give at least one grant type.');
    if (c.grantTypes.includes('authorization_code') && c.redirectUris.length === 0) {
      throw DomainError.invalid(
        'invalid_redirect_uri',
        'An app using authorization_code needs at least one redirect URI (matched exactly).',
      );
    }
    if (c.grantTypes.includes('refresh_token') && !c.grantTypes.includes('authorization_code')) {
      throw DomainError.invalid('invalid_grant_types', 'refresh_token needs authorization_code.');
    }
    if (c.tokenEndpointAuthMethod === 'none' && c.grantTypes.includes('client_credentials')) {
      throw DomainError.invalid(
        'invalid_client_metadata',
        'A public client (auth method none) cannot use client_credentials.',
      );
    }
    if (c.tokenEndpointAuthMethod === 'private_key_jwt' && !c.jwksUri) {
      throw DomainError.invalid(
        'invalid_client_metadata',
        'private_key_jwt needs jwksUri (where the app publishes its keys).',
      );
    }
    if (c.jwksUri) {
      const p = checkUri(c.jwksUri, 'jwksUri');
      if (p) throw DomainError.invalid('invalid_client_metadata', p);
    }
  }

  /**
   * The URIs the bridge will send to (back-channel logout, JWKS) must pass the outbound policy now, on
   * every address their host resolves to: refused here, not silently at delivery time.
   */
  private async checkDestinations(c: OidcClientEntity): Promise<void> {
    for (const [field, uri] of [
      ['backchannelLogoutUri', c.backchannelLogoutUri],
      ['jwksUri', c.jwksUri],
    ] as const) {
      if (!uri) continue;
      try {
        await this.outbound.assertAllowed(uri);
      } catch (err) {
        if (!(err instanceof OutboundError)) throw err;
        throw DomainError.invalid(
          'outbound_destination_refused',
          `${field}: the bridge does not send requests there: ${err.message} Set OUTBOUND_ALLOW_CIDRS / OUTBOUND_DENY_CIDRS to change where it may send.`,
          { field, cause: err.reason, ...(err.address ? { address: err.address } : {}) },
        );
      }
    }
  }

  private needsSecret(c: OidcClientEntity): boolean {
    return (
      c.tokenEndpointAuthMethod === 'client_secret_basic' ||
      c.tokenEndpointAuthMethod === 'client_secret_post'
    );
  }

  async create(dto: CreateClientDto): Promise<{ client: OidcClientEntity; clientSecret?: string }> {
    const client = this.clients.build({
      clientId: `app_${randomBytes(12).toString('hex')}`,
      name: dto.name.trim(),
      redirectUris: dto.redirectUris ?? [],
      postLogoutRedirectUris: dto.postLogoutRedirectUris ?? [],
      backchannelLogoutUri: dto.backchannelLogoutUri ?? null,
      grantTypes: [...new Set(dto.grantTypes ?? (['authorization_code', 'refresh_token'] as GrantType[]))],
      tokenEndpointAuthMethod: dto.tokenEndpointAuthMethod ?? 'client_secret_basic',
      jwksUri: dto.jwksUri ?? null,
      allowedConnections: dto.allowedConnections ?? null,
      accessTokenFormat: dto.accessTokenFormat ?? 'jwt',
      idTokenSignedResponseAlg: dto.idTokenSignedResponseAlg ?? 'RS256',
      accessTokenSigningAlg: dto.accessTokenSigningAlg ?? 'RS256',
      lifetimes: { ...dto.lifetimes },
      secretHash: null,
    });
    this.validate(client);
    await this.checkDestinations(client);
    let clientSecret: string | undefined;
    if (this.needsSecret(client)) {
      clientSecret = newSecret();
      client.secretHash = sha256(clientSecret);
    }
    const saved = await this.saveAudited(client, (c) => ({
      type: 'app.created',
      data: { after: clientAuditView(c) },
    }));
    return { client: saved, clientSecret };
  }

  list(): Promise<OidcClientEntity[]> {
    return this.clients.listOldestFirst();
  }

  async get(clientId: string): Promise<OidcClientEntity> {
    const found = await this.clients.findByClientId(clientId);
    if (!found)
      throw DomainError.notFound('client_not_found', `No app with client_id ${clientId.slice(0, 64)}.`);
    return found;
  }

  /** The client, or null (the OpenID Provider's lookups). */
  find(clientId: string): Promise<OidcClientEntity | null> {
    // Cached until oidc_clients changes on any instance (ChangeFeed): several lookups per token request.
    return this.lookups.get(clientId, () => this.clients.findByClientId(clientId));
  }

  async update(
    clientId: string,
    dto: UpdateClientDto,
  ): Promise<{ client: OidcClientEntity; clientSecret?: string }> {
    const client = await this.get(clientId);
    const before = clientAuditView(client);
    const hadSecret = this.needsSecret(client);
    if (dto.name !== undefined) client.name = dto.name.trim();
    if (dto.redirectUris !== undefined) client.redirectUris = dto.redirectUris;
    if (dto.postLogoutRedirectUris !== undefined) client.postLogoutRedirectUris = dto.postLogoutRedirectUris;
    if (dto.backchannelLogoutUri !== undefined)
      client.backchannelLogoutUri = dto.backchannelLogoutUri || null;
    if (dto.grantTypes !== undefined) client.grantTypes = [...new Set(dto.grantTypes)];
    if (dto.tokenEndpointAuthMethod !== undefined)
      client.tokenEndpointAuthMethod = dto.tokenEndpointAuthMethod;
    if (dto.jwksUri !== undefined) client.jwksUri = dto.jwksUri || null;
    if (dto.allowedConnections !== undefined) client.allowedConnections = dto.allowedConnections;
    if (dto.accessTokenFormat !== undefined) client.accessTokenFormat = dto.accessTokenFormat;
    if (dto.idTokenSignedResponseAlg !== undefined)
      client.idTokenSignedResponseAlg = dto.idTokenSignedResponseAlg;
    if (dto.accessTokenSigningAlg !== undefined) client.accessTokenSigningAlg = dto.accessTokenSigningAlg;
    if (dto.lifetimes !== undefined)
      client.lifetimes = { ...client.lifetimes, ...definedFields(dto.lifetimes) };
    this.validate(client);
    if (dto.backchannelLogoutUri !== undefined || dto.jwksUri !== undefined)
      await this.checkDestinations(client);
    let clientSecret: string | undefined;
    if (!this.needsSecret(client)) client.secretHash = null;
    else if (!hadSecret) {
      clientSecret = newSecret();
      client.secretHash = sha256(clientSecret);
    }
    const saved = await this.saveAudited(client, (c) => {
      const changes = changeSet(before, clientAuditView(c));
      return {
        type: 'app.updated',
        data: {
          name: c.name,
          ...(clientSecret ? { secretIssued: true } : {}),
          before: changes?.before ?? {},
          after: changes?.after ?? {},
        },
      };
    });
    return { client: saved, clientSecret };
  }

  async rotateSecret(clientId: string): Promise<{ client: OidcClientEntity; clientSecret: string }> {
    const client = await this.get(clientId);
    const before = client.secretHash;
    if (!this.needsSecret(client)) {
      throw DomainError.invalid(
        'client_has_no_secret',
        `This app authenticates with ${client.tokenEndpointAuthMethod}: it has no secret.`,
      );
    }
    const clientSecret = newSecret();
    client.secretHash = sha256(clientSecret);
    const saved = await this.saveAudited(client, (c) => ({
      type: 'app.secret_rotated',
      data: { name: c.name, before: { secretHash: before }, after: { secretHash: c.secretHash } },
    }));
    return { client: saved, clientSecret };
  }

  async remove(clientId: string): Promise<void> {
    await this.transactions.run(async (tx) => {
      const client = await this.clients.lockByClientId(tx, clientId);
      if (!client)
        throw DomainError.notFound('client_not_found', `No app with client_id ${clientId.slice(0, 64)}.`);
      await this.clients.delete(tx, clientId);
      await this.audit.record(
        { type: 'app.deleted', clientId, data: { name: client.name, before: clientAuditView(client) } },
        tx,
      );
    });
  }
}

/** What the audit log keeps of an app (the secret hash is redacted by the audit log's helper). */
function clientAuditView(c: OidcClientEntity): Record<string, unknown> {
  return {
    clientId: c.clientId,
    name: c.name,
    redirectUris: [...c.redirectUris],
    postLogoutRedirectUris: [...c.postLogoutRedirectUris],
    backchannelLogoutUri: c.backchannelLogoutUri,
    grantTypes: [...c.grantTypes],
    tokenEndpointAuthMethod: c.tokenEndpointAuthMethod,
    jwksUri: c.jwksUri,
    allowedConnections: c.allowedConnections ? [...c.allowedConnections] : null,
    accessTokenFormat: c.accessTokenFormat,
    idTokenSignedResponseAlg: c.idTokenSignedResponseAlg,
    accessTokenSigningAlg: c.accessTokenSigningAlg,
    lifetimes: { ...c.lifetimes },
    secretHash: c.secretHash,
  };
}

function newSecret(): string {
  return `sbs_${randomBytes(32).toString('base64url')}`;
}
