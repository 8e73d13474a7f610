import { Inject, Injectable } from '@nestjs/common';
import { createHash, X509Certificate } from 'node:crypto';
import type { Transaction } from '../database/transactions';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../common/domain-error';
import { Clock } from '../common/clock';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { generateSelfSignedKeyPair, GeneratedKeyPair } from './certificate-factory';
import { SecretBox } from './secret-box';
import { SpKeyEntity, SpKeyStatus } from './sp-key.entity';
import { ChangeCache, ChangeFeed } from '../database/change-feed';
import { Transactions } from '../database/transactions';
import { SpKeysRepository } from './sp-keys.repository';

/** Retired keys still decrypt for this long after a rollover (assertions in flight). */
export const RETIRED_KEY_DECRYPT_GRACE_MS = 24 * 3600_000;

export interface LoadedSpKey {
  id: string;
  status: SpKeyStatus;
  certificatePem: string;
  privateKeyPem: string;
}

export interface SpKeyRing {
  current: LoadedSpKey;
  next?: LoadedSpKey;
  /** Current first, then next, then recently retired: every key that may decrypt an assertion. */
  decryption: LoadedSpKey[];
}

export interface SpKeyView {
  id: string;
  status: SpKeyStatus;
  fingerprint: string;
  subject: string;
  notAfter: string;
  createdAt: string;
  retiredAt: string | null;
  certificatePem: string;
}

/** Per-connection SP keys: generation, sealing at rest, rollover (next → current), and loading. */
@Injectable()
export class SpKeysService {
  private readonly box: SecretBox;
  /** Opened private keys by key id (a key's content never changes, so this cache is always correct). */
  private readonly opened = new Map<string, string>();
  private readonly ringCache: ChangeCache<SpKeyEntity[]>;

  constructor(
    private readonly keys: SpKeysRepository,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    @Inject(BRIDGE_CONFIG) config: BridgeConfig,
    feed: ChangeFeed,
  ) {
    this.ringCache = new ChangeCache(feed, ['sp_keys']);
    this.box = SecretBox.forConfig(config);
  }

  generate(slug: string): Promise<GeneratedKeyPair> {
    return generateSelfSignedKeyPair(`SAML Bridge SP ${slug}`, { now: this.clock.now() });
  }

  /** Stores a generated key pair for a connection (inside the caller's transaction when given). */
  async store(
    connectionId: string,
    pair: GeneratedKeyPair,
    status: SpKeyStatus,
    manager?: Transaction,
  ): Promise<SpKeyEntity> {
    return this.keys.insert(
      {
        connectionId,
        status,
        certificatePem: pair.certificatePem,
        privateKeySealed: this.box.seal(pair.privateKeyPem),
        notAfter: pair.notAfter,
        retiredAt: null,
      },
      manager,
    );
  }

  async ring(connectionId: string): Promise<SpKeyRing> {
    // A connection's keys (a handful) are cached until sp_keys changes on any instance (ChangeFeed); the
    // retired keys' grace is applied on every call.
    const since = this.clock.now().getTime() - RETIRED_KEY_DECRYPT_GRACE_MS;
    const rows = (
      await this.ringCache.get(connectionId, () => this.keys.byConnection(connectionId, 'newest'))
    ).filter((k) => k.status !== 'retired' || (k.retiredAt !== null && k.retiredAt.getTime() > since));
    const current = rows.find((k) => k.status === 'current');
    if (!current) {
      throw new DomainError('conflict', 'sp_key_missing', 'This connection has no current SP key.');
    }
    const next = rows.find((k) => k.status === 'next');
    const retired = rows.filter((k) => k.status === 'retired');
    const load = (k: SpKeyEntity): LoadedSpKey => ({
      id: k.id,
      status: k.status,
      certificatePem: k.certificatePem,
      privateKeyPem: this.open(k),
    });
    return {
      current: load(current),
      next: next ? load(next) : undefined,
      decryption: [current, ...(next ? [next] : []), ...retired].map(load),
    };
  }

  /** The live (current and next) SP keys of every connection whose certificate ends before `date`. */
  async expiringBefore(
    date: Date,
  ): Promise<
    Array<{ connectionId: string; keyId: string; status: SpKeyStatus; notAfter: Date; pem: string }>
  > {
    const rows = await this.keys.liveExpiringBefore(date);
    return rows.map((k) => ({
      connectionId: k.connectionId,
      keyId: k.id,
      status: k.status,
      notAfter: k.notAfter,
      pem: k.certificatePem,
    }));
  }

  async list(connectionId: string): Promise<SpKeyView[]> {
    const rows = await this.keys.byConnection(connectionId, 'oldest');
    return rows.map((k) => {
      const cert = new X509Certificate(k.certificatePem);
      return {
        id: k.id,
        status: k.status,
        fingerprint: cert.fingerprint256,
        subject: cert.subject,
        notAfter: k.notAfter.toISOString(),
        createdAt: k.createdAt.toISOString(),
        retiredAt: k.retiredAt?.toISOString() ?? null,
        certificatePem: k.certificatePem,
      };
    });
  }

  /** Starts a rollover: a next key, published in SP metadata (and able to decrypt) before it is used. */
  async addNext(connectionId: string, slug: string): Promise<void> {
    if (await this.keys.hasNext(connectionId)) {
      throw DomainError.conflict(
        'sp_key_next_exists',
        'A next SP key already exists: promote it (or wait) before creating another.',
      );
    }
    const pair = await this.generate(slug);
    await this.transactions.run(async (manager) => {
      const key = await this.store(connectionId, pair, 'next', manager);
      await this.audit.record(
        {
          type: 'sp_key.next_created',
          connectionId,
          data: {
            slug,
            keyId: key.id,
            fingerprint: certificateFingerprint(key.certificatePem),
            notAfter: key.notAfter,
          },
        },
        manager,
      );
    });
  }

  /** Finishes a rollover: next becomes current; the old current is retired (still decrypts for 24 h). */
  async promote(connectionId: string): Promise<void> {
    await this.transactions.run(async (manager) => {
      const next = await this.keys.lockNext(manager, connectionId);
      if (!next) {
        throw DomainError.conflict(
          'sp_key_next_missing',
          'There is no next SP key to promote: create one first.',
        );
      }
      const retired = await this.keys.currentKeys(manager, connectionId);
      await this.keys.promote(manager, connectionId, next.id, this.clock.now());
      await this.audit.record(
        {
          type: 'sp_key.promoted',
          connectionId,
          data: {
            current: { keyId: next.id, fingerprint: certificateFingerprint(next.certificatePem) },
            retired: retired.map((k) => ({
              keyId: k.id,
              fingerprint: certificateFingerprint(k.certificatePem),
            })),
          },
        },
        manager,
      );
    });
  }

  private open(k: SpKeyEntity): string {
    let pem = this.opened.get(k.id);
    if (!pem) {
      pem = this.box.open(k.privateKeySealed);
      this.opened.set(k.id, pem);
    }
    return pem;
  }
}

/** SHA-256 of a PEM certificate's DER, as uppercase hex with colons. */
export function certificateFingerprint(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)?.join(':') ?? '';
}
