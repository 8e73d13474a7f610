import { AsyncLocalStorage } from 'node:async_hooks';
import type { OidcClientEntity } from './oidc-client.entity';
import type {
  OidcModelKeys,
  OidcStorageRepository,
  OidcWrite,
  StoredOidcModel,
} from './oidc-storage.repository';

type Payload = Record<string, unknown> & {
  grantId?: string;
  userCode?: string;
  uid?: string;
  consumed?: number;
};

/** Client metadata for oidc-provider, from a registered app. `client_secret` holds the secret's hash. */
export function clientMetadata(c: OidcClientEntity): Record<string, unknown> {
  const confidential = c.secretHash !== null;
  return {
    client_id: c.clientId,
    client_name: c.name,
    ...(confidential ? { client_secret: c.secretHash } : {}),
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    grant_types: c.grantTypes,
    response_types: c.grantTypes.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    id_token_signed_response_alg: c.idTokenSignedResponseAlg,
    ...(c.jwksUri ? { jwks_uri: c.jwksUri } : {}),
    ...(c.backchannelLogoutUri
      ? { backchannel_logout_uri: c.backchannelLogoutUri, backchannel_logout_session_required: true }
      : {}),
    'urn:saml-bridge:access_token_format': c.accessTokenFormat,
    'urn:saml-bridge:access_token_signing_alg': c.accessTokenSigningAlg,
    'urn:saml-bridge:allowed_connections': c.allowedConnections,
    'urn:saml-bridge:lifetimes': c.lifetimes,
  };
}

/** What the adapter reports when a redemption of a single-use artefact lost the race to another one. */
export interface LostRedemption {
  /** The oidc-provider model: `AuthorizationCode`, `RefreshToken`, `DeviceCode`… */
  model: string;
  /** The grant the artefact belonged to, now revoked (null when the artefact was gone already). */
  grantId: string | null;
  /** How many stored artefacts the revocation removed (the grant, its tokens and codes). */
  revoked: number;
}

export interface OidcAdapterHooks {
  /** The error the losing redemption fails with (oidc-provider's InvalidGrant, rendered as invalid_grant). */
  lostRedemptionError: (model: string) => Error;
  /** Told of every lost redemption, after the grant was revoked (audit, metrics). Must not throw. */
  lostRedemption: (lost: LostRedemption) => Promise<void>;
}

/** The held writes of a request could not be written (none of them was): the request must fail. */
export class UnsavedOidcWrites extends Error {
  constructor(cause: unknown) {
    super('The OpenID Provider could not save what this request changed', { cause });
  }
}

/**
 * One oidc-provider request's unit of work. oidc-provider writes each artefact on its own (the login's
 * resume step: the interaction destroyed, then the session, the grant and the code upserted), and each
 * write outside a transaction is its own commit. Held here instead, a request's writes go to the database
 * in one statement (one commit) when the request ends, before its response is sent: a code, a token or a
 * redirect is never answered for writes that were not committed, and all or none of them are.
 * Last write per (model, id) wins: a destroy after an upsert of the same key leaves only the delete (an
 * upsert after a destroy only the upsert, which replaces the row, keeping when it was consumed; oidc-provider
 * never reuses an artefact's id). Every read first sends what is held (read-your-writes), in order.
 */
class RequestWrites {
  private held = new Map<string, OidcWrite>();
  /**
   * What a read of this request fetched ahead (a code's grant and session, see WITH_GRANT_AND_SESSION), by
   * `model:column:value`, null for "not there": each answers the one read it was fetched for, and any write
   * of the request drops them all (the next read goes to the database).
   */
  private ahead = new Map<string, Payload | null>();
  /**
   * The users a read of this request fetched ahead with a code or token (its `accountId`), as their rows'
   * JSON, null for "no such user", each for the one account lookup to come (oidc-provider's findAccount).
   * Not dropped by the request's writes: they change oidc-provider's artefacts, never a user.
   */
  private accounts = new Map<string, Record<string, unknown> | null>();
  /** The flushes so far, in order; once one failed, every later one fails with its error. */
  private sent: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(readonly storage: OidcStorageRepository) {}

  /** Holds the write; once the request ended (e.g. an un-awaited write), sends it at once instead. */
  write(write: OidcWrite): Promise<void> {
    this.dropAhead();
    if (!this.closed) {
      this.held.set(`${write.model}:${write.id}`, write);
      return Promise.resolve();
    }
    return this.sent.catch(() => undefined).then(() => this.storage.flush([write]));
  }

  /** The payload held for (model, id) to be upserted, if any (undefined: none, or a destroy). */
  heldPayload(model: string, id: string): Payload | undefined {
    const held = this.held.get(`${model}:${id}`);
    return held?.upsert ? (JSON.parse(held.upsert.json) as Payload) : undefined;
  }

  /** Keeps what a read fetched ahead for a later read of (model, column, value) in this request. */
  fetchedAhead(model: string, column: string, value: string, payload: Payload | null): void {
    if (!this.closed) this.ahead.set(`${model}:${column}:${value}`, payload);
  }

  /** What was fetched ahead for this read (null: it is not there), once; undefined when nothing was. */
  takeAhead(model: string, column: string, value: string): Payload | null | undefined {
    const key = `${model}:${column}:${value}`;
    const payload = this.ahead.get(key);
    this.ahead.delete(key);
    return payload;
  }

  /** Keeps the user row (JSON; null: none) a read fetched ahead for the account lookup of this request. */
  accountFetchedAhead(accountId: string, row: Record<string, unknown> | null): void {
    if (!this.closed) this.accounts.set(accountId, row);
  }

  /** The user row fetched ahead for this account (null: no such user), once; undefined when none was. */
  takeAccount(accountId: string): Record<string, unknown> | null | undefined {
    const row = this.accounts.get(accountId);
    this.accounts.delete(accountId);
    return row;
  }

  /** The request changed something (a write, a consume, a revocation): what was fetched ahead may be stale. */
  dropAhead(): void {
    this.ahead.clear();
  }

  /** Sends what is held (one statement), after what was sent before. Once the request ended, only waits. */
  flush(): Promise<void> {
    if (this.closed) return this.sent.catch(() => undefined);
    const writes = [...this.held.values()];
    this.held = new Map();
    this.sent = this.sent.then(() => (writes.length > 0 ? this.storage.flush(writes) : undefined));
    return this.sent;
  }

  /** The request ended: sends what is left; later writes are sent at once. */
  close(): Promise<void> {
    const last = this.flush();
    this.closed = true;
    this.dropAhead();
    this.accounts.clear();
    return last;
  }
}

const requestWrites = new AsyncLocalStorage<RequestWrites>();

/**
 * The user row (its JSON, `to_jsonb`) that this request's read of a code or token fetched ahead for
 * `accountId` with `storage` (null: there is no such user), once; undefined when none was fetched, and
 * outside a request.
 */
export function accountFetchedAhead(
  storage: OidcStorageRepository,
  accountId: string,
): Record<string, unknown> | null | undefined {
  const writes = requestWrites.getStore();
  return writes?.storage === storage ? writes.takeAccount(accountId) : undefined;
}

/**
 * Runs one oidc-provider request (`handle`: the rest of its Koa middleware) with the adapter's writes held,
 * and writes them when it has been handled, before Koa sends the response — also when it failed (its error
 * is rethrown after). Rejects with UnsavedOidcWrites when they could not be written (then that is the
 * request's outcome, whatever `handle` did). Outside such a scope the adapter writes at once.
 */
export async function withRequestWrites(
  storage: OidcStorageRepository,
  handle: () => Promise<void>,
): Promise<void> {
  const outer = requestWrites.getStore();
  if (outer?.storage === storage) {
    // A Nest route that did its part of the request first and hands the rest to oidc-provider (the login's
    // continue step): one unit of work for both, written when oidc-provider is done, before its response.
    try {
      await handle();
    } finally {
      await outer.flush().catch((err: unknown) => {
        throw new UnsavedOidcWrites(err);
      });
    }
    return;
  }
  const writes = new RequestWrites(storage);
  try {
    await requestWrites.run(writes, handle);
  } finally {
    await writes.close().catch((err: unknown) => {
      throw new UnsavedOidcWrites(err);
    });
  }
}

/**
 * Models written at once even inside a request: ReplayDetection (DPoP proofs, client assertion jtis) is a
 * find-then-save uniqueness check, which another request presenting the same proof must see immediately.
 */
const UNHELD = new Set(['ReplayDetection']);

/**
 * Models whose held upsert a read of the same id in the same request is answered from (nothing to send
 * first): an Interaction, which nothing but its own saves changes (no consume, no grant revocation). The
 * login's continue step saves the interaction's result and the resume reads it back in the same request.
 */
const READ_FROM_HELD = new Set(['Interaction']);

/**
 * Models issued under a grant and a session (payload `grantId` and `sessionUid`). oidc-provider reads such an
 * artefact, then its session (the session binding), then its grant (the token endpoint's code exchange and
 * refresh, userinfo and introspection of opaque tokens), then its account: inside a request, the first read
 * fetches all four in one statement and the other reads are answered from it (the account through
 * accountFetchedAhead).
 */
const WITH_GRANT_AND_SESSION = new Set([
  'AuthorizationCode',
  'RefreshToken',
  'AccessToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

/** The payload oidc-provider expects of a stored artefact: with `consumed` (epoch seconds) once consumed. */
function payloadOf(stored: StoredOidcModel): Payload {
  const payload = stored.payload as Payload;
  return stored.consumedAt
    ? { ...payload, consumed: Math.floor(stored.consumedAt.getTime() / 1000) }
    : payload;
}

/**
 * oidc-provider's storage on PostgreSQL: every model (sessions, grants, codes, tokens, interactions…) in
 * one table keyed by (model, id), with atomic consume, revokeByGrantId and expiry. Clients come from the
 * apps table. Every instance shares it.
 */
export function createOidcAdapter(
  storage: OidcStorageRepository,
  findClient: (id: string) => Promise<OidcClientEntity | null>,
  hooks: OidcAdapterHooks,
) {
  return class PostgresOidcAdapter {
    constructor(private readonly model: string) {}

    /** The current request's unit of work (none outside oidc-provider's requests). */
    private get request(): RequestWrites | undefined {
      const writes = requestWrites.getStore();
      return writes?.storage === storage ? writes : undefined;
    }

    /** Sends the request's held writes, so that what follows sees them. */
    private async flushed(): Promise<void> {
      await this.request?.flush();
    }

    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      const keys: OidcModelKeys = {
        grantId: payload.grantId ?? null,
        userCode: payload.userCode ?? null,
        uid: payload.uid ?? null,
        expiresAt: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      };
      const request = UNHELD.has(this.model) ? undefined : this.request;
      if (request)
        await request.write({ model: this.model, id, upsert: { json: JSON.stringify(payload), keys } });
      else await storage.upsert(this.model, id, payload, keys);
    }

    private async findWhere(where: 'id' | 'uid' | 'user_code', value: string): Promise<Payload | undefined> {
      const ahead = this.request?.takeAhead(this.model, where, value);
      if (ahead !== undefined) return ahead ?? undefined;
      await this.flushed();
      const stored = await storage.find(this.model, where, value);
      return stored ? payloadOf(stored) : undefined;
    }

    /** The artefact, its grant and its session in one statement; the latter two kept for the reads to come. */
    private async findWithGrantAndSession(request: RequestWrites, id: string): Promise<Payload | undefined> {
      await request.flush();
      const found = await storage.findWithGrantAndSession(this.model, id);
      if (!found) return undefined;
      const payload = payloadOf(found.source);
      const { grantId, sessionUid, accountId } = payload;
      if (typeof accountId === 'string') request.accountFetchedAhead(accountId, found.account);
      if (typeof grantId === 'string')
        request.fetchedAhead('Grant', 'id', grantId, found.grant && payloadOf(found.grant));
      if (typeof sessionUid === 'string')
        request.fetchedAhead('Session', 'uid', sessionUid, found.session && payloadOf(found.session));
      return payload;
    }

    async find(id: string): Promise<Payload | undefined> {
      // Clients are the apps table's, not held writes': nothing to send first.
      if (this.model === 'Client') {
        const client = await findClient(id);
        return client ? (clientMetadata(client) as Payload) : undefined;
      }
      const request = this.request;
      if (request && WITH_GRANT_AND_SESSION.has(this.model)) return this.findWithGrantAndSession(request, id);
      const held = READ_FROM_HELD.has(this.model) ? request?.heldPayload(this.model, id) : undefined;
      return held ?? this.findWhere('id', id);
    }

    findByUid(uid: string): Promise<Payload | undefined> {
      return this.findWhere('uid', uid);
    }

    findByUserCode(userCode: string): Promise<Payload | undefined> {
      return this.findWhere('user_code', userCode);
    }

    /**
     * Marks a one-time artefact (authorization code, rotated refresh token…) used. oidc-provider checks
     * `consumed` on the copy it read before calling this, so two concurrent redemptions would both pass
     * that check: the conditional UPDATE decides, in the database, which one wins (any instance). The loser
     * is the replay RFC 6749 §4.1.2 and §10.4 describe: it revokes the grant with everything issued under
     * it — including what the winner is issuing now, whose grant is then gone — and fails with invalid_grant
     * before anything is issued for it.
     */
    async consume(id: string): Promise<void> {
      this.request?.dropAhead();
      await this.flushed();
      if (await storage.consume(this.model, id)) return;
      const revoked = await storage.revokeGrantOf(this.model, id);
      await hooks.lostRedemption({ model: this.model, grantId: revoked[0] ?? null, revoked: revoked.length });
      throw hooks.lostRedemptionError(this.model);
    }

    async destroy(id: string): Promise<void> {
      const request = UNHELD.has(this.model) ? undefined : this.request;
      if (request) await request.write({ model: this.model, id });
      else await storage.destroy(this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      this.request?.dropAhead();
      await this.flushed();
      await storage.revokeGrant(grantId);
    }
  };
}
