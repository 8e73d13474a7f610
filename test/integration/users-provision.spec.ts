import { DataSource } from 'typeorm';
import { Statements } from '../../src/database/statements';
import type { MappedUser } from '../../src/mapping/attribute-mapping';
import { SignInRepository } from '../../src/saml/app-session/sign-in.repository';
import { LoginSessionsRepository } from '../../src/saml/login-sessions.repository';
import { hashSessionToken, LoginSessionsService } from '../../src/saml/login-sessions.service';
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

/**
 * The sign-in's one statement (SignInRepository): the user provisioned as above and, when they may sign in,
 * their session opened; a disabled or deprovisioned user gets the profile update and no session.
 */
describe.each(databaseKinds())('the sign-in write on %s', (kind) => {
  let t: TestApp;
  let connectionId: string;
  beforeAll(async () => {
    t = await startTestApp(kind);
    connectionId = (await createTestConnection(t, `sign-in-${kind}`)).id;
  });
  afterAll(async () => t?.close());

  const mapped = (subject: string, givenName = 'Grace'): MappedUser => ({
    subject,
    subjectSource: 'nameId',
    email: subject,
    emailVerified: true,
    givenName,
    familyName: 'Hopper',
    displayName: null,
    groups: ['staff'],
  });
  const prepare = (subject: string) =>
    t.app.get(LoginSessionsService).prepare({ connectionId, nameId: subject, sessionIndex: '_idx-1' });
  const sessionsOf = (userId: string) => t.app.get(LoginSessionsRepository).findLiveByUser(userId);

  it('provisions the user and opens their session in one statement, the user as the database holds it', async () => {
    const { token, session } = prepare('grace@sign-in.test');
    const rows = jest.spyOn(t.app.get(Statements), 'rows');
    let write;
    try {
      write = await t.app
        .get(SignInRepository)
        .provisionAndOpen(connectionId, mapped('grace@sign-in.test'), { team: ['COBOL'] }, session);
      expect(rows).toHaveBeenCalledTimes(1);
    } finally {
      rows.mockRestore();
    }
    expect(write).toMatchObject({ inserted: true, sessionOpened: true });
    expect(write.user).toEqual(await t.app.get(UsersService).get(write.user.id));
    expect(write.user.lastLoginAt).toEqual(session.createdAt);
    expect(session.userId).toBe(write.user.id);
    const [stored] = await sessionsOf(write.user.id);
    expect(stored).toEqual({ ...session, id: hashSessionToken(token) });

    const again = prepare('grace@sign-in.test');
    const second = await t.app
      .get(SignInRepository)
      .provisionAndOpen(connectionId, mapped('grace@sign-in.test', 'Amazing Grace'), {}, again.session);
    expect(second).toMatchObject({ inserted: false, sessionOpened: true });
    expect(second.user).toMatchObject({ id: write.user.id, givenName: 'Amazing Grace', attributes: {} });
    expect(await sessionsOf(write.user.id)).toHaveLength(2);
  });

  it('updates a disabled or deprovisioned user and opens no session for them', async () => {
    const users = t.app.get(UsersService);
    const signIns = t.app.get(SignInRepository);
    const cases: Array<[string, Record<string, unknown>]> = [
      ['disabled@sign-in.test', { disabled: true }],
      ['inactive@sign-in.test', { scim_active: false }],
      ['deleted@sign-in.test', { scim_deleted_at: new Date() }],
    ];
    for (const [subject, column] of cases) {
      const user = await users.provision(connectionId, mapped(subject), {});
      const [name, value] = Object.entries(column)[0] as [string, unknown];
      await t.app.get(DataSource).query(`UPDATE users SET ${name} = $1 WHERE id = $2`, [value, user.id]);
      const { session } = prepare(subject);
      const write = await signIns.provisionAndOpen(connectionId, mapped(subject, 'Changed'), {}, session);
      expect(write).toMatchObject({ inserted: false, sessionOpened: false });
      expect(write.user.givenName).toBe('Changed');
      expect(session.userId).toBe('');
      expect(await sessionsOf(user.id)).toEqual([]);
    }
    // A directory user who is active again (scim_active true) signs in.
    const back = await users.provision(connectionId, mapped('back@sign-in.test'), {});
    await t.app.get(DataSource).query(`UPDATE users SET scim_active = true WHERE id = $1`, [back.id]);
    const { session } = prepare('back@sign-in.test');
    await expect(
      signIns.provisionAndOpen(connectionId, mapped('back@sign-in.test'), {}, session),
    ).resolves.toMatchObject({ sessionOpened: true });
  });

  it('creates one user for concurrent first sign-ins of the same person, each with its session', async () => {
    const signIns = t.app.get(SignInRepository);
    const writes = await Promise.all(
      [1, 2, 3].map(() =>
        signIns.provisionAndOpen(
          connectionId,
          mapped('race@sign-in.test'),
          {},
          prepare('race@sign-in.test').session,
        ),
      ),
    );
    expect(new Set(writes.map((w) => w.user.id)).size).toBe(1);
    expect(writes.filter((w) => w.inserted)).toHaveLength(1);
    expect(await sessionsOf(writes[0]!.user.id)).toHaveLength(3);
  });
});
