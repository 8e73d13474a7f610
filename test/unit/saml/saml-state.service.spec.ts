import { FixedClock } from '../../../src/common/clock';
import { sha256 } from '../../../src/common/sha256';
import { SamlRequestEntity } from '../../../src/saml/saml-request.entity';
import type {
  NewCompletion,
  SamlStateRepository,
  StoredCompletion,
} from '../../../src/saml/saml-state.repository';
import {
  COMPLETION_LIFETIME_MS,
  REQUEST_LIFETIME_MS,
  SamlStateService,
  type LoginCompletion,
} from '../../../src/saml/saml-state.service';

/** The SAML state tables in memory: takes are single use and see only unexpired rows, like the DELETEs. */
class FakeSamlStateRepository implements Pick<SamlStateRepository, keyof SamlStateRepository> {
  readonly requests = new Map<string, SamlRequestEntity>();
  readonly replay = new Map<string, Date>();
  readonly completions = new Map<string, NewCompletion>();

  buildRequest(fields: Partial<SamlRequestEntity>): SamlRequestEntity {
    return Object.assign(new SamlRequestEntity(), fields);
  }
  async insertRequest(request: SamlRequestEntity): Promise<void> {
    this.requests.set(request.id, request);
  }
  async takeRequest(id: string, connectionId: string, kind: 'authn' | 'logout', now: Date) {
    const r = this.requests.get(id);
    if (!r || r.connectionId !== connectionId || r.kind !== kind || r.expiresAt <= now) return null;
    this.requests.delete(id);
    return r;
  }
  async findRequest(id: string, connectionId: string, kind: 'authn' | 'logout', now: Date) {
    const r = this.requests.get(id);
    return !r || r.connectionId !== connectionId || r.kind !== kind || r.expiresAt <= now ? null : r;
  }
  /** As its one statement: the request taken, then the ID remembered, then the completion stored. */
  async acceptLogin(
    requestId: string | null,
    now: Date,
    assertion: { id: string; until: Date },
    c: NewCompletion,
  ) {
    const requestTaken =
      requestId === null || (await this.takeRequest(requestId, c.connectionId, 'authn', now)) !== null;
    const remembered =
      requestTaken && (await this.insertAssertion(c.connectionId, assertion.id, assertion.until));
    if (remembered) this.completions.set(c.codeHash, structuredClone(c));
    return { requestTaken, remembered, stored: remembered };
  }
  async insertAssertion(connectionId: string, assertionId: string, until: Date): Promise<boolean> {
    const key = `${connectionId} ${assertionId}`;
    if (this.replay.has(key)) return false;
    this.replay.set(key, until);
    return true;
  }
  async takeCompletion(codeHash: string, now: Date, consumer: string): Promise<StoredCompletion | null> {
    const c = this.completions.get(codeHash);
    if (!c || c.expiresAt <= now || c.context.consumer !== consumer) return null;
    this.completions.delete(codeHash);
    const { codeHash: _hash, ...stored } = c;
    return stored;
  }
  async deleteExpired(now: Date) {
    const purge = <V>(m: Map<string, V>, expiry: (v: V) => Date) => {
      let n = 0;
      for (const [k, v] of m)
        if (expiry(v) <= now) {
          m.delete(k);
          n++;
        }
      return n;
    };
    return {
      requests: purge(this.requests, (r) => r.expiresAt),
      replay: purge(this.replay, (d) => d),
      completions: purge(this.completions, (c) => c.expiresAt),
    };
  }
}

const CONNECTION = '0b8f8a4e-2c4d-4a57-8f8e-6a4a0a7f5c11';

describe('SamlStateService (fake repository)', () => {
  let repo: FakeSamlStateRepository;
  let clock: FixedClock;
  let state: SamlStateService;

  beforeEach(() => {
    repo = new FakeSamlStateRepository();
    clock = new FixedClock(new Date('2026-03-01T10:00:00Z'));
    state = new SamlStateService(repo as unknown as SamlStateRepository, clock);
  });

  it('gives a pending request to exactly one consumer, of the right connection and kind, before it expires', async () => {
    await state.createRequest({ id: '_a', connectionId: CONNECTION, kind: 'authn', returnTo: null });
    expect(await state.consumeRequest('_a', CONNECTION, 'logout')).toBeNull();
    const taken = await state.consumeRequest('_a', CONNECTION, 'authn');
    expect(taken).toMatchObject({ id: '_a', context: {}, browserBinding: null });
    expect(await state.consumeRequest('_a', CONNECTION, 'authn')).toBeNull();

    await state.createRequest({ id: '_b', connectionId: CONNECTION, kind: 'authn', returnTo: null });
    clock.advance(REQUEST_LIFETIME_MS);
    expect(await state.consumeRequest('_b', CONNECTION, 'authn')).toBeNull();
  });

  it('does not look up an ID longer than 64 characters', async () => {
    const take = jest.spyOn(repo, 'takeRequest');
    const find = jest.spyOn(repo, 'findRequest');
    expect(await state.consumeRequest(`_${'a'.repeat(64)}`, CONNECTION, 'authn')).toBeNull();
    expect(await state.findRequest(`_${'a'.repeat(64)}`, CONNECTION, 'authn')).toBeNull();
    expect(take).not.toHaveBeenCalled();
    expect(find).not.toHaveBeenCalled();
  });

  it('remembers an assertion ID (cut to 256 characters) and reports a replay', async () => {
    const id = `_${'x'.repeat(300)}`;
    expect(await state.rememberAssertion(CONNECTION, id, clock.now())).toBe(true);
    expect(await state.rememberAssertion(CONNECTION, `${id}-other-suffix`, clock.now())).toBe(false);
    expect([...repo.replay.keys()]).toEqual([`${CONNECTION} ${id.slice(0, 256)}`]);
  });

  it('stores a completion under the hash of a random code and hands it out once, within its lifetime', async () => {
    const completion: Omit<LoginCompletion, 'expiresAt'> = {
      connectionId: CONNECTION,
      login: {
        mapped: {
          subject: 's',
          subjectSource: 'nameId',
          email: null,
          emailVerified: false,
          givenName: null,
          familyName: null,
          displayName: null,
          groups: [],
        },
        attributes: {},
        assertionId: '_assertion',
        session: { nameId: 's' },
      },
      browserBinding: sha256('binding'),
      returnTo: '/oidc/interaction/abc',
      consumer: 'oidc-interaction',
      state: { interaction: 'abc' },
    };
    const until = new Date(clock.now().getTime() + 60_000);
    const { code = '' } = await state.acceptLogin(null, { id: '_assertion', until }, completion);
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect([...repo.completions.keys()]).toEqual([sha256(code)]);
    expect(await state.takeCompletion('not-a-code', 'oidc-interaction')).toBeNull();
    // Another consumer cannot take it, and it stays for its own.
    expect(await state.takeCompletion(code, 'console-sso')).toBeNull();
    expect(await state.takeCompletion(code, 'oidc-interaction')).toEqual({
      ...completion,
      expiresAt: new Date(clock.now().getTime() + COMPLETION_LIFETIME_MS),
    });
    expect(await state.takeCompletion(code, 'oidc-interaction')).toBeNull();

    const { code: late = '' } = await state.acceptLogin(null, { id: '_late', until }, completion);
    clock.advance(COMPLETION_LIFETIME_MS);
    expect(await state.takeCompletion(late, 'oidc-interaction')).toBeNull();
  });

  it('purges what expired and keeps the rest', async () => {
    await state.createRequest({ id: '_old', connectionId: CONNECTION, kind: 'authn', returnTo: null });
    await state.rememberAssertion(CONNECTION, '_gone', new Date(clock.now().getTime() + 1000));
    await state.rememberAssertion(
      CONNECTION,
      '_kept',
      new Date(clock.now().getTime() + REQUEST_LIFETIME_MS * 2),
    );
    clock.advance(REQUEST_LIFETIME_MS);
    expect(await state.purgeExpired()).toEqual({ requests: 1, replay: 1, completions: 0 });
    expect([...repo.replay.keys()]).toEqual([`${CONNECTION} _kept`]);
  });
});
