import { randomUUID } from 'node:crypto';
import { SetupLinkEntity } from '../../../src/admin/setup-links/setup-link.entity';
import type { SetupLinksRepository } from '../../../src/admin/setup-links/setup-links.repository';
import { SetupLinksService } from '../../../src/admin/setup-links/setup-links.service';
import { DomainError } from '../../../src/common/domain-error';
import { FixedClock } from '../../../src/common/clock';
import { sha256 } from '../../../src/common/sha256';
import type { BridgeConfig } from '../../../src/config/bridge-config';
import type { ConnectionEntity } from '../../../src/connections/connection.entity';
import type { ConnectionsService } from '../../../src/connections/connections.service';
import type { Transaction } from '../../../src/database/transactions';
import { FakeAudit, FakeTransactions, stage } from '../support/fake-database';

/** The setup_links table in memory. */
class FakeSetupLinks implements Pick<SetupLinksRepository, keyof SetupLinksRepository> {
  readonly rows = new Map<string, SetupLinkEntity>();

  async insert(tx: Transaction, fields: Partial<SetupLinkEntity>): Promise<SetupLinkEntity> {
    const link = Object.assign(new SetupLinkEntity(), { id: randomUUID(), ...fields });
    stage(tx, () => this.rows.set(link.id, link));
    return link;
  }
  async listByConnection(connectionId: string, limit: number): Promise<SetupLinkEntity[]> {
    return [...this.rows.values()].filter((l) => l.connectionId === connectionId).slice(0, limit);
  }
  async findByTokenHash(tokenHash: string): Promise<SetupLinkEntity | null> {
    return [...this.rows.values()].find((l) => l.tokenHash === tokenHash) ?? null;
  }
  async lockForConnection(
    _tx: Transaction,
    connectionId: string,
    id: string,
  ): Promise<SetupLinkEntity | null> {
    const l = this.rows.get(id);
    return l && l.connectionId === connectionId ? Object.assign(new SetupLinkEntity(), l) : null;
  }
  async markRevoked(tx: Transaction, id: string, revokedAt: Date): Promise<void> {
    stage(tx, () => Object.assign(this.rows.get(id) ?? {}, { revokedAt }));
  }
  async markOpened(tx: Transaction, id: string, openedAt: Date): Promise<void> {
    stage(tx, () => Object.assign(this.rows.get(id) ?? {}, { lastOpenedAt: openedAt }));
  }
}

async function codeOf(run: Promise<unknown>): Promise<string | undefined> {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err === undefined) return undefined;
  if (err instanceof DomainError) return err.reason;
  throw err;
}

describe('SetupLinksService (fake repository)', () => {
  const connection = { id: randomUUID(), slug: 'acme', name: 'Acme' } as ConnectionEntity;
  let repo: FakeSetupLinks;
  let audit: FakeAudit;
  let clock: FixedClock;
  let service: SetupLinksService;

  beforeEach(() => {
    repo = new FakeSetupLinks();
    audit = new FakeAudit();
    clock = new FixedClock(new Date('2026-03-01T10:00:00Z'));
    const connections = {
      findById: async (id: string) => (id === connection.id ? connection : null),
    } as unknown as ConnectionsService;
    service = new SetupLinksService(
      repo as unknown as SetupLinksRepository,
      connections,
      new FakeTransactions().asTransactions(),
      audit.asAuditService(),
      clock,
      { baseUrl: 'https://bridge.example.test' } as BridgeConfig,
    );
  });

  it('stores only the token hash, returns the token once in the URL, and audits the creation in its transaction', async () => {
    const { link, token, url } = await service.create(connection.id, {
      expiresInHours: 2,
      note: ' for Bob ',
    });
    expect(token).toMatch(/^sbl_[A-Za-z0-9_-]{43}$/);
    expect(url).toBe(`https://bridge.example.test/setup/${token}`);
    expect(repo.rows.get(link.id)?.tokenHash).toBe(sha256(token));
    expect(JSON.stringify([...repo.rows.values()])).not.toContain(token);
    expect(link.note).toBe('for Bob');
    expect(link.expiresAt).toEqual(new Date('2026-03-01T12:00:00Z'));
    expect(audit.recorded.map((r) => [r.input.type, r.inTransaction])).toEqual([
      ['setup_link.created', true],
    ]);
  });

  it('refuses a bad expiry and an unknown connection with their reason codes', async () => {
    expect(await codeOf(service.create(connection.id, { expiresInHours: 0 }))).toBe('invalid_expiry');
    expect(await codeOf(service.create(connection.id, { expiresInHours: 721 }))).toBe('invalid_expiry');
    expect(await codeOf(service.create(randomUUID(), {}))).toBe('connection_not_found');
    expect(repo.rows.size).toBe(0);
  });

  it('resolves an active link, and refuses an expired one with setup_link_expired (audited as refused)', async () => {
    const { token } = await service.create(connection.id, { expiresInHours: 1 });
    const resolved = await service.resolve(token, 'view');
    expect(resolved.connection).toBe(connection);
    expect(resolved.actor).toMatchObject({ type: 'setup-link', name: 'setup link for acme' });

    clock.set(new Date('2026-03-01T11:00:00Z'));
    expect(await codeOf(service.resolve(token, 'metadata'))).toBe('setup_link_expired');
    expect(audit.recordedSafely).toEqual([
      expect.objectContaining({
        type: 'setup_link.refused',
        data: expect.objectContaining({ reason: 'expired', action: 'metadata' }),
      }),
    ]);
  });

  it('refuses a revoked link with setup_link_revoked, and a missing or unknown token with 404 codes', async () => {
    const { link, token } = await service.create(connection.id, {});
    await service.revoke(connection.id, link.id);
    expect(repo.rows.get(link.id)?.revokedAt).toEqual(clock.now());
    expect(await codeOf(service.resolve(token, 'open'))).toBe('setup_link_revoked');
    expect(await codeOf(service.resolve(undefined, 'open'))).toBe('setup_link_missing');
    expect(await codeOf(service.resolve(`sbl_${'A'.repeat(43)}`, 'open'))).toBe('setup_link_not_found');
    expect(await codeOf(service.revoke(connection.id, randomUUID()))).toBe('setup_link_not_found');
    // Revoking twice audits once.
    await service.revoke(connection.id, link.id);
    expect(audit.types().filter((t) => t === 'setup_link.revoked')).toHaveLength(1);
  });

  it('records the opening time with its audit event', async () => {
    const { token } = await service.create(connection.id, {});
    const resolved = await service.resolve(token, 'open');
    await service.markOpened(resolved);
    expect(repo.rows.get(resolved.link.id)?.lastOpenedAt).toEqual(clock.now());
    expect(audit.types()).toContain('setup_link.opened');
  });
});
