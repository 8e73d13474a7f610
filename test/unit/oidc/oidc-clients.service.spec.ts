import { sha256 } from '../../../src/common/sha256';
import type { ChangeFeed } from '../../../src/database/change-feed';
import type { Transaction } from '../../../src/database/transactions';
import { OidcClientEntity } from '../../../src/oidc/oidc-client.entity';
import type { OidcClientsRepository } from '../../../src/oidc/oidc-clients.repository';
import { OidcClientsService } from '../../../src/oidc/oidc-clients.service';
import type { OutboundHttp } from '../../../src/platform/http/outbound';
import { need } from '../../support/defined';
import { FakeAudit, FakeTransactions, stage } from '../support/fake-database';

/** The oidc_clients table in memory; saves and deletes apply when the fake transaction commits. */
class FakeOidcClientsRepository implements Pick<OidcClientsRepository, keyof OidcClientsRepository> {
  readonly rows = new Map<string, OidcClientEntity>();
  readonly locked: string[] = [];

  private clone(c: OidcClientEntity): OidcClientEntity {
    return Object.assign(new OidcClientEntity(), structuredClone(c));
  }
  private copy(c: OidcClientEntity | undefined): OidcClientEntity | null {
    return c ? this.clone(c) : null;
  }
  build(fields: Partial<OidcClientEntity>): OidcClientEntity {
    return Object.assign(new OidcClientEntity(), fields);
  }
  async listOldestFirst(): Promise<OidcClientEntity[]> {
    return [...this.rows.values()].map((c) => this.clone(c));
  }
  async findByClientId(clientId: string): Promise<OidcClientEntity | null> {
    return this.copy(this.rows.get(clientId));
  }
  async save(tx: Transaction, client: OidcClientEntity): Promise<OidcClientEntity> {
    const saved = this.clone(client);
    stage(tx, () => this.rows.set(saved.clientId, saved));
    return saved;
  }
  async lockByClientId(_tx: Transaction, clientId: string): Promise<OidcClientEntity | null> {
    this.locked.push(clientId);
    return this.copy(this.rows.get(clientId));
  }
  async delete(tx: Transaction, clientId: string): Promise<void> {
    stage(tx, () => this.rows.delete(clientId));
  }
}

describe('OidcClientsService (fake repository)', () => {
  let repo: FakeOidcClientsRepository;
  let audit: FakeAudit;
  let transactions: FakeTransactions;
  let service: OidcClientsService;

  beforeEach(() => {
    repo = new FakeOidcClientsRepository();
    audit = new FakeAudit();
    transactions = new FakeTransactions();
    const feed = { stamp: () => undefined } as unknown as ChangeFeed;
    const outbound = { assertAllowed: async () => undefined } as unknown as OutboundHttp;
    service = new OidcClientsService(
      repo as unknown as OidcClientsRepository,
      transactions.asTransactions(),
      audit.asAuditService(),
      feed,
      outbound,
    );
  });

  it('stores only the hash of a new secret, returns the secret once, and audits the creation in the transaction', async () => {
    const { client, clientSecret } = await service.create({
      name: ' Wiki ',
      redirectUris: ['https://wiki.example.test/cb'],
    });
    const secret = need(clientSecret);
    expect(secret).toMatch(/^sbs_/);
    const stored = need(repo.rows.get(client.clientId));
    expect(stored.name).toBe('Wiki');
    expect(stored.secretHash).toBe(sha256(secret));
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(audit.recorded).toEqual([
      expect.objectContaining({
        inTransaction: true,
        input: expect.objectContaining({ type: 'app.created', clientId: client.clientId }),
      }),
    ]);
    // A later update that keeps a secret-based method issues no new secret.
    const updated = await service.update(client.clientId, { name: 'Wiki 2' });
    expect(updated.clientSecret).toBeUndefined();
    expect(repo.rows.get(client.clientId)?.secretHash).toBe(sha256(secret));
  });

  it('rotates the secret: the old one no longer matches, the new one is hashed', async () => {
    const { client, clientSecret } = await service.create({
      name: 'Svc',
      grantTypes: ['client_credentials'],
    });
    const rotated = await service.rotateSecret(client.clientId);
    expect(rotated.clientSecret).not.toBe(clientSecret);
    expect(repo.rows.get(client.clientId)?.secretHash).toBe(sha256(rotated.clientSecret));
    expect(audit.types()).toEqual(['app.created', 'app.secret_rotated']);
  });

  it('keeps no change when the audit cannot be written', async () => {
    audit.failWith = new Error('audit log unavailable');
    await expect(service.create({ name: 'X', redirectUris: ['https://x.example.test/cb'] })).rejects.toThrow(
      'audit log unavailable',
    );
    expect(repo.rows.size).toBe(0);
    expect(transactions.rolledBack).toBe(1);
  });

  it('deletes under a row lock with its audit, and answers client_not_found for an unknown app', async () => {
    const { client } = await service.create({ name: 'Gone', redirectUris: ['https://g.example.test/cb'] });
    await service.remove(client.clientId);
    expect(repo.locked).toEqual([client.clientId]);
    expect(repo.rows.has(client.clientId)).toBe(false);
    expect(audit.types()).toEqual(['app.created', 'app.deleted']);
    await expect(service.remove(client.clientId)).rejects.toMatchObject({
      reason: 'client_not_found',
      kind: 'not_found',
    });
  });

  it('refuses a non-https redirect URI before anything is stored', async () => {
    await expect(
      service.create({ name: 'Bad', redirectUris: ['http://evil.example.test/cb'] }),
    ).rejects.toMatchObject({ reason: 'invalid_redirect_uri' });
    expect(repo.rows.size).toBe(0);
    expect(transactions.committed).toBe(0);
  });
});
