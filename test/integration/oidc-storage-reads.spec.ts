import { DataSource } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { Statements } from '../../src/database/statements';
import { type OidcModelKeys, OidcStorageRepository } from '../../src/oidc/oidc-storage.repository';
import { UsersRepository } from '../../src/users/users.repository';
import { need } from '../support/defined';
import { createTestConnection } from '../support/saml-flow';
import { databaseKinds, startTestApp, type TestApp } from '../support/test-app';

const HOUR = 3600_000;
const keys = (over: Partial<OidcModelKeys> = {}): OidcModelKeys => ({
  grantId: null,
  userCode: null,
  uid: null,
  expiresAt: new Date(Date.now() + HOUR),
  ...over,
});

/**
 * The token endpoint's read of a code or token with its grant and session (one statement, see
 * OidcStorageRepository.findWithGrantAndSession), against the database: each part read as `find` reads it.
 */
describe.each(databaseKinds())('an OIDC artefact read with its grant and session on %s', (kind) => {
  let t: TestApp;
  let storage: OidcStorageRepository;
  beforeAll(async () => {
    t = await startTestApp(kind);
    storage = t.app.get(OidcStorageRepository);
  }, 120_000);
  afterAll(async () => t?.close());

  /** A code under a fresh grant and session; the ids, for the test to change what it needs. */
  async function issue(code: Record<string, unknown> = {}) {
    const ids = { code: randomUUID(), grant: randomUUID(), session: randomUUID(), uid: randomUUID() };
    await storage.upsert('Grant', ids.grant, { accountId: 'a', kind: 'Grant' }, keys());
    await storage.upsert('Session', ids.session, { accountId: 'a', uid: ids.uid }, keys({ uid: ids.uid }));
    await storage.upsert(
      'AuthorizationCode',
      ids.code,
      { grantId: ids.grant, sessionUid: ids.uid, accountId: 'a', ...code },
      keys({ grantId: ids.grant }),
    );
    return ids;
  }

  it('answers the artefact, its grant and its session in one statement, as find reads each', async () => {
    const ids = await issue();
    const rows = jest.spyOn(t.app.get(Statements), 'rows');
    try {
      const found = await storage.findWithGrantAndSession('AuthorizationCode', ids.code);
      expect(rows).toHaveBeenCalledTimes(1);
      expect(found).toEqual({
        source: await storage.find('AuthorizationCode', 'id', ids.code),
        grant: await storage.find('Grant', 'id', ids.grant),
        session: await storage.find('Session', 'uid', ids.uid),
        // Its accountId ('a') names no user.
        account: null,
      });
      expect(found?.grant?.payload).toEqual({ accountId: 'a', kind: 'Grant' });
      expect(found?.session?.payload).toEqual({ accountId: 'a', uid: ids.uid });
    } finally {
      rows.mockRestore();
    }
  });

  it('carries when the artefact was consumed', async () => {
    const ids = await issue();
    expect(await storage.consume('AuthorizationCode', ids.code)).toBe(true);
    const found = await storage.findWithGrantAndSession('AuthorizationCode', ids.code);
    expect(found?.source.consumedAt).toBeInstanceOf(Date);
    expect(found?.grant?.consumedAt).toBeNull();
  });

  it('answers null for a grant or session that is gone or expired, and for an artefact that is', async () => {
    const revoked = await issue();
    await storage.revokeGrant(revoked.grant);
    await storage.destroy('Grant', revoked.grant);
    await storage.destroy('Session', revoked.session);
    expect(await storage.findWithGrantAndSession('AuthorizationCode', revoked.code)).toBeNull();

    const expired = await issue();
    const past = keys({ expiresAt: new Date(Date.now() - 1000) });
    await storage.upsert('Grant', expired.grant, { accountId: 'a' }, past);
    await storage.upsert('Session', expired.session, { uid: expired.uid }, { ...past, uid: expired.uid });
    const found = await storage.findWithGrantAndSession('AuthorizationCode', expired.code);
    expect(found?.source.payload).toMatchObject({ grantId: expired.grant });
    expect(found?.grant).toBeNull();
    expect(found?.session).toBeNull();

    await storage.upsert('AuthorizationCode', expired.code, { grantId: expired.grant }, past);
    expect(await storage.findWithGrantAndSession('AuthorizationCode', expired.code)).toBeNull();
  });

  it('reads an artefact without a grant or session (none named) as the artefact alone', async () => {
    const id = randomUUID();
    await storage.upsert('AccessToken', id, { accountId: 'a' }, keys());
    expect(await storage.findWithGrantAndSession('AccessToken', id)).toEqual({
      source: { payload: { accountId: 'a' }, consumedAt: null },
      grant: null,
      session: null,
      account: null,
    });
  });

  it('reads the user its accountId names in the same statement, as the login path reads that user', async () => {
    const users = t.app.get(UsersRepository);
    const connectionId = (await createTestConnection(t, `reads-${randomUUID().slice(0, 8)}`)).id;
    const { user } = await users.provision(
      connectionId,
      {
        subject: `s-${randomUUID()}`,
        subjectSource: 'nameid',
        email: 'reads@example.com',
        emailVerified: true,
        givenName: 'Rea',
        familyName: 'Ds',
        displayName: 'Rea Ds',
        groups: ['staff', 'R&D'],
      },
      { department: ['Engineering'] },
      new Date('2026-12-08T01:02:03.456Z'),
    );
    // Every kind of column filled: jsonb, text[], booleans, timestamps with microseconds, uuid.
    await t.app.get(DataSource).query(
      `UPDATE users SET scim_resource = '{"active": true, "emails": [{"value": "r@example.com"}]}',
              scim_active = true, last_synced_at = now(), user_name = 'reads', external_id = 'x-1',
              directory_groups = '{"Directory group"}', scim_token_id = $2
        WHERE id = $1`,
      [user.id, randomUUID()],
    );
    const ids = await issue({ accountId: user.id });
    const rows = jest.spyOn(t.app.get(Statements), 'rows');
    try {
      const found = await storage.findWithGrantAndSession('AuthorizationCode', ids.code);
      expect(rows).toHaveBeenCalledTimes(1);
      expect(users.fromJson(need(found?.account ?? undefined, 'the user'))).toEqual(
        await users.findByIdOnLoginPath(user.id),
      );
    } finally {
      rows.mockRestore();
    }
  });

  it('reads no user for an accountId that is no user id: another UUID, or not a UUID at all', async () => {
    const unknown = await issue({ accountId: randomUUID() });
    expect((await storage.findWithGrantAndSession('AuthorizationCode', unknown.code))?.account).toBeNull();
    for (const accountId of ['a', "x' OR 1=1", '00000000-0000-0000-0000-00000000000g', 42, null]) {
      const ids = await issue({ accountId });
      const found = await storage.findWithGrantAndSession('AuthorizationCode', ids.code);
      expect(found?.source.payload).toMatchObject({ accountId });
      expect(found?.account).toBeNull();
    }
  });

  it('never answers another artefact model for the grant or the session (only Grant and Session rows)', async () => {
    const ids = await issue();
    // An access token stored under the same id as the grant, and an interaction with the session's uid.
    await storage.upsert('AccessToken', ids.grant, { accountId: 'b' }, keys());
    await storage.destroy('Grant', ids.grant);
    await storage.destroy('Session', ids.session);
    await storage.upsert('Interaction', randomUUID(), { uid: ids.uid }, keys({ uid: ids.uid }));
    const found = await storage.findWithGrantAndSession('AuthorizationCode', ids.code);
    expect(found?.grant).toBeNull();
    expect(found?.session).toBeNull();
  });
});
