import {
  mapIdentity,
  MappingError,
  NAMEID_EMAIL,
  NAMEID_PERSISTENT,
  NAMEID_TRANSIENT,
} from '../../src/mapping/attribute-mapping';

const ENTRA = 'http://schemas.microsoft.com/identity/claims/';
const SOAP = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/';

describe('mapIdentity', () => {
  it('maps Entra ID claims: objectidentifier is the subject, never the email', () => {
    const user = mapIdentity(
      {
        nameId: 'alice@contoso.com',
        nameIdFormat: NAMEID_EMAIL,
        attributes: {
          [`${ENTRA}objectidentifier`]: ['0f1e2d3c'],
          [`${SOAP}emailaddress`]: ['Alice@Contoso.com'],
          [`${SOAP}givenname`]: ['Alice'],
          [`${SOAP}surname`]: ['Smith'],
          [`${ENTRA}displayname`]: ['Alice Smith'],
          'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups': ['g1', 'g2', 'g1'],
        },
      },
      { preset: 'entra', domains: ['contoso.com'] },
    );
    expect(user).toEqual({
      subject: '0f1e2d3c',
      subjectSource: `${ENTRA}objectidentifier`,
      email: 'alice@contoso.com',
      emailVerified: true,
      givenName: 'Alice',
      familyName: 'Smith',
      displayName: 'Alice Smith',
      groups: ['g1', 'g2'],
    });
  });

  it('uses a persistent NameID, and marks an email unverified outside the verified domains', () => {
    const user = mapIdentity(
      {
        nameId: 'opaque-1',
        nameIdFormat: NAMEID_PERSISTENT,
        attributes: { email: ['bob@other.example'], groups: ['a'] },
      },
      { preset: 'okta', domains: ['acme.com'] },
    );
    expect(user).toMatchObject({
      subject: 'opaque-1',
      subjectSource: 'nameid',
      email: 'bob@other.example',
      emailVerified: false,
    });
  });

  it('refuses email-only and transient NameIDs unless subjectSource is nameid', () => {
    const emailOnly = { nameId: 'carol@acme.com', nameIdFormat: NAMEID_EMAIL, attributes: {} };
    expect(() => mapIdentity(emailOnly, { preset: 'generic', domains: [] })).toThrow(MappingError);
    expect(mapIdentity(emailOnly, { preset: 'generic', domains: [], subjectSource: 'nameid' }).subject).toBe(
      'carol@acme.com',
    );
    expect(mapIdentity(emailOnly, { preset: 'google', domains: [] }).subject).toBe('carol@acme.com');
    expect(() =>
      mapIdentity(
        { nameId: '_t1', nameIdFormat: NAMEID_TRANSIENT, attributes: {} },
        { preset: 'google', domains: [] },
      ),
    ).toThrow(expect.objectContaining({ code: 'saml_subject_unstable' }));
  });

  it('refuses two different values for a single-valued field (attribute smuggling), accepts repeats of one value', () => {
    const base = { nameId: 'p1', nameIdFormat: NAMEID_PERSISTENT };
    expect(() =>
      mapIdentity(
        { ...base, attributes: { email: ['a@acme.com', 'admin@acme.com'] } },
        { preset: 'generic', domains: [] },
      ),
    ).toThrow(expect.objectContaining({ code: 'saml_attribute_conflict' }));
    expect(
      mapIdentity(
        { ...base, attributes: { email: ['a@acme.com', 'a@acme.com'] } },
        { preset: 'generic', domains: [] },
      ).email,
    ).toBe('a@acme.com');
  });

  it('applies per-connection attribute overrides', () => {
    const user = mapIdentity(
      {
        nameId: 'x',
        nameIdFormat: NAMEID_EMAIL,
        attributes: { employeeId: ['E42'], workMail: ['d@acme.com'], teams: ['t1', 't2'] },
      },
      {
        preset: 'generic',
        domains: ['acme.com'],
        overrides: { subject: 'employeeId', email: 'workMail', groups: 'teams' },
      },
    );
    expect(user).toMatchObject({
      subject: 'E42',
      email: 'd@acme.com',
      emailVerified: true,
      groups: ['t1', 't2'],
    });
  });
});
