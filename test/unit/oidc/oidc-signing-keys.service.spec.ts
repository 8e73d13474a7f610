import { FixedClock } from '../../../src/common/clock';
import type { BridgeConfig } from '../../../src/config/bridge-config';
import type { Transaction } from '../../../src/database/transactions';
import type {
  NewSigningKey,
  OidcSigningKeysRepository,
  SigningAlg,
  SigningKeyStatus,
  StoredSigningKey,
} from '../../../src/oidc/oidc-signing-keys.repository';
import { OidcSigningKeysService, RETIRED_KEY_PUBLISH_MS } from '../../../src/oidc/oidc-signing-keys.service';
import { FakeAudit, FakeTransactions, stage } from '../support/fake-database';

interface Row extends StoredSigningKey {
  sealed: string;
}

/** The oidc_signing_keys table in memory; writes apply when the fake transaction commits. */
class FakeSigningKeysRepository implements Pick<OidcSigningKeysRepository, keyof OidcSigningKeysRepository> {
  readonly rows: Row[] = [];
  locks = 0;

  async lock(): Promise<void> {
    this.locks++;
  }
  async activeSlots(): Promise<Array<{ alg: SigningAlg; status: SigningKeyStatus }>> {
    return this.rows.filter((r) => r.status !== 'retired').map((r) => ({ alg: r.alg, status: r.status }));
  }
  async insert(tx: Transaction, key: NewSigningKey): Promise<void> {
    stage(tx, () =>
      this.rows.push({
        kid: key.kid,
        alg: key.alg,
        status: key.status,
        publicJwk: key.publicJwk,
        sealed: key.privateJwkSealed,
        createdAt: key.createdAt,
        retiredAt: null,
        publishUntil: null,
      }),
    );
  }
  private change(tx: Transaction, match: (r: Row) => boolean, apply: (r: Row) => void): string[] {
    const kids = this.rows.filter(match).map((r) => r.kid);
    stage(tx, () => this.rows.filter((r) => kids.includes(r.kid)).forEach(apply));
    return kids;
  }
  async retireCurrent(tx: Transaction, alg: SigningAlg, now: Date, publishUntil: Date): Promise<string[]> {
    return this.change(
      tx,
      (r) => r.alg === alg && r.status === 'current',
      (r) => Object.assign(r, { status: 'retired', retiredAt: now, publishUntil }),
    );
  }
  async promoteNext(tx: Transaction, alg: SigningAlg): Promise<string[]> {
    return this.change(
      tx,
      (r) => r.alg === alg && r.status === 'next',
      (r) => Object.assign(r, { status: 'current' }),
    );
  }
  async deleteUnpublished(tx: Transaction, now: Date): Promise<string[]> {
    const gone = (r: Row) => r.status === 'retired' && r.publishUntil !== null && r.publishUntil <= now;
    const kids = this.rows.filter(gone).map((r) => r.kid);
    stage(tx, () => this.rows.splice(0, this.rows.length, ...this.rows.filter((r) => !kids.includes(r.kid))));
    return kids;
  }
  private published(now: Date): Row[] {
    return this.rows.filter(
      (r) => r.status !== 'retired' || (r.publishUntil !== null && r.publishUntil > now),
    );
  }
  async publishedFingerprint(now: Date): Promise<string> {
    return this.published(now)
      .map((r) => `${r.kid}:${r.status}`)
      .sort()
      .join(',');
  }
  async publishedSealedJwks(now: Date): Promise<string[]> {
    const rank = { current: 0, next: 1, retired: 2 };
    return [...this.published(now)]
      .sort((a, b) => rank[a.status] - rank[b.status] || (a.alg === 'RS256' ? -1 : 1))
      .map((r) => r.sealed);
  }
  async list(): Promise<StoredSigningKey[]> {
    return this.rows.map(({ sealed: _sealed, ...r }) => r);
  }
}

const kidsOf = (rows: Row[], alg: SigningAlg, status: SigningKeyStatus) =>
  rows.filter((r) => r.alg === alg && r.status === status).map((r) => r.kid);

describe('OidcSigningKeysService (fake repository)', () => {
  let repo: FakeSigningKeysRepository;
  let audit: FakeAudit;
  let clock: FixedClock;
  let service: OidcSigningKeysService;

  beforeEach(() => {
    repo = new FakeSigningKeysRepository();
    audit = new FakeAudit();
    clock = new FixedClock(new Date('2026-03-01T10:00:00Z'));
    service = new OidcSigningKeysService(
      repo as unknown as OidcSigningKeysRepository,
      new FakeTransactions().asTransactions(),
      clock,
      audit.asAuditService(),
      { bridgeSecret: 'unit-test-bridge-secret-0123456789abcdef' } as BridgeConfig,
    );
  });

  it('creates a current and a next key per algorithm once, under the lock, audited in the transaction', async () => {
    await service.ensureKeys();
    await service.ensureKeys();
    expect(repo.locks).toBe(2);
    for (const alg of ['RS256', 'ES256'] as const) {
      expect(kidsOf(repo.rows, alg, 'current')).toHaveLength(1);
      expect(kidsOf(repo.rows, alg, 'next')).toHaveLength(1);
    }
    expect(audit.recorded.map((r) => [r.input.type, r.inTransaction])).toEqual([
      ['oidc_keys.generated', true],
    ]);
    // Private parts are sealed in storage; the provider gets them opened, current keys first.
    expect(repo.rows.every((r) => !r.sealed.includes('"d"'))).toBe(true);
    const jwks = await service.privateJwks();
    expect(jwks).toHaveLength(4);
    expect(jwks[0]).toMatchObject({ kid: kidsOf(repo.rows, 'RS256', 'current')[0], alg: 'RS256' });
    expect(typeof jwks[0]?.d).toBe('string');
  });

  it('rotation promotes the published next key, retires the current one and publishes a new next', async () => {
    await service.ensureKeys();
    const before = {
      current: kidsOf(repo.rows, 'RS256', 'current'),
      next: kidsOf(repo.rows, 'RS256', 'next'),
    };
    const version = await service.version();
    await service.rotate();
    expect(kidsOf(repo.rows, 'RS256', 'current')).toEqual(before.next);
    expect(kidsOf(repo.rows, 'RS256', 'retired')).toEqual(before.current);
    const next = kidsOf(repo.rows, 'RS256', 'next');
    expect(next).toHaveLength(1);
    expect(next).not.toEqual(before.next);
    const retired = repo.rows.find((r) => r.kid === before.current[0]);
    expect(retired?.publishUntil).toEqual(new Date(clock.now().getTime() + RETIRED_KEY_PUBLISH_MS));
    expect(await service.version()).not.toBe(version);

    // Once its publication window is over, the next rotation unpublishes the retired key.
    clock.advance(RETIRED_KEY_PUBLISH_MS + 1);
    await service.rotate();
    expect(repo.rows.some((r) => r.kid === before.current[0])).toBe(false);
    const last = audit.recorded.at(-1)?.input;
    expect(last?.type).toBe('oidc_keys.rotated');
    expect((last?.data as { unpublished: string[] }).unpublished).toContain(before.current[0]);
  });
});
