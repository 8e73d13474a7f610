import { ScimError } from '../../src/scim/scim-error';
import { applyPatch, type JsonObject } from '../../src/scim/scim-patch';
import { GROUP_PATCH_SCHEMA } from '../../src/scim/scim-group';
import { normalizeUser, USER_PATCH_SCHEMA } from '../../src/scim/scim-user';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const patch = (resource: JsonObject, Operations: unknown[], schema = USER_PATCH_SCHEMA) =>
  applyPatch(resource, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations }, schema);
const scimType = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ScimError);
    return (err as ScimError).scimType;
  }
  throw new Error('accepted');
};

describe('SCIM PATCH (RFC 7644 §3.5.2) as Entra ID and Okta send it', () => {
  const user: JsonObject = {
    userName: 'ada@x.com',
    name: { givenName: 'Ada', familyName: 'L' },
    emails: [{ type: 'work', value: 'ada@x.com', primary: true }],
    active: true,
  };

  it('replaces a sub-attribute of the elements a value path selects, and adds the element when none matches', () => {
    const next = patch(user, [{ op: 'Replace', path: 'emails[type eq "work"].value', value: 'new@x.com' }]);
    expect(next.emails).toEqual([{ type: 'work', value: 'new@x.com', primary: true }]);
    const added = patch(user, [{ op: 'replace', path: 'emails[type eq "home"].value', value: 'h@x.com' }]);
    expect(added.emails).toEqual([...(user.emails as JsonObject[]), { type: 'home', value: 'h@x.com' }]);
    expect(user.emails).toHaveLength(1); // the input is not changed
  });

  it('applies a path-less replace whose keys are paths, extension objects and string booleans', () => {
    const next = patch(user, [
      {
        op: 'Replace',
        value: { 'name.givenName': 'Grace', active: 'False', [ENTERPRISE]: { department: 'R&D' } },
      },
      { op: 'Add', path: `${ENTERPRISE}:manager`, value: 'boss-id' },
    ]);
    expect(normalizeUser(next)).toMatchObject({
      active: false,
      resource: {
        name: { givenName: 'Grace', familyName: 'L' },
        [ENTERPRISE]: { department: 'R&D', manager: { value: 'boss-id' } },
      },
    });
  });

  it('removes members by value list (Entra) and by value path (Okta), adds without duplicates', () => {
    const group: JsonObject = { displayName: 'G', members: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] };
    expect(
      patch(group, [{ op: 'Remove', path: 'members', value: [{ value: 'a' }] }], GROUP_PATCH_SCHEMA).members,
    ).toEqual([{ value: 'b' }, { value: 'c' }]);
    expect(
      patch(group, [{ op: 'remove', path: 'members[value eq "b"]' }], GROUP_PATCH_SCHEMA).members,
    ).toEqual([{ value: 'a' }, { value: 'c' }]);
    expect(
      patch(
        group,
        [{ op: 'add', path: 'members', value: [{ value: 'c' }, { value: 'd', display: 'D' }] }],
        GROUP_PATCH_SCHEMA,
      ).members,
    ).toEqual([{ value: 'a' }, { value: 'b' }, { value: 'c' }, { value: 'd', display: 'D' }]);
    expect(patch(group, [{ op: 'remove', path: 'members' }], GROUP_PATCH_SCHEMA)).not.toHaveProperty(
      'members',
    );
    // Okta repeats the id in a path-less replace: ignored, not a mutability error.
    expect(
      patch(group, [{ op: 'replace', value: { id: 'g1', displayName: 'H' } }], GROUP_PATCH_SCHEMA)
        .displayName,
    ).toBe('H');
  });

  it('refuses what it cannot apply, with the RFC scimType', () => {
    expect(scimType(() => patch(user, [{ op: 'remove' }]))).toBe('noTarget');
    expect(scimType(() => patch(user, [{ op: 'replace', path: 'id', value: 'x' }]))).toBe('mutability');
    expect(scimType(() => patch(user, [{ op: 'replace', path: 'groups', value: [] }]))).toBe('mutability');
    expect(scimType(() => patch(user, [{ op: 'replace', path: 'emails[type eq', value: 'x' }]))).toBe(
      'invalidPath',
    );
    expect(scimType(() => patch(user, [{ op: 'replace', path: 'userName[value eq "x"]', value: 'x' }]))).toBe(
      'invalidPath',
    );
    expect(scimType(() => patch(user, [{ op: 'move', path: 'userName' }]))).toBe('invalidSyntax');
    expect(scimType(() => patch(user, [{ op: 'replace', value: 'not an object' }]))).toBe('invalidValue');
    expect(scimType(() => applyPatch(user, { Operations: [] }, USER_PATCH_SCHEMA))).toBe('invalidSyntax');
    expect(
      scimType(() =>
        patch(user, [{ op: 'replace', path: 'emails[value eq "nope"]', value: { value: 'x' } }]),
      ),
    ).toBe('noTarget');
  });
});
