import { randomUUID } from 'node:crypto';
import { AdminApiKeyEntity } from '../../../src/admin/admin-api-key.entity';
import type { AdminApiKeysRepository } from '../../../src/admin/admin-api-keys.repository';
import { AdminApiKeysService, hashApiKey } from '../../../src/admin/admin-api-keys.service';
import { DomainError } from '../../../src/common/domain-error';
import type { BridgeConfig } from '../../../src/config/bridge-config';
import type { Transaction } from '../../../src/database/transactions';
import { FakeAudit, FakeTransactions, stage } from '../support/fake-database';

/** The admin_api_keys table in memory. */
class FakeAdminApiKeys implements Pick<AdminApiKeysRepository, keyof AdminApiKeysRepository> {
  readonly rows = new Map<string, AdminApiKeyEntity>();

  async findActiveByHash(keyHash: string): Promise<AdminApiKeyEntity | null> {
    return [...this.rows.values()].find((k) => k.keyHash === keyHash && !k.revokedAt) ?? null;
  }
  async touchLastUsed(id: string, at: Date): Promise<void> {
    const k = this.rows.get(id);
    if (k) k.lastUsedAt = at;
  }
  async insert(tx: Transaction, fields: Partial<AdminApiKeyEntity>): Promise<AdminApiKeyEntity> {
    const k = Object.assign(new AdminApiKeyEntity(), { id: randomUUID(), createdAt: new Date(), ...fields });
    stage(tx, () => this.rows.set(k.id, k));
    return k;
  }
  async list(): Promise<AdminApiKeyEntity[]> {
    return [...this.rows.values()];
  }
  async lockById(_tx: Transaction, id: string): Promise<AdminApiKeyEntity | null> {
    const k = this.rows.get(id);
    return k ? Object.assign(new AdminApiKeyEntity(), k) : null;
  }
  async markRevoked(tx: Transaction, id: string, revokedAt: Date): Promise<void> {
    stage(tx, () => {
      const k = this.rows.get(id);
      if (k) k.revokedAt = revokedAt;
    });
  }
}

describe('AdminApiKeysService (fake repository)', () => {
  const BOOTSTRAP = 'bootstrap-admin-key-0123456789';
  let repo: FakeAdminApiKeys;
  let audit: FakeAudit;
  let service: AdminApiKeysService;

  beforeEach(() => {
    repo = new FakeAdminApiKeys();
    audit = new FakeAudit();
    service = new AdminApiKeysService(
      repo as unknown as AdminApiKeysRepository,
      new FakeTransactions().asTransactions(),
      audit.asAuditService(),
      { adminApiKey: BOOTSTRAP } as BridgeConfig,
    );
  });

  it('stores only the hash of a new key, returns the secret once, and audits it without the secret', async () => {
    const { key, secret } = await service.create('deploy bot');
    expect(secret).toMatch(/^sbk_[A-Za-z0-9_-]{43}$/);
    const stored = repo.rows.get(key.id);
    expect(stored?.keyHash).toBe(hashApiKey(secret));
    expect(stored?.keyPrefix).toBe(secret.slice(0, 12));
    expect(JSON.stringify([...repo.rows.values()])).not.toContain(secret);
    expect(audit.recorded).toHaveLength(1);
    expect(audit.recorded[0]?.inTransaction).toBe(true);
    expect(audit.recorded[0]?.input.type).toBe('admin_key.created');
    expect(JSON.stringify(audit.recorded[0]?.input)).not.toContain(secret);
    expect(JSON.stringify(audit.recorded[0]?.input)).not.toContain(hashApiKey(secret));
  });

  it('authenticates the new key and the bootstrap key, and refuses unknown or revoked keys', async () => {
    const { key, secret } = await service.create('deploy bot');
    expect(await service.authenticate(secret)).toEqual({
      kind: 'api-key',
      keyId: key.id,
      name: 'deploy bot',
    });
    expect(repo.rows.get(key.id)?.lastUsedAt).toBeInstanceOf(Date);
    expect(await service.authenticate(BOOTSTRAP)).toEqual({
      kind: 'bootstrap',
      name: 'bootstrap (ADMIN_API_KEY)',
    });
    expect(await service.authenticate('sbk_not-a-key')).toBeUndefined();
    expect(await service.authenticate('')).toBeUndefined();

    await service.revoke(key.id);
    expect(await service.authenticate(secret)).toBeUndefined();
    expect(audit.types()).toEqual(['admin_key.created', 'admin_key.revoked']);
    // Revoking again changes nothing and audits nothing.
    await service.revoke(key.id);
    expect(audit.types()).toEqual(['admin_key.created', 'admin_key.revoked']);
  });

  it('refuses to revoke an unknown key with api_key_not_found', async () => {
    const err = await service.revoke(randomUUID()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).reason).toBe('api_key_not_found');
  });
});
