import type { IncomingMessage } from 'node:http';
import { isDeprovisioned, type UserEntity } from '../users/user.entity';

/**
 * The user a request has just signed in (the login's continue step: provisioned, checked active, the
 * bridge session opened), for oidc-provider's findAccount in the same request: the resume that follows in
 * that request needs the account, and reading back the row just written would be one statement more on
 * every login. Only that request sees it (keyed by the request object).
 */
const signedIn = new WeakMap<IncomingMessage, UserEntity>();

export function rememberSignedIn(req: IncomingMessage, user: UserEntity): void {
  signedIn.set(req, user);
}

/** The active user `id` this request signed in, if it did (undefined: read it from the database). */
export function signedInAccount(req: IncomingMessage | undefined, id: string): UserEntity | undefined {
  const user = req ? signedIn.get(req) : undefined;
  return user && user.id === id && !user.disabled && !isDeprovisioned(user) ? user : undefined;
}
