import type { MappedUser } from '../../src/mapping/attribute-mapping';
import { UsersService } from '../../src/users/users.service';
import { createTestConnection } from '../support/saml-flow';
import { databaseKinds, startTestApp, TestApp } from '../support/test-app';

/** Provisioning returns the user the upsert wrote (RETURNING *), the same as reading it back. */
describe.each(databaseKinds())('just-in-time provisioning on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(kind);
  });
  afterAll(async () => t?.close());

  it('returns the created, then the updated user exactly as the database holds it', async () => {
    const conn = await createTestConnection(t, 'provision');
    const users = t.app.get(UsersService);
    const mapped: MappedUser = {
      subject: 'ada@provision.test',
      subjectSource: 'nameId',
      email: 'ada@provision.test',
      emailVerified: true,
      givenName: 'Ada',
      familyName: 'Lovelace',
      displayName: null,
      groups: ['staff', 'engineering'],
    };
    const created = await users.provision(conn.id, mapped, { department: ['R&D'] });
    expect(created).toEqual(await users.get(created.id));
    expect(created).toMatchObject({
      connectionId: conn.id,
      subject: 'ada@provision.test',
      groups: ['staff', 'engineering'],
      attributes: { department: ['R&D'] },
      disabled: false,
    });
    expect(created.lastLoginAt).toBeInstanceOf(Date);

    const updated = await users.provision(
      conn.id,
      { ...mapped, givenName: 'Augusta', groups: ['staff'] },
      {},
    );
    expect(updated.id).toBe(created.id);
    expect(updated).toEqual(await users.get(created.id));
    expect(updated).toMatchObject({ givenName: 'Augusta', groups: ['staff'], attributes: {} });
  });
});
