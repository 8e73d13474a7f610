import { Inject, Injectable } from '@nestjs/common';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../common/domain-error';
import { sha256 } from '../common/sha256';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { Transactions } from '../database/transactions';
import type { AdminApiKeyEntity } from './admin-api-key.entity';
import { AdminApiKeysRepository } from './admin-api-keys.repository';

export const API_KEY_PREFIX = 'sbk_';
const LAST_USED_RESOLUTION_MS = 60_000;

/** Who made an admin request. */
export interface AdminPrincipal {
  kind: 'bootstrap' | 'api-key';
  keyId?: string;
  name: string;
}

export const hashApiKey = sha256;

/** What the audit log keeps of an admin API key (never the key or its hash). */
function adminKeyAuditView(k: AdminApiKeyEntity): Record<string, unknown> {
  return { id: k.id, name: k.name, keyPrefix: k.keyPrefix, revokedAt: k.revokedAt };
}

/** Admin API keys: created (shown once), listed, revoked; stored only as SHA-256 hashes. */
@Injectable()
export class AdminApiKeysService {
  private readonly bootstrapHash: Buffer;

  constructor(
    private readonly keys: AdminApiKeysRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    @Inject(BRIDGE_CONFIG) config: BridgeConfig,
  ) {
    this.bootstrapHash = Buffer.from(hashApiKey(config.adminApiKey), 'hex');
  }

  /** Resolves a presented bearer key to a principal, or undefined. Constant-time for the bootstrap key. */
  async authenticate(presented: string): Promise<AdminPrincipal | undefined> {
    if (presented.length === 0 || presented.length > 512) return undefined;
    const hash = hashApiKey(presented);
    if (timingSafeEqual(Buffer.from(hash, 'hex'), this.bootstrapHash)) {
      return { kind: 'bootstrap', name: 'bootstrap (ADMIN_API_KEY)' };
    }
    if (!presented.startsWith(API_KEY_PREFIX)) return undefined;
    const key = await this.keys.findActiveByHash(hash);
    if (!key) return undefined;
    const now = Date.now();
    if (!key.lastUsedAt || now - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      await this.keys.touchLastUsed(key.id, new Date(now));
    }
    return { kind: 'api-key', keyId: key.id, name: key.name };
  }

  async create(name: string): Promise<{ key: AdminApiKeyEntity; secret: string }> {
    const secret = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const key = await this.transactions.run(async (manager) => {
      const saved = await this.keys.insert(manager, {
        name,
        keyPrefix: secret.slice(0, 12),
        keyHash: hashApiKey(secret),
        lastUsedAt: null,
        revokedAt: null,
      });
      await this.audit.record(
        { type: 'admin_key.created', data: { after: adminKeyAuditView(saved) } },
        manager,
      );
      return saved;
    });
    return { key, secret };
  }

  list(): Promise<AdminApiKeyEntity[]> {
    return this.keys.list();
  }

  async revoke(id: string): Promise<AdminApiKeyEntity> {
    return this.transactions.run(async (manager) => {
      const key = await this.keys.lockById(manager, id);
      if (!key) throw DomainError.notFound('api_key_not_found', `No admin API key with id ${id}.`);
      if (!key.revokedAt) {
        const before = adminKeyAuditView(key);
        key.revokedAt = new Date();
        await this.keys.markRevoked(manager, key.id, key.revokedAt);
        await this.audit.record(
          { type: 'admin_key.revoked', data: { before, after: adminKeyAuditView(key) } },
          manager,
        );
      }
      return key;
    });
  }
}
