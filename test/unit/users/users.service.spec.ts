import { ApiExceptionFilter } from '../../../src/common/api-exception.filter';
import { DomainError } from '../../../src/common/domain-error';
import { FixedClock } from '../../../src/common/clock';
import type { MappedUser } from '../../../src/mapping/attribute-mapping';
import { UsersService } from '../../../src/users/users.service';
import { FakeAudit, FakeTransactions } from '../support/fake-database';
import { FakeUsersRepository, userRow } from './fake-users-repository';

const CONNECTION = '6f1c2a52-0c1e-4d8f-9a51-1f0d7c3a9b10';

const ada: MappedUser = {
  subject: 'ada@example.test',
  subjectSource: 'nameId',
  email: 'ada@example.test',
  emailVerified: true,
  givenName: 'Ada',
  familyName: 'Lovelace',
  displayName: null,
  groups: ['staff', 'engineering'],
};

describe('UsersService (fake repository)', () => {
  let repo: FakeUsersRepository;
  let audit: FakeAudit;
  let transactions: FakeTransactions;
  let clock: FixedClock;
  let service: UsersService;

  beforeEach(() => {
    repo = new FakeUsersRepository();
    audit = new FakeAudit();
    transactions = new FakeTransactions();
    clock = new FixedClock(new Date('2026-03-01T10:00:00Z'));
    service = new UsersService(
      repo.asRepository(),
      transactions.asTransactions(),
      clock,
      audit.asAuditService(),
    );
  });

  describe('provision', () => {
    it('creates the user on first login at the clock time and audits the creation without failing the login', async () => {
      const user = await service.provision(CONNECTION, ada, { department: ['R&D'] });
      expect(user).toMatchObject({
        connectionId: CONNECTION,
        subject: 'ada@example.test',
        groups: ['staff', 'engineering'],
        attributes: { department: ['R&D'] },
        lastLoginAt: clock.now(),
      });
      expect(audit.recorded).toEqual([]);
      expect(audit.recordedSafely).toEqual([
        {
          type: 'user.provisioned',
          actor: { type: 'system', id: null, name: 'just-in-time provisioning' },
          connectionId: CONNECTION,
          userId: user.id,
          data: {
            after: {
              subject: 'ada@example.test',
              email: 'ada@example.test',
              emailVerified: true,
              givenName: 'Ada',
              familyName: 'Lovelace',
              displayName: null,
              groups: ['staff', 'engineering'],
            },
          },
        },
      ]);
    });

    it('updates the profile on a later login (groups replaced) and audits nothing', async () => {
      const first = await service.provision(CONNECTION, ada, {});
      clock.advance(60_000);
      const again = await service.provision(CONNECTION, { ...ada, groups: ['staff'] }, {});
      expect(again.id).toBe(first.id);
      expect(again.groups).toEqual(['staff']);
      expect(again.lastLoginAt).toEqual(clock.now());
      expect(audit.types()).toEqual(['user.provisioned']);
    });
  });

  describe('findActive', () => {
    it('returns an enabled user', async () => {
      const u = repo.add(userRow({ connectionId: CONNECTION, subject: 's1' }));
      expect((await service.findActive(u.id))?.id).toBe(u.id);
    });

    it('refuses a malformed id without asking the repository', async () => {
      const spy = jest.spyOn(repo, 'findByIdOnLoginPath');
      expect(await service.findActive("1' OR '1'='1")).toBeNull();
      expect(spy).not.toHaveBeenCalled();
    });

    it('refuses disabled, directory-deactivated and directory-deleted users, and unknown ids', async () => {
      const disabled = repo.add(userRow({ connectionId: CONNECTION, subject: 'd', disabled: true }));
      const inactive = repo.add(userRow({ connectionId: CONNECTION, subject: 'i', scimActive: false }));
      const deleted = repo.add(
        userRow({ connectionId: CONNECTION, subject: 'x', scimActive: true, scimDeletedAt: new Date() }),
      );
      for (const u of [disabled, inactive, deleted]) expect(await service.findActive(u.id)).toBeNull();
      expect(await service.findActive('00000000-0000-4000-8000-000000000000')).toBeNull();
    });
  });

  describe('get', () => {
    it('answers 404 user_not_found for an unknown id', async () => {
      const err = await service.get('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DomainError);
      expect(new ApiExceptionFilter().describe(err)).toMatchObject({
        code: 'user_not_found',
        statusCode: 404,
      });
    });
  });

  describe('list', () => {
    it('pages 50 from the start by default and passes the filters through', async () => {
      const spy = jest.spyOn(repo, 'page');
      for (let i = 0; i < 3; i++) repo.add(userRow({ connectionId: CONNECTION, subject: `s${i}` }));
      expect((await service.list({})).total).toBe(3);
      await service.list({ connectionId: CONNECTION, email: 'A@B.test', limit: 2, offset: 1 });
      expect(spy.mock.calls).toEqual([
        [{ connectionId: undefined, email: undefined, limit: 50, offset: 0 }],
        [{ connectionId: CONNECTION, email: 'A@B.test', limit: 2, offset: 1 }],
      ]);
    });
  });

  describe('setDisabled', () => {
    it('disables under a row lock, audits in the same transaction, then tells the listeners once', async () => {
      const u = repo.add(userRow({ connectionId: CONNECTION, subject: 's', email: 'e@example.test' }));
      const told: string[][] = [];
      service.onDisabled((ids) => {
        told.push(ids);
      });

      const result = await service.setDisabled(u.id, true);
      expect(result.disabled).toBe(true);
      expect(repo.locked).toEqual([u.id]);
      expect(transactions.committed).toBe(1);
      expect(audit.recorded).toEqual([
        {
          inTransaction: true,
          input: {
            type: 'user.disabled',
            connectionId: CONNECTION,
            userId: u.id,
            data: {
              subject: 's',
              email: 'e@example.test',
              before: { disabled: false },
              after: { disabled: true },
            },
          },
        },
      ]);
      expect(told).toEqual([[u.id]]);

      // Disabling a disabled user again tells nobody; enabling tells nobody either.
      await service.setDisabled(u.id, true);
      await service.setDisabled(u.id, false);
      expect(told).toEqual([[u.id]]);
      expect(audit.types()).toEqual(['user.disabled', 'user.disabled', 'user.enabled']);
    });

    it('changes nothing and tells nobody when the change cannot be audited', async () => {
      const u = repo.add(userRow({ connectionId: CONNECTION, subject: 's' }));
      const told: string[][] = [];
      service.onDisabled((ids) => {
        told.push(ids);
      });
      audit.failWith = new Error('audit log unavailable');
      await expect(service.setDisabled(u.id, true)).rejects.toThrow('audit log unavailable');
      expect(transactions.rolledBack).toBe(1);
      expect(repo.rows.get(u.id)?.disabled).toBe(false);
      expect(told).toEqual([]);
    });

    it('answers 404 user_not_found for an unknown id', async () => {
      const err = await service
        .setDisabled('00000000-0000-4000-8000-000000000000', true)
        .catch((e: unknown) => e);
      expect(new ApiExceptionFilter().describe(err)).toMatchObject({
        code: 'user_not_found',
        statusCode: 404,
      });
      expect(audit.recorded).toEqual([]);
    });
  });
});
