import { displayNameOf } from '../../../src/users/display-name';

describe('displayNameOf', () => {
  it("prefers the IdP's display name", () => {
    expect(displayNameOf({ displayName: 'Ada L.', givenName: 'Ada', familyName: 'Lovelace' })).toBe('Ada L.');
  });
  it('falls back to given and family name, either alone', () => {
    expect(displayNameOf({ displayName: null, givenName: 'Ada', familyName: 'Lovelace' })).toBe(
      'Ada Lovelace',
    );
    expect(displayNameOf({ givenName: 'Ada' })).toBe('Ada');
    expect(displayNameOf({ displayName: '', familyName: 'Lovelace' })).toBe('Lovelace');
  });
  it('is null when there is no name at all', () => {
    expect(displayNameOf({})).toBeNull();
    expect(displayNameOf({ displayName: '', givenName: null, familyName: '' })).toBeNull();
  });
});
