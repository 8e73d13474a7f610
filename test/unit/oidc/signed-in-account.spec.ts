import type { IncomingMessage } from 'node:http';
import { rememberSignedIn, signedInAccount } from '../../../src/oidc/signed-in-account';
import type { UserEntity } from '../../../src/users/user.entity';

const request = () => ({}) as IncomingMessage;
const user = (fields: Partial<UserEntity> = {}) =>
  ({ id: 'u-1', disabled: false, scimActive: null, scimDeletedAt: null, ...fields }) as unknown as UserEntity;

describe('the account a request signed in', () => {
  it('is that request’s, for that user only', () => {
    const req = request();
    const ada = user();
    rememberSignedIn(req, ada);
    expect(signedInAccount(req, 'u-1')).toBe(ada);
    expect(signedInAccount(req, 'u-2')).toBeUndefined();
    expect(signedInAccount(request(), 'u-1')).toBeUndefined();
    expect(signedInAccount(undefined, 'u-1')).toBeUndefined();
  });

  it('is never a disabled or deprovisioned user (then the database answers)', () => {
    const a = request();
    rememberSignedIn(a, user({ disabled: true }));
    expect(signedInAccount(a, 'u-1')).toBeUndefined();
    const b = request();
    rememberSignedIn(b, user({ scimActive: false }));
    expect(signedInAccount(b, 'u-1')).toBeUndefined();
  });
});
