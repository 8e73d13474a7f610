import { DataSource } from 'typeorm';
import { HttpReceiver } from '../support/http-receiver';
import { LoginClient, type LoginEvidence } from '../support/login-client';
import { createTestConnection, type SamlConnectionFixture } from '../support/saml-flow';
import { postgresAvailable, startTestApp, type TestApp } from '../support/test-app';

/**
 * Directory sync (SCIM 2.0, RFC 7643 / 7644) against real PostgreSQL: the request sequences Entra ID's and
 * Okta's provisioning clients send (as their public documentation gives them), hostile input, and
 * deprovisioning that signs a user out of every app.
 */
const SCIM_TYPE = /application\/scim\+json/;
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const REDIRECT = 'https://app.example.com/callback';

async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

(postgresAvailable() ? describe : describe.skip)('directory sync (SCIM 2.0)', () => {
  let t: TestApp;
  let entra: SamlConnectionFixture;
  let okta: SamlConnectionFixture;
  let entraToken: string;
  let oktaToken: string;
  const base = (c: SamlConnectionFixture) => `/scim/v2/${c.slug}`;

  /** A SCIM request with the connection's bearer token and the SCIM media type. */
  const scim = (token: string) => ({
    get: (path: string) => t.http().get(path).set('Authorization', `Bearer ${token}`),
    del: (path: string) => t.http().delete(path).set('Authorization', `Bearer ${token}`),
    send: (method: 'post' | 'put' | 'patch', path: string, body: unknown) =>
      t
        .http()
        [method](path)
        .set('Authorization', `Bearer ${token}`)
        .set('Content-Type', 'application/scim+json')
        .send(JSON.stringify(body)),
  });
  const countUsers = async (connectionId: string) =>
    Number(
      (
        await t.app
          .get(DataSource)
          .query('SELECT count(*) AS n FROM users WHERE connection_id = $1', [connectionId])
      )[0].n,
    );

  beforeAll(async () => {
    t = await startTestApp('postgres', {}, undefined, { listen: true });
    entra = await createTestConnection(t, 'entra-scim', { preset: 'entra', domains: ['contoso.example'] });
    okta = await createTestConnection(t, 'okta-scim', { preset: 'okta', domains: ['example.com'] });
    const created = await t.admin
      .post(`/api/v1/connections/${entra.id}/scim-tokens`)
      .send({ description: 'Entra ID provisioning' })
      .expect(201);
    entraToken = created.body.token;
    expect(created.body).toMatchObject({
      prefix: entraToken.slice(0, 10),
      description: 'Entra ID provisioning',
      status: 'active',
      scimBaseUrl: `${t.config.baseUrl}/scim/v2/entra-scim`,
    });
    oktaToken = (await t.admin.post(`/api/v1/connections/${okta.id}/scim-tokens`).send({}).expect(201)).body
      .token;
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  describe('tokens and discovery', () => {
    it('shows the SCIM base URL on the connection, lists tokens without the secret, stores only a hash', async () => {
      const c = await t.admin.get(`/api/v1/connections/${entra.id}`).expect(200);
      expect(c.body.scim).toEqual({ baseUrl: `${t.config.baseUrl}/scim/v2/entra-scim`, match: 'externalId' });
      const listed = await t.admin.get(`/api/v1/connections/${entra.id}/scim-tokens`).expect(200);
      expect(listed.body.items).toHaveLength(1);
      expect(JSON.stringify(listed.body)).not.toContain(entraToken);
      const rows = await t.app.get(DataSource).query('SELECT token_hash FROM scim_tokens');
      expect(JSON.stringify(rows)).not.toContain(entraToken);
    });

    it('answers the discovery documents', async () => {
      const config = await scim(entraToken)
        .get(`${base(entra)}/ServiceProviderConfig`)
        .expect(200);
      expect(config.headers['content-type']).toMatch(SCIM_TYPE);
      expect(config.body).toMatchObject({
        patch: { supported: true },
        filter: { supported: true },
        bulk: { supported: false },
      });
      const types = await scim(entraToken)
        .get(`${base(entra)}/ResourceTypes`)
        .expect(200);
      expect(types.body.Resources.map((r: { id: string }) => r.id)).toEqual(['User', 'Group']);
      const schemas = await scim(entraToken)
        .get(`${base(entra)}/Schemas`)
        .expect(200);
      expect(schemas.body.Resources.map((r: { id: string }) => r.id)).toEqual([USER, ENTERPRISE, GROUP]);
      await scim(entraToken)
        .get(`${base(entra)}/Schemas/${USER}`)
        .expect(200);
      const unknown = await scim(entraToken)
        .get(`${base(entra)}/Widgets`)
        .expect(404);
      expect(unknown.body).toMatchObject({ schemas: [ERROR], status: '404' });
    });

    it('refuses a missing, malformed, revoked or foreign token with a SCIM 401', async () => {
      const none = await t
        .http()
        .get(`${base(entra)}/Users`)
        .expect(401);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(none.body).toMatchObject({ schemas: [ERROR], status: '401' });
      await scim('sct_not-a-real-token')
        .get(`${base(entra)}/Users`)
        .expect(401);
      // The Okta connection's token does not open the Entra connection.
      await scim(oktaToken)
        .get(`${base(entra)}/Users`)
        .expect(401);
      const extra = await t.admin.post(`/api/v1/connections/${entra.id}/scim-tokens`).send({}).expect(201);
      await scim(extra.body.token)
        .get(`${base(entra)}/Users`)
        .expect(200);
      await t.admin.delete(`/api/v1/connections/${entra.id}/scim-tokens/${extra.body.id}`).expect(204);
      await scim(extra.body.token)
        .get(`${base(entra)}/Users`)
        .expect(401);
      const audit = await t.admin.get(`/api/v1/audit?type=scim_token.&connectionId=${entra.id}`).expect(200);
      expect(audit.body.items.map((e: { type: string }) => e.type)).toEqual(
        expect.arrayContaining(['scim_token.created', 'scim_token.revoked']),
      );
      await t
        .http()
        .get('/scim/v2/no-such-connection/Users')
        .set('Authorization', `Bearer ${entraToken}`)
        .expect(404);
    });
  });

  describe("Entra ID's provisioning sequence", () => {
    let id: string;
    const externalId = '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef';

    it('creates a user (POST /Users) and finds them by filter, or finds nobody', async () => {
      const res = await scim(entraToken)
        .send('post', `${base(entra)}/Users`, {
          schemas: [USER, ENTERPRISE],
          externalId,
          userName: 'Test_User_ab6490ee@contoso.example',
          active: true,
          emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b@contoso.example' }],
          meta: { resourceType: 'User' },
          name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
          roles: [],
          [ENTERPRISE]: { department: 'Sales', employeeNumber: '701984', manager: { value: 'mgr-1' } },
        })
        .expect(201);
      expect(res.headers['content-type']).toMatch(SCIM_TYPE);
      id = res.body.id;
      expect(res.headers.location).toBe(`${t.config.baseUrl}/scim/v2/entra-scim/Users/${id}`);
      expect(res.body).toMatchObject({
        schemas: [USER, ENTERPRISE],
        id,
        externalId,
        userName: 'Test_User_ab6490ee@contoso.example',
        active: true,
        name: { familyName: 'familyName', givenName: 'givenName' },
        [ENTERPRISE]: { department: 'Sales', employeeNumber: '701984', manager: { value: 'mgr-1' } },
        meta: { resourceType: 'User', location: res.headers.location },
      });
      const found = await scim(entraToken)
        .get(
          `${base(entra)}/Users?filter=${encodeURIComponent('userName eq "test_user_AB6490EE@contoso.example"')}`,
        )
        .expect(200);
      expect(found.body).toMatchObject({ schemas: [LIST], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
      expect(found.body.Resources[0].id).toBe(id);
      const none = await scim(entraToken)
        .get(`${base(entra)}/Users?filter=${encodeURIComponent('userName eq "nobody@contoso.example"')}`)
        .expect(200);
      expect(none.body).toMatchObject({ totalResults: 0, Resources: [] });
      const byExternal = await scim(entraToken)
        .get(`${base(entra)}/Users?filter=${encodeURIComponent(`externalId eq "${externalId}"`)}`)
        .expect(200);
      expect(byExternal.body.totalResults).toBe(1);
      const byEmail = await scim(entraToken)
        .get(
          `${base(entra)}/Users?filter=${encodeURIComponent('emails[type eq "work"].value eq "test_user_fd0ea19b@contoso.example"')}`,
        )
        .expect(200);
      expect(byEmail.body.totalResults).toBe(1);
      // The users API shows where the user comes from.
      const user = await t.admin.get(`/api/v1/users/${id}`).expect(200);
      expect(user.body).toMatchObject({
        source: 'scim',
        active: true,
        email: 'Test_User_fd0ea19b@contoso.example',
        emailVerified: true,
      });
      expect(user.body.lastSyncedAt).toEqual(expect.any(String));
    });

    it('refuses a second user with the same userName or externalId (409 uniqueness)', async () => {
      const before = await countUsers(entra.id);
      const dup = await scim(entraToken)
        .send('post', `${base(entra)}/Users`, {
          schemas: [USER],
          externalId: 'other',
          userName: 'TEST_USER_ab6490ee@contoso.example',
        })
        .expect(409);
      expect(dup.body).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
      await scim(entraToken)
        .send('post', `${base(entra)}/Users`, {
          schemas: [USER],
          externalId,
          userName: 'someone-else@contoso.example',
        })
        .expect(409);
      expect(await countUsers(entra.id)).toBe(before);
    });

    it('updates multi- and single-valued attributes with capitalised ops (PATCH)', async () => {
      const res = await scim(entraToken)
        .send('patch', `${base(entra)}/Users/${id}`, {
          schemas: [PATCH_OP],
          Operations: [
            { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@contoso.example' },
            { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
            { op: 'Add', path: `${ENTERPRISE}:department`, value: 'Marketing' },
          ],
        })
        .expect(200);
      expect(res.body.emails).toEqual([
        { primary: true, type: 'work', value: 'updatedEmail@contoso.example' },
      ]);
      expect(res.body.name.familyName).toBe('updatedFamilyName');
      expect(res.body[ENTERPRISE].department).toBe('Marketing');
      const single = await scim(entraToken)
        .send('patch', `${base(entra)}/Users/${id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'Replace', path: 'userName', value: 'renamed@contoso.example' }],
        })
        .expect(200);
      expect(single.body.userName).toBe('renamed@contoso.example');
      // A path-less replace whose value uses paths as keys, and Entra's string booleans.
      const pathless = await scim(entraToken)
        .send('patch', `${base(entra)}/Users/${id}`, {
          schemas: [PATCH_OP],
          Operations: [
            { op: 'Replace', value: { 'name.givenName': 'Grace', displayName: 'Grace H', active: 'True' } },
          ],
        })
        .expect(200);
      expect(pathless.body).toMatchObject({
        name: { givenName: 'Grace' },
        displayName: 'Grace H',
        active: true,
      });
      const user = await t.admin.get(`/api/v1/users/${id}`).expect(200);
      expect(user.body).toMatchObject({
        givenName: 'Grace',
        familyName: 'updatedFamilyName',
        email: 'updatedEmail@contoso.example',
      });
    });

    it('manages a group: create, look up without members, add and remove members, rename, delete', async () => {
      const created = await scim(entraToken)
        .send('post', `${base(entra)}/Groups`, {
          externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
          displayName: 'Engineering',
          meta: { resourceType: 'Group' },
          schemas: [GROUP],
        })
        .expect(201);
      const gid = created.body.id;
      expect(created.body).toMatchObject({ schemas: [GROUP], displayName: 'Engineering', members: [] });
      const found = await scim(entraToken)
        .get(
          `${base(entra)}/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "engineering"')}`,
        )
        .expect(200);
      expect(found.body.totalResults).toBe(1);
      expect(found.body.Resources[0]).not.toHaveProperty('members');
      await scim(entraToken)
        .send('patch', `${base(entra)}/Groups/${gid}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: id }] }],
        })
        .expect(200);
      expect((await t.admin.get(`/api/v1/users/${id}`).expect(200)).body.directoryGroups).toEqual([
        'Engineering',
      ]);
      const asUser = await scim(entraToken)
        .get(`${base(entra)}/Users/${id}`)
        .expect(200);
      expect(asUser.body.groups).toEqual([expect.objectContaining({ value: gid, display: 'Engineering' })]);
      const byMember = await scim(entraToken)
        .get(`${base(entra)}/Groups?filter=${encodeURIComponent(`members.value eq "${id}"`)}`)
        .expect(200);
      expect(byMember.body.totalResults).toBe(1);
      await scim(entraToken)
        .send('patch', `${base(entra)}/Groups/${gid}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'Replace', path: 'displayName', value: 'Platform Engineering' }],
        })
        .expect(200);
      expect((await t.admin.get(`/api/v1/users/${id}`).expect(200)).body.directoryGroups).toEqual([
        'Platform Engineering',
      ]);
      const removed = await scim(entraToken)
        .send('patch', `${base(entra)}/Groups/${gid}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: id }] }],
        })
        .expect(200);
      expect(removed.body.members).toEqual([]);
      expect((await t.admin.get(`/api/v1/users/${id}`).expect(200)).body.directoryGroups).toEqual([]);
      await scim(entraToken)
        .del(`${base(entra)}/Groups/${gid}`)
        .expect(204);
      await scim(entraToken)
        .get(`${base(entra)}/Groups/${gid}`)
        .expect(404);
    });

    it('disables with Replace active False, then deletes (404 afterwards, a tombstone keeps SAML out)', async () => {
      const disabled = await scim(entraToken)
        .send('patch', `${base(entra)}/Users/${id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
        })
        .expect(200);
      expect(disabled.body.active).toBe(false);
      const filtered = await scim(entraToken)
        .get(`${base(entra)}/Users?filter=${encodeURIComponent('userName eq "renamed@contoso.example"')}`)
        .expect(200);
      expect(filtered.body.Resources[0].active).toBe(false);
      expect((await t.admin.get(`/api/v1/users/${id}`).expect(200)).body).toMatchObject({
        active: false,
        deprovisioned: true,
      });
      await scim(entraToken)
        .del(`${base(entra)}/Users/${id}`)
        .expect(204);
      await scim(entraToken)
        .get(`${base(entra)}/Users/${id}`)
        .expect(404);
      await scim(entraToken)
        .del(`${base(entra)}/Users/${id}`)
        .expect(404);
      const audit = await t.admin.get(`/api/v1/audit?type=scim.&connectionId=${entra.id}`).expect(200);
      const types = audit.body.items.map((e: { type: string }) => e.type);
      expect(types).toEqual(
        expect.arrayContaining([
          'scim.user_created',
          'scim.user_updated',
          'scim.user_deactivated',
          'scim.user_deleted',
          'scim.group_created',
          'scim.group_updated',
          'scim.group_deleted',
        ]),
      );
      expect(audit.body.items[0].actor).toMatchObject({
        type: 'scim-token',
        name: expect.stringContaining(entraToken.slice(0, 10)),
      });
    });
  });

  describe("Okta's provisioning sequence", () => {
    let id: string;

    it('looks up, creates (ignoring the password), reads, deactivates by PUT and reactivates by PATCH', async () => {
      const lookup = await scim(oktaToken)
        .get(
          `${base(okta)}/Users?filter=${encodeURIComponent('userName eq "jdoe@example.com"')}&startIndex=1&count=100`,
        )
        .expect(200);
      expect(lookup.body.totalResults).toBe(0);
      const body = {
        schemas: [USER],
        userName: 'jdoe@example.com',
        name: { givenName: 'John', familyName: 'Doe' },
        emails: [{ primary: true, value: 'jdoe@example.com', type: 'work' }],
        displayName: 'John Doe',
        locale: 'en-US',
        externalId: '00ujl29u0le5T6Aj10h7',
        groups: [],
        password: '1mz050nq',
        active: true,
      };
      const created = await scim(oktaToken)
        .send('post', `${base(okta)}/Users`, body)
        .expect(201);
      id = created.body.id;
      expect(created.body).not.toHaveProperty('password');
      expect(
        JSON.stringify(await t.app.get(DataSource).query('SELECT * FROM users WHERE id = $1', [id])),
      ).not.toContain('1mz050nq');
      await scim(oktaToken)
        .get(`${base(okta)}/Users/${id}`)
        .expect(200);
      const put = await scim(oktaToken)
        .send('put', `${base(okta)}/Users/${id}`, { ...body, id, active: false })
        .expect(200);
      expect(put.body.active).toBe(false);
      const back = await scim(oktaToken)
        .send('patch', `${base(okta)}/Users/${id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'replace', value: { active: true } }],
        })
        .expect(200);
      expect(back.body.active).toBe(true);
      const audit = await t.admin.get(`/api/v1/audit?connectionId=${okta.id}&type=scim.`).expect(200);
      expect(audit.body.items.map((e: { type: string }) => e.type)).toEqual(
        expect.arrayContaining(['scim.user_deactivated', 'scim.user_reactivated']),
      );
    });

    it('pushes a group with members, removes one by value path, adds one, renames with the id repeated', async () => {
      const second = (
        await scim(oktaToken)
          .send('post', `${base(okta)}/Users`, {
            schemas: [USER],
            userName: 'asmith@example.com',
            externalId: '00u2',
          })
          .expect(201)
      ).body.id;
      const group = await scim(oktaToken)
        .send('post', `${base(okta)}/Groups`, {
          schemas: [GROUP],
          displayName: 'Test SCIMv2',
          members: [
            { value: id, display: 'jdoe@example.com' },
            { value: second, display: 'asmith@example.com' },
          ],
        })
        .expect(201);
      expect(group.body.members.map((m: { value: string }) => m.value).sort()).toEqual([id, second].sort());
      await scim(oktaToken)
        .send('patch', `${base(okta)}/Groups/${group.body.id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'remove', path: `members[value eq "${second}"]` }],
        })
        .expect(200);
      const renamed = await scim(oktaToken)
        .send('patch', `${base(okta)}/Groups/${group.body.id}`, {
          schemas: [PATCH_OP],
          Operations: [
            { op: 'add', path: 'members', value: [{ value: second, display: 'asmith@example.com' }] },
            { op: 'replace', value: { id: group.body.id, displayName: 'Test SCIMv2 renamed' } },
          ],
        })
        .expect(200);
      expect(renamed.body.displayName).toBe('Test SCIMv2 renamed');
      expect(renamed.body.members).toHaveLength(2);
      const page = await scim(oktaToken)
        .get(`${base(okta)}/Groups?startIndex=1&count=100`)
        .expect(200);
      expect(page.body.totalResults).toBe(1);
    });

    it('pages with startIndex and count', async () => {
      for (let i = 0; i < 5; i++) {
        await scim(oktaToken)
          .send('post', `${base(okta)}/Users`, {
            schemas: [USER],
            userName: `page-${i}@example.com`,
            externalId: `page-${i}`,
          })
          .expect(201);
      }
      const all = await scim(oktaToken)
        .get(`${base(okta)}/Users?count=0`)
        .expect(200);
      expect(all.body).toMatchObject({ totalResults: 7, itemsPerPage: 0, Resources: [] });
      const page = await scim(oktaToken)
        .get(`${base(okta)}/Users?startIndex=3&count=2`)
        .expect(200);
      expect(page.body).toMatchObject({ totalResults: 7, startIndex: 3, itemsPerPage: 2 });
      expect(page.body.Resources.map((u: { userName: string }) => u.userName)).toEqual([
        'page-0@example.com',
        'page-1@example.com',
      ]);
    });
  });

  describe('hostile input: a clear SCIM error, never a 500, nothing written', () => {
    const expectScimError = (
      res: { body: Record<string, unknown>; status: number },
      status: number,
      scimType?: string,
    ) => {
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({
        schemas: [ERROR],
        status: String(status),
        ...(scimType ? { scimType } : {}),
      });
    };

    it.each([
      ['malformed JSON', '{"userName": ', 400, 'invalidSyntax'],
      ['not an object', '[1,2,3]', 400, 'invalidSyntax'],
      [
        'an unknown schema',
        JSON.stringify({ schemas: ['urn:evil:schema'], userName: 'x' }),
        400,
        'invalidValue',
      ],
      ['no userName', JSON.stringify({ schemas: [USER], externalId: 'e1' }), 400, 'invalidValue'],
      [
        'no externalId (matching rule)',
        JSON.stringify({ schemas: [USER], userName: 'x@example.com' }),
        400,
        'invalidValue',
      ],
      [
        'a non-boolean active',
        JSON.stringify({ schemas: [USER], userName: 'x@example.com', externalId: 'e', active: 'maybe' }),
        400,
        'invalidValue',
      ],
      [
        'an oversized body',
        JSON.stringify({ schemas: [USER], userName: 'x', title: 'x'.repeat(2 * 1024 * 1024) }),
        413,
        undefined,
      ],
    ])('POST /Users with %s', async (_what, raw, status, scimType) => {
      const before = await countUsers(okta.id);
      const res = await t
        .http()
        .post(`${base(okta)}/Users`)
        .set('Authorization', `Bearer ${oktaToken}`)
        .set('Content-Type', 'application/scim+json')
        .send(raw as string);
      expectScimError(res, status as number, scimType as string | undefined);
      expect(await countUsers(okta.id)).toBe(before);
    });

    it.each([
      ['an unquoted value', 'userName eq jdoe', 'invalidFilter'],
      ['an unknown attribute', 'password eq "x"', 'invalidFilter'],
      ['an unsupported operator', 'meta.lastModified gt "2011-05-13T04:42:34Z"', 'invalidFilter'],
      ['an unterminated string', 'userName eq "x', 'invalidFilter'],
      ['SQL in an attribute name', 'userName;DROP TABLE users eq "x"', 'invalidFilter'],
    ])('a filter with %s', async (_what, filter, scimType) => {
      const res = await scim(oktaToken).get(`${base(okta)}/Users?filter=${encodeURIComponent(filter)}`);
      expectScimError(res, 400, scimType);
    });

    it('treats an injection attempt in a filter value as a value (no match, no error)', async () => {
      for (const filter of [
        `userName eq "x\\" OR 1=1 --"`,
        `userName eq "' OR '1'='1"`,
        `userName eq "%"`,
        `userName co "_"`,
      ]) {
        const res = await scim(oktaToken)
          .get(`${base(okta)}/Users?filter=${encodeURIComponent(filter)}`)
          .expect(200);
        expect(res.body.totalResults).toBe(0);
      }
    });

    it('refuses bad PATCH operations with invalidPath, noTarget, mutability, invalidSyntax', async () => {
      const [user] = (
        await scim(oktaToken)
          .get(`${base(okta)}/Users?count=1`)
          .expect(200)
      ).body.Resources;
      const patch = (Operations: unknown) =>
        scim(oktaToken).send('patch', `${base(okta)}/Users/${user.id}`, { schemas: [PATCH_OP], Operations });
      expectScimError(
        await patch([{ op: 'replace', path: 'emails[type eq', value: 'x' }]),
        400,
        'invalidPath',
      );
      expectScimError(await patch([{ op: 'remove' }]), 400, 'noTarget');
      expectScimError(await patch([{ op: 'replace', path: 'id', value: 'other' }]), 400, 'mutability');
      expectScimError(await patch([{ op: 'explode', path: 'userName' }]), 400, 'invalidSyntax');
      expectScimError(await patch([]), 400, 'invalidSyntax');
      expectScimError(
        await patch([{ op: 'replace', path: 'urn:evil:User:x', value: 'x' }]),
        400,
        'invalidPath',
      );
      // A valid op after an invalid one changes nothing.
      expectScimError(
        await patch([
          { op: 'replace', path: 'displayName', value: 'Changed' },
          { op: 'replace', path: 'active', value: 'perhaps' },
        ]),
        400,
        'invalidValue',
      );
      const after = await scim(oktaToken)
        .get(`${base(okta)}/Users/${user.id}`)
        .expect(200);
      expect(after.body.displayName).toBe(user.displayName);
    });

    it('answers 404 for unknown and malformed ids, and for a group member that is not a user', async () => {
      expectScimError(
        await scim(oktaToken).get(`${base(okta)}/Users/00000000-0000-4000-8000-000000000000`),
        404,
      );
      expectScimError(await scim(oktaToken).get(`${base(okta)}/Users/not-a-uuid'%20OR%201=1`), 404);
      expectScimError(
        await scim(oktaToken).send('patch', `${base(okta)}/Groups/00000000-0000-4000-8000-000000000000`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'add', path: 'members', value: [{ value: 'x' }] }],
        }),
        404,
      );
      expectScimError(
        await scim(oktaToken).send('post', `${base(okta)}/Groups`, {
          schemas: [GROUP],
          displayName: 'Ghosts',
          members: [{ value: '00000000-0000-4000-8000-000000000000' }],
        }),
        400,
        'invalidValue',
      );
      expect(
        (
          await scim(oktaToken).get(
            `${base(okta)}/Groups?filter=${encodeURIComponent('displayName eq "Ghosts"')}`,
          )
        ).body.totalResults,
      ).toBe(0);
      // A user of another connection is not a member candidate either.
      const entraUser = (
        await scim(entraToken)
          .send('post', `${base(entra)}/Users`, {
            schemas: [USER],
            userName: 'cross@contoso.example',
            externalId: 'cross-1',
          })
          .expect(201)
      ).body.id;
      expectScimError(
        await scim(oktaToken).send('post', `${base(okta)}/Groups`, {
          schemas: [GROUP],
          displayName: 'Cross',
          members: [{ value: entraUser }],
        }),
        400,
        'invalidValue',
      );
      expectScimError(await scim(oktaToken).get(`${base(okta)}/Users/${entraUser}`), 404);
      // Adding one to an existing group changes nothing of it (the write is one transaction).
      const solid = (
        await scim(oktaToken)
          .send('post', `${base(okta)}/Groups`, { schemas: [GROUP], displayName: 'Solid' })
          .expect(201)
      ).body;
      expectScimError(
        await scim(oktaToken).send('patch', `${base(okta)}/Groups/${solid.id as string}`, {
          schemas: [PATCH_OP],
          Operations: [
            { op: 'replace', path: 'displayName', value: 'Solid renamed' },
            { op: 'add', path: 'members', value: [{ value: entraUser }] },
          ],
        }),
        400,
        'invalidValue',
      );
      const after = (
        await scim(oktaToken)
          .get(`${base(okta)}/Groups/${solid.id as string}`)
          .expect(200)
      ).body;
      expect(after.displayName).toBe('Solid');
      expect(after.members ?? []).toEqual([]);
      expect(after.meta.lastModified).toBe(solid.meta.lastModified);
    });
  });

  describe('one user, two sources; deprovisioning signs the user out everywhere', () => {
    const receivers = [new HttpReceiver(), new HttpReceiver()];
    let apps: Array<{ clientId: string; clientSecret: string }>;
    const noEvidence = (): LoginEvidence => ({ samlResponses: [], continues: [], codes: [] });
    const loginFor = (client: { clientId: string; clientSecret: string }) =>
      new LoginClient({
        publicBase: t.config.baseUrl,
        instances: () => [`http://127.0.0.1:${t.config.port}`],
        connection: entra,
        client: { ...client, redirectUri: REDIRECT },
      });

    beforeAll(async () => {
      const urls = await Promise.all(receivers.map((r) => r.start('/bcl')));
      apps = [];
      for (const url of urls) {
        apps.push(
          (
            await t.admin
              .post('/api/v1/clients')
              .send({ name: `App ${apps.length}`, redirectUris: [REDIRECT], backchannelLogoutUri: url })
              .expect(201)
          ).body,
        );
      }
    });
    afterAll(async () => {
      await Promise.all(receivers.map((r) => r.stop()));
    });

    it('a directory user signs in by SAML as the same user, with the directory groups in the token', async () => {
      const created = await scim(entraToken)
        .send('post', `${base(entra)}/Users`, {
          schemas: [USER],
          userName: 'ada@contoso.example',
          externalId: 'ada-object-id',
          emails: [{ primary: true, type: 'work', value: 'ada@contoso.example' }],
        })
        .expect(201);
      const group = await scim(entraToken)
        .send('post', `${base(entra)}/Groups`, {
          schemas: [GROUP],
          displayName: 'Analysts',
          members: [{ value: created.body.id }],
        })
        .expect(201);
      const app = apps[0] as { clientId: string; clientSecret: string };
      const login = loginFor(app);
      const tokens = await login.login('ada-object-id', 'ada@contoso.example', noEvidence(), {
        scope: 'openid email groups offline_access',
        prompt: 'consent',
      });
      expect(tokens.sub).toBe(created.body.id);
      const claims = JSON.parse(Buffer.from(tokens.idToken.split('.')[1] as string, 'base64url').toString());
      expect(claims.groups).toEqual(expect.arrayContaining(['Analysts']));
      expect((await t.admin.get(`/api/v1/users/${created.body.id}`).expect(200)).body.source).toBe('both');
      // The group removed in the directory is gone from the next token.
      await scim(entraToken)
        .del(`${base(entra)}/Groups/${group.body.id}`)
        .expect(204);
      const refreshed = await login.refresh(tokens.refreshToken as string);
      expect(refreshed.claims()?.groups ?? []).not.toContain('Analysts');
    });

    it('deactivating a user with sessions in two apps logs both out, kills refresh tokens, refuses new logins', async () => {
      const created = await scim(entraToken)
        .send('post', `${base(entra)}/Users`, {
          schemas: [USER],
          userName: 'leaver@contoso.example',
          externalId: 'leaver-id',
        })
        .expect(201);
      const sessions = [];
      for (const app of apps) {
        sessions.push(
          await loginFor(app).login('leaver-id', 'leaver@contoso.example', noEvidence(), {
            scope: 'openid email offline_access',
            prompt: 'consent',
          }),
        );
      }
      const before = receivers.map((r) => r.logoutTokens().length);
      await scim(entraToken)
        .send('patch', `${base(entra)}/Users/${created.body.id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'Replace', path: 'active', value: false }],
        })
        .expect(200);
      await until(
        () => receivers.every((r, i) => r.logoutTokens().length > (before[i] as number)),
        'both back-channel logouts',
      );
      for (const r of receivers) {
        const payload = JSON.parse(
          Buffer.from((r.logoutTokens().at(-1) as string).split('.')[1] as string, 'base64url').toString(),
        );
        expect(payload.sub).toBe(created.body.id);
        expect(payload.events).toHaveProperty(['http://schemas.openid.net/event/backchannel-logout']);
      }
      for (const [i, s] of sessions.entries()) {
        await expect(
          loginFor(apps[i] as { clientId: string; clientSecret: string }).refresh(s.refreshToken as string),
        ).rejects.toThrow();
      }
      // A new SAML login is refused, at the app as access_denied.
      await expect(
        loginFor(apps[0] as { clientId: string; clientSecret: string }).login(
          'leaver-id',
          'leaver@contoso.example',
          noEvidence(),
        ),
      ).rejects.toThrow(/no code: access_denied/);
      const failed = await t.admin
        .get(`/api/v1/audit?type=login.failed&connectionId=${entra.id}`)
        .expect(200);
      expect(failed.body.items[0].data.reason).toBe('user_deprovisioned');
      expect((await t.admin.get('/metrics').expect(200)).text).toMatch(
        /bridge_directory_deprovisionings_total\{result="signed_out"\} [1-9]/,
      );
    });
  });

  describe('rate limit', () => {
    it('answers 429 with Retry-After past the per-minute limit of a token', async () => {
      const limited = await startTestApp('postgres', { SCIM_RATE_LIMIT_PER_MINUTE: '3' });
      try {
        const c = await createTestConnection(limited, 'rate-scim');
        const token = (
          await limited.admin.post(`/api/v1/connections/${c.id}/scim-tokens`).send({}).expect(201)
        ).body.token;
        const get = () =>
          limited.http().get('/scim/v2/rate-scim/Users').set('Authorization', `Bearer ${token}`);
        for (let i = 0; i < 3; i++) await get().expect(200);
        const refused = await get().expect(429);
        expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
        expect(refused.body).toMatchObject({ schemas: [ERROR], status: '429' });
      } finally {
        await limited.close();
      }
    });
  });
});
