import { Inject, Injectable, Logger } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { changeSet } from '../audit/redact';
import { DomainError } from '../common/domain-error';
import { sha256 } from '../common/sha256';
import { certificateFingerprint, SpKeysService } from '../keys/sp-keys.service';
import { Clock } from '../common/clock';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { Transactions } from '../database/transactions';
import { UsersRepository } from '../users/users.repository';
import { resolveOptions } from './connection-presets';
import { ConnectionsRepository } from './connections.repository';
import { ConnectionEntity, ConnectionOptions, Preset } from './connection.entity';
import {
  CreateConnectionDto,
  DOMAIN_PATTERN,
  ListConnectionsQuery,
  UpdateConnectionDto,
} from './dto/connection.dto';
import { MetadataError } from './metadata/metadata.errors';
import { MetadataFetcher, MetadataFetchError } from './metadata/metadata-fetcher';
import { decodeXmlBytes } from '../common/xml-safety';
import { parseIdpMetadata, ParsedIdpMetadata } from './metadata/idp-metadata.parser';

const MIN_REFRESH_SECONDS = 300;
const RETRY_AFTER_FAILURE_SECONDS = 900;
/** How long a scheduler run owns a due connection before another instance may take it. */
const REFRESH_LEASE_SECONDS = 600;

interface MetadataSource {
  url?: string | null;
  entityId?: string | null;
  signingCertificate?: string | null;
}

interface LoadedMetadata {
  parsed: ParsedIdpMetadata;
  text: string;
}

export interface RefreshOutcome {
  id: string;
  slug: string;
  ok: boolean;
  error?: { code: string; message: string };
}

/** What the audit log keeps of a connection (no metadata document: its SHA-256 and certificates). */
export function connectionAuditView(c: ConnectionEntity): Record<string, unknown> {
  return {
    slug: c.slug,
    name: c.name,
    preset: c.preset,
    enabled: c.enabled,
    domains: [...(c.domains ?? [])],
    allowIdpInitiated: c.allowIdpInitiated,
    options: structuredClone(c.options ?? {}),
    idpEntityId: c.idpEntityId,
    idpSigningCertificates: (c.idp?.signingCertificates ?? []).map((x) => x.fingerprintSha256),
    metadataUrl: c.metadataUrl,
    metadataEntityId: c.metadataEntityId,
    metadataSigningCertificate: c.metadataSigningCertificate,
    metadataRefreshSeconds: c.metadataRefreshSeconds,
    metadataSha256: c.metadataXml ? sha256(c.metadataXml) : null,
    metadataValidUntil: c.metadataValidUntil,
  };
}

function isUniqueViolation(err: unknown): boolean {
  return (
    err instanceof QueryFailedError && (err.driverError as { code?: string } | undefined)?.code === '23505'
  );
}

function toDomainError(err: unknown): unknown {
  if (err instanceof MetadataError) {
    const kind = err.code === 'metadata_too_large' ? 'too_large' : 'invalid';
    return new DomainError(kind, err.code, err.message, err.details);
  }
  if (err instanceof MetadataFetchError) {
    const kind =
      err.code === 'metadata_url_invalid' || err.code === 'metadata_url_forbidden_host'
        ? 'invalid'
        : 'unprocessable';
    return new DomainError(kind, err.code, err.message);
  }
  return err;
}

/** IdP connections: registration, metadata import (document or URL), scheduled refresh. */
@Injectable()
export class ConnectionsService {
  private readonly logger = new Logger('ConnectionsService');
  private readonly disabledListeners: Array<
    (connectionId: string, userIds?: string[]) => Promise<void> | void
  > = [];

  constructor(
    private readonly connections: ConnectionsRepository,
    private readonly users: UsersRepository,
    private readonly transactions: Transactions,
    private readonly fetcher: MetadataFetcher,
    private readonly clock: Clock,
    private readonly spKeys: SpKeysService,
    private readonly metrics: MetricsService,
    private readonly audit: AuditService,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  /** Saves an admin change and its audit event in one transaction: an unaudited change is never kept. */
  private saveAudited(
    entity: ConnectionEntity,
    before: Record<string, unknown>,
    operation?: string,
  ): Promise<ConnectionEntity> {
    return this.transactions.run(async (manager) => {
      const saved = await this.connections.save(manager, entity);
      const changes = changeSet(before, connectionAuditView(saved));
      await this.audit.record(
        {
          type: 'connection.updated',
          connectionId: saved.id,
          data: {
            slug: saved.slug,
            ...(operation ? { operation } : {}),
            before: changes?.before ?? {},
            after: changes?.after ?? {},
          },
        },
        manager,
      );
      return saved;
    });
  }

  async create(dto: CreateConnectionDto): Promise<ConnectionEntity> {
    const slug = dto.slug;
    if (dto.metadataXml && dto.metadataUrl) {
      throw DomainError.invalid(
        'metadata_source_conflict',
        'Give either metadataXml or metadataUrl, not both.',
      );
    }
    if (!dto.metadataXml && !dto.metadataUrl) {
      throw DomainError.invalid(
        'metadata_required',
        "The IdP's metadata is required: give metadataXml (the document) or metadataUrl (where the bridge fetches it).",
      );
    }
    if (await this.connections.existsBySlug(slug)) throw this.slugTaken(slug);
    const preset: Preset = dto.preset ?? 'generic';
    const source: MetadataSource = {
      url: dto.metadataUrl ?? null,
      entityId: dto.metadataEntityId ?? null,
      signingCertificate: dto.metadataSigningCertificate ?? null,
    };
    const loaded = dto.metadataXml
      ? this.parse(Buffer.from(dto.metadataXml, 'utf8'), source)
      : await this.download(source);
    const now = this.clock.now();
    const entity = this.connections.build({
      slug,
      name: dto.name.trim(),
      preset,
      enabled: dto.enabled ?? true,
      domains: this.normalizeDomains(dto.domains ?? []),
      allowIdpInitiated: dto.allowIdpInitiated ?? false,
      options: resolveOptions(preset, dto.options),
      metadataUrl: source.url ?? null,
      metadataEntityId: source.entityId ?? null,
      metadataSigningCertificate: source.signingCertificate ?? null,
      metadataRefreshSeconds: dto.metadataRefreshSeconds ?? null,
      metadataRefreshAttemptedAt: source.url ? now : null,
      lastRefreshError: null,
    });
    this.applyMetadata(entity, loaded, now);
    const spKey = await this.spKeys.generate(slug);
    try {
      // The connection and its first SP key are written together, or not at all.
      return await this.transactions.run(async (manager) => {
        const saved = await this.connections.save(manager, entity);
        const key = await this.spKeys.store(saved.id, spKey, 'current', manager);
        await this.audit.record(
          {
            type: 'connection.created',
            connectionId: saved.id,
            data: {
              slug: saved.slug,
              after: connectionAuditView(saved),
              spKey: { id: key.id, fingerprint: certificateFingerprint(key.certificatePem) },
            },
          },
          manager,
        );
        return saved;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw this.slugTaken(slug);
      throw err;
    }
  }

  list(query: ListConnectionsQuery): Promise<{ items: ConnectionEntity[]; total: number }> {
    return this.connections.page({ q: query.q, limit: query.limit ?? 50, offset: query.offset ?? 0 });
  }

  async get(id: string): Promise<ConnectionEntity> {
    const found = await this.connections.findById(id);
    if (!found) throw DomainError.notFound('connection_not_found', `No connection with id ${id}.`);
    return found;
  }

  /** The connection with this id, or null (the admin API's own copy, read from the database). */
  async findById(id: string): Promise<ConnectionEntity | null> {
    return this.connections.findById(id);
  }

  async findBySlug(slug: string): Promise<ConnectionEntity | null> {
    return this.connections.findBySlug(slug);
  }

  async update(id: string, dto: UpdateConnectionDto): Promise<ConnectionEntity> {
    if (dto.slug !== undefined) {
      throw DomainError.invalid(
        'slug_immutable',
        "A connection's slug cannot change: it is part of the SP entityID and URLs configured at the IdP. Create a new connection instead.",
      );
    }
    const entity = await this.get(id);
    const before = connectionAuditView(entity);
    const wasEnabled = entity.enabled;
    if (dto.name !== undefined) entity.name = dto.name.trim();
    if (dto.enabled !== undefined) entity.enabled = dto.enabled;
    if (dto.allowIdpInitiated !== undefined) entity.allowIdpInitiated = dto.allowIdpInitiated;
    if (dto.domains !== undefined) entity.domains = this.normalizeDomains(dto.domains);
    if (dto.metadataRefreshSeconds !== undefined) entity.metadataRefreshSeconds = dto.metadataRefreshSeconds;
    if (dto.preset !== undefined || dto.options !== undefined) {
      const preset = dto.preset ?? entity.preset;
      // A preset change resets the policy to that preset's defaults, then applies the overrides given.
      const current: Partial<ConnectionOptions> =
        dto.preset && dto.preset !== entity.preset ? {} : entity.options;
      entity.preset = preset;
      entity.options = resolveOptions(preset, dto.options, current);
    }
    const sourceChanged =
      (dto.metadataUrl !== undefined && dto.metadataUrl !== entity.metadataUrl) ||
      (dto.metadataEntityId !== undefined && dto.metadataEntityId !== entity.metadataEntityId) ||
      (dto.metadataSigningCertificate !== undefined &&
        dto.metadataSigningCertificate !== entity.metadataSigningCertificate);
    if (sourceChanged) {
      const source: MetadataSource = {
        url: dto.metadataUrl ?? entity.metadataUrl,
        entityId: dto.metadataEntityId ?? entity.metadataEntityId,
        signingCertificate: dto.metadataSigningCertificate ?? entity.metadataSigningCertificate,
      };
      const loaded = source.url
        ? await this.download(source)
        : this.parse(Buffer.from(entity.metadataXml, 'utf8'), source);
      const now = this.clock.now();
      entity.metadataUrl = source.url ?? null;
      entity.metadataEntityId = source.entityId ?? null;
      entity.metadataSigningCertificate = source.signingCertificate ?? null;
      entity.metadataRefreshAttemptedAt = source.url ? now : entity.metadataRefreshAttemptedAt;
      this.applyMetadata(entity, loaded, now);
    } else if (dto.metadataRefreshSeconds !== undefined && entity.metadataUrl) {
      entity.metadataNextRefreshAt = this.nextRefreshAt(entity, this.clock.now());
    }
    const saved = await this.saveAudited(entity, before);
    if (wasEnabled && !saved.enabled) for (const listener of this.disabledListeners) await listener(saved.id);
    return saved;
  }

  /**
   * Registers a listener told after a connection was disabled or deleted (its users' sessions end: OIDC
   * logout fan-out). On deletion the users are gone with it: their ids are given.
   */
  onDisabled(listener: (connectionId: string, userIds?: string[]) => Promise<void> | void): void {
    this.disabledListeners.push(listener);
  }

  /**
   * Replaces the metadata with an uploaded document. The connection then uses this document (a metadata
   * URL, if any, is dropped: the admin chose to pin a copy).
   */
  async replaceMetadata(id: string, body: Buffer, entityId?: string): Promise<ConnectionEntity> {
    const entity = await this.get(id);
    const before = connectionAuditView(entity);
    const source: MetadataSource = {
      url: null,
      entityId: entityId ?? entity.metadataEntityId,
      signingCertificate: entity.metadataSigningCertificate,
    };
    const loaded = this.parse(body, source);
    entity.metadataUrl = null;
    entity.metadataEntityId = source.entityId ?? null;
    entity.lastRefreshError = null;
    this.applyMetadata(entity, loaded, this.clock.now());
    return this.saveAudited(entity, before, 'metadata_replaced');
  }

  async remove(id: string): Promise<void> {
    let userIds: string[] = [];
    await this.transactions.run(async (manager) => {
      const entity = await this.connections.lockById(manager, id);
      if (!entity) throw DomainError.notFound('connection_not_found', `No connection with id ${id}.`);
      // Its users are deleted with it (ON DELETE CASCADE): remembered, so that their sessions end too.
      userIds = await this.users.idsByConnection(id, manager);
      await this.connections.delete(manager, id);
      await this.audit.record(
        {
          type: 'connection.deleted',
          connectionId: id,
          data: { slug: entity.slug, before: connectionAuditView(entity) },
        },
        manager,
      );
    });
    if (userIds.length > 0) for (const listener of this.disabledListeners) await listener(id, userIds);
  }

  /** Refreshes one connection's metadata from its URL now. Failures are recorded, never thrown. */
  async refreshNow(id: string): Promise<ConnectionEntity> {
    const entity = await this.get(id);
    if (!entity.metadataUrl) {
      throw DomainError.invalid(
        'metadata_url_not_set',
        'This connection uses an uploaded metadata document; set metadataUrl to refresh it from the IdP.',
      );
    }
    await this.refreshFromUrl(entity);
    return this.get(id);
  }

  /**
   * Claims connections whose metadata refresh is due (each claimed by exactly one instance, thanks to
   * FOR UPDATE SKIP LOCKED and a lease) and refreshes them.
   */
  async refreshDue(limit = 10): Promise<RefreshOutcome[]> {
    const claimed = await this.connections.claimDueRefreshes(this.clock.now(), REFRESH_LEASE_SECONDS, limit);
    const outcomes: RefreshOutcome[] = [];
    for (const id of claimed) {
      const entity = await this.connections.findById(id);
      if (entity?.metadataUrl) outcomes.push(await this.refreshFromUrl(entity));
    }
    return outcomes;
  }

  private async refreshFromUrl(entity: ConnectionEntity): Promise<RefreshOutcome> {
    const now = this.clock.now();
    try {
      const loaded = await this.download({
        url: entity.metadataUrl,
        entityId: entity.metadataEntityId,
        signingCertificate: entity.metadataSigningCertificate,
      });
      if (loaded.parsed.entityId !== entity.idpEntityId) {
        throw new DomainError(
          'unprocessable',
          'metadata_entity_changed',
          `The metadata now describes ${loaded.parsed.entityId}, not ${entity.idpEntityId}; the last good metadata is kept. Upload the new metadata explicitly if the IdP really changed.`,
        );
      }
      if (loaded.parsed.warnings.includes('valid_until_passed')) {
        throw new DomainError(
          'unprocessable',
          'metadata_expired',
          `The fetched metadata expired on ${loaded.parsed.validUntil}; the last good metadata is kept.`,
        );
      }
      const before = connectionAuditView(entity);
      this.applyMetadata(entity, loaded, now);
      await this.transactions.run(async (manager) => {
        await this.connections.update(manager, entity.id, {
          idpEntityId: entity.idpEntityId,
          idp: entity.idp,
          metadataXml: entity.metadataXml,
          metadataSignature: entity.metadataSignature,
          metadataStatus: entity.metadataStatus,
          metadataWarnings: entity.metadataWarnings,
          metadataValidUntil: entity.metadataValidUntil,
          metadataCacheDurationSeconds: entity.metadataCacheDurationSeconds,
          metadataUpdatedAt: entity.metadataUpdatedAt,
          metadataNextRefreshAt: entity.metadataNextRefreshAt,
          metadataRefreshAttemptedAt: now,
          lastRefreshError: null,
        });
        const changes = changeSet(before, connectionAuditView(entity));
        await this.audit.record(
          {
            type: 'connection.metadata_refreshed',
            connectionId: entity.id,
            data: {
              slug: entity.slug,
              url: entity.metadataUrl,
              changed: changes !== undefined,
              before: changes?.before ?? {},
              after: changes?.after ?? {},
            },
          },
          manager,
        );
      });
      this.metrics.metadataRefreshes.inc({ connection: entity.slug, result: 'ok' });
      return { id: entity.id, slug: entity.slug, ok: true };
    } catch (err) {
      const mapped = toDomainError(err);
      const code = mapped instanceof DomainError ? mapped.reason : 'metadata_refresh_failed';
      const message =
        mapped instanceof DomainError ? mapped.message : 'The metadata refresh failed unexpectedly.';
      if (!(mapped instanceof DomainError))
        this.logger.error({ err, connection: entity.slug }, 'Metadata refresh failed');
      else this.logger.warn({ connection: entity.slug, code }, `Metadata refresh failed: ${message}`);
      const expired =
        entity.metadataValidUntil !== null && entity.metadataValidUntil.getTime() <= now.getTime();
      const retry = Math.min(RETRY_AFTER_FAILURE_SECONDS, this.refreshPeriodSeconds(entity));
      await this.transactions.run(async (manager) => {
        await this.connections.update(manager, entity.id, {
          metadataStatus: expired ? 'expired' : 'refresh_failed',
          lastRefreshError: { code, message, at: now.toISOString() },
          metadataRefreshAttemptedAt: now,
          metadataNextRefreshAt: new Date(now.getTime() + retry * 1000),
        });
        await this.audit.record(
          {
            type: 'connection.metadata_refresh_failed',
            connectionId: entity.id,
            data: { slug: entity.slug, url: entity.metadataUrl, code, message, expired },
          },
          manager,
        );
      });
      this.metrics.metadataRefreshes.inc({ connection: entity.slug, result: code });
      return { id: entity.id, slug: entity.slug, ok: false, error: { code, message } };
    }
  }

  private parse(body: Buffer, source: MetadataSource): LoadedMetadata {
    try {
      const parsed = parseIdpMetadata(body, {
        entityId: source.entityId ?? undefined,
        pinnedCertificatePem: source.signingCertificate ?? undefined,
        maxBytes: this.config.metadataMaxBytes,
        now: this.clock.now(),
      });
      return { parsed, text: decodeXmlBytes(body) };
    } catch (err) {
      throw toDomainError(err);
    }
  }

  private async download(source: MetadataSource): Promise<LoadedMetadata> {
    let body: Buffer;
    try {
      body = await this.fetcher.fetch(source.url as string);
    } catch (err) {
      throw toDomainError(err);
    }
    return this.parse(body, source);
  }

  private applyMetadata(entity: ConnectionEntity, { parsed, text }: LoadedMetadata, now: Date): void {
    entity.idpEntityId = parsed.entityId;
    entity.idp = {
      ssoEndpoints: parsed.ssoEndpoints,
      sloEndpoints: parsed.sloEndpoints,
      signingCertificates: parsed.signingCertificates,
      encryptionCertificates: parsed.encryptionCertificates,
      wantAuthnRequestsSigned: parsed.wantAuthnRequestsSigned,
      nameIdFormats: parsed.nameIdFormats,
    };
    entity.metadataXml = text;
    entity.metadataSignature = parsed.signature;
    entity.metadataWarnings = parsed.warnings;
    entity.metadataValidUntil = parsed.validUntil ? new Date(parsed.validUntil) : null;
    entity.metadataCacheDurationSeconds = parsed.cacheDurationSeconds ?? null;
    entity.metadataUpdatedAt = now;
    entity.metadataStatus = 'ok';
    entity.lastRefreshError = null;
    entity.metadataNextRefreshAt = entity.metadataUrl ? this.nextRefreshAt(entity, now) : null;
  }

  private refreshPeriodSeconds(entity: ConnectionEntity): number {
    let period = entity.metadataRefreshSeconds ?? this.config.metadataRefreshSeconds;
    if (entity.metadataCacheDurationSeconds) {
      period = Math.min(period, Math.max(entity.metadataCacheDurationSeconds, MIN_REFRESH_SECONDS));
    }
    return period;
  }

  /** Next refresh: the period (capped by cacheDuration), and well before validUntil. */
  private nextRefreshAt(entity: ConnectionEntity, now: Date): Date {
    let next = now.getTime() + this.refreshPeriodSeconds(entity) * 1000;
    if (entity.metadataValidUntil) {
      const beforeExpiry = entity.metadataValidUntil.getTime() - 3_600_000;
      next = Math.min(next, Math.max(beforeExpiry, now.getTime() + MIN_REFRESH_SECONDS * 1000));
    }
    return new Date(next);
  }

  private normalizeDomains(domains: string[]): string[] {
    const out = new Set<string>();
    const invalid: string[] = [];
    for (const raw of domains) {
      const d = raw.trim().toLowerCase().replace(/\.$/, '');
      if (DOMAIN_PATTERN.test(d)) out.add(d);
      else invalid.push(raw);
    }
    if (invalid.length > 0) {
      throw DomainError.invalid(
        'invalid_domain',
        `These are not valid email domains: ${invalid.map((d) => JSON.stringify(d)).join(', ')}. Give bare domains such as "acme.com".`,
        { invalid },
      );
    }
    return [...out];
  }

  private slugTaken(slug: string): DomainError {
    return DomainError.conflict(
      'slug_taken',
      `A connection with slug "${slug}" already exists; choose another slug.`,
    );
  }
}
