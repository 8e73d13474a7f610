import {
  accountFetchedAhead,
  createOidcAdapter,
  UnsavedOidcWrites,
  withRequestWrites,
  type LostRedemption,
} from '../../../src/oidc/oidc-adapter';
import type {
  OidcModelKeys,
  OidcStorageRepository,
  OidcWrite,
  StoredOidcModel,
  StoredWithGrantAndSession,
} from '../../../src/oidc/oidc-storage.repository';

interface Row {
  payload: Record<string, unknown>;
  keys: OidcModelKeys;
  consumedAt: Date | null;
}

/** An in-memory OidcStorageRepository that records every call it answers, in order. */
class FakeStorage {
  readonly rows = new Map<string, Row>();
  readonly calls: string[] = [];
  readonly flushes: OidcWrite[][] = [];
  /** The error the next flush fails with (then cleared). */
  failNextFlush?: Error;

  private key = (model: string, id: string) => `${model}:${id}`;

  upsert(model: string, id: string, payload: unknown, keys: OidcModelKeys): Promise<void> {
    this.calls.push(`upsert ${model} ${id}`);
    const consumedAt = this.rows.get(this.key(model, id))?.consumedAt ?? null;
    this.rows.set(this.key(model, id), { payload: payload as Record<string, unknown>, keys, consumedAt });
    return Promise.resolve();
  }

  destroy(model: string, id: string): Promise<void> {
    this.calls.push(`destroy ${model} ${id}`);
    this.rows.delete(this.key(model, id));
    return Promise.resolve();
  }

  flush(writes: OidcWrite[]): Promise<void> {
    this.calls.push(`flush ${writes.length}`);
    const failure = this.failNextFlush;
    this.failNextFlush = undefined;
    if (failure) return Promise.reject(failure);
    this.flushes.push(writes);
    for (const w of writes) {
      const key = this.key(w.model, w.id);
      if (!w.upsert) this.rows.delete(key);
      else {
        const payload = JSON.parse(w.upsert.json) as Record<string, unknown>;
        this.rows.set(key, {
          payload,
          keys: w.upsert.keys,
          consumedAt: this.rows.get(key)?.consumedAt ?? null,
        });
      }
    }
    return Promise.resolve();
  }

  find(model: string, by: 'id' | 'uid' | 'user_code', value: string): Promise<StoredOidcModel | null> {
    this.calls.push(`find ${model} ${value}`);
    const match = [...this.rows.entries()].find(([key, row]) => {
      if (!key.startsWith(`${model}:`)) return false;
      if (by === 'id') return key === this.key(model, value);
      return (by === 'uid' ? row.keys.uid : row.keys.userCode) === value;
    });
    return Promise.resolve(match ? { payload: match[1].payload, consumedAt: match[1].consumedAt } : null);
  }

  /** Users' rows as JSON, by id (what the statement reads with a code for its accountId). */
  readonly accounts = new Map<string, Record<string, unknown>>();

  /** As the repository's one statement: the artefact, and the grant, session and user its payload names. */
  async findWithGrantAndSession(model: string, id: string): Promise<StoredWithGrantAndSession | null> {
    this.calls.push(`findWithGrantAndSession ${model} ${id}`);
    const row = this.rows.get(this.key(model, id));
    if (!row) return null;
    const { grantId, sessionUid, accountId } = row.payload;
    const grant = typeof grantId === 'string' ? this.rows.get(this.key('Grant', grantId)) : undefined;
    const session = [...this.rows.entries()].find(
      ([key, r]) => key.startsWith('Session:') && r.keys.uid === sessionUid,
    )?.[1];
    const stored = (r: Row | undefined) => (r ? { payload: r.payload, consumedAt: r.consumedAt } : null);
    return Promise.resolve({
      source: { payload: row.payload, consumedAt: row.consumedAt },
      grant: stored(grant),
      session: stored(session),
      account: (typeof accountId === 'string' && this.accounts.get(accountId)) || null,
    });
  }

  consume(model: string, id: string): Promise<boolean> {
    this.calls.push(`consume ${model} ${id}`);
    const row = this.rows.get(this.key(model, id));
    if (!row || row.consumedAt) return Promise.resolve(false);
    row.consumedAt = new Date();
    return Promise.resolve(true);
  }

  revokeGrantOf(model: string, id: string): Promise<Array<string | null>> {
    this.calls.push(`revokeGrantOf ${model} ${id}`);
    const grantId = this.rows.get(this.key(model, id))?.keys.grantId ?? null;
    return grantId ? this.revokeGrant(grantId).then(() => [grantId]) : Promise.resolve([]);
  }

  revokeGrant(grantId: string): Promise<void> {
    this.calls.push(`revokeGrant ${grantId}`);
    for (const [key, row] of this.rows) if (row.keys.grantId === grantId) this.rows.delete(key);
    return Promise.resolve();
  }
}

class LostRace extends Error {}

const setup = () => {
  const fake = new FakeStorage();
  const storage = fake as unknown as OidcStorageRepository;
  const lost: LostRedemption[] = [];
  const Adapter = createOidcAdapter(storage, () => Promise.resolve(null), {
    lostRedemptionError: (model) => new LostRace(model),
    lostRedemption: (l) => {
      lost.push(l);
      return Promise.resolve();
    },
  });
  /** Runs `handle` as one oidc-provider request (the host's middleware). */
  const request = (handle: () => Promise<void>) => withRequestWrites(storage, handle);
  return { fake, lost, request, adapter: (model: string) => new Adapter(model) };
};

describe('OIDC adapter: one unit of work per oidc-provider request', () => {
  it('writes at once outside a request (Nest controllers, background jobs, logout fan-out)', async () => {
    const { fake, adapter } = setup();
    await adapter('Interaction').upsert('i-1', { uid: 'u-1' }, 600);
    await adapter('Interaction').destroy('i-1');
    expect(fake.calls).toEqual(['upsert Interaction i-1', 'destroy Interaction i-1']);
    expect(fake.flushes).toEqual([]);
  });

  it('holds the writes and sends them in one flush at the end, the last write per key winning', async () => {
    const { fake, request, adapter } = setup();
    await request(async () => {
      await adapter('Session').upsert('s-1', { accountId: 'a', n: 1 }, 60);
      await adapter('Grant').upsert('g-1', { accountId: 'a' }, 60);
      await adapter('Session').upsert('s-1', { accountId: 'a', n: 2 }, 60);
      await adapter('AuthorizationCode').upsert('c-1', { grantId: 'g-1' }, 60);
      expect(fake.calls).toEqual([]);
    });
    expect(fake.calls).toEqual(['flush 3']);
    expect(fake.flushes[0]?.map((w) => `${w.model} ${w.id} ${w.upsert?.json}`)).toEqual([
      'Session s-1 {"accountId":"a","n":2}',
      'Grant g-1 {"accountId":"a"}',
      'AuthorizationCode c-1 {"grantId":"g-1"}',
    ]);
    expect(fake.flushes[0]?.[2]?.upsert?.keys.grantId).toBe('g-1');
    expect(fake.rows.get('Session:s-1')?.payload).toEqual({ accountId: 'a', n: 2 });
  });

  it('takes the payload as it was when written (a later change to the object is not sent)', async () => {
    const { fake, request, adapter } = setup();
    const payload: Record<string, unknown> = { accountId: 'a' };
    await request(async () => {
      await adapter('Session').upsert('s-1', payload, 60);
      payload.accountId = 'b';
    });
    expect(fake.rows.get('Session:s-1')?.payload).toEqual({ accountId: 'a' });
  });

  it('turns a destroy after an upsert of the same key into the delete alone', async () => {
    const { fake, request, adapter } = setup();
    fake.rows.set('Interaction:i-1', { payload: {}, keys: keysOf(), consumedAt: null });
    await request(async () => {
      await adapter('Interaction').upsert('i-1', { uid: 'u-1' }, 600);
      await adapter('Interaction').destroy('i-1');
      await adapter('Session').upsert('s-1', { accountId: 'a' }, 60);
    });
    expect(fake.flushes).toHaveLength(1);
    expect(fake.flushes[0]?.map((w) => [w.model, w.id, w.upsert ? 'upsert' : 'delete'])).toEqual([
      ['Interaction', 'i-1', 'delete'],
      ['Session', 's-1', 'upsert'],
    ]);
    expect(fake.rows.has('Interaction:i-1')).toBe(false);
  });

  it('sends what is held before any read, so the request reads its own writes', async () => {
    const { fake, request, adapter } = setup();
    await request(async () => {
      await adapter('Grant').upsert('g-1', { accountId: 'a' }, 60);
      await expect(adapter('Grant').find('g-1')).resolves.toEqual({ accountId: 'a' });
      await adapter('Interaction').upsert('i-1', { uid: 'u-1' }, 600);
      await expect(adapter('Interaction').findByUid('u-1')).resolves.toEqual({ uid: 'u-1' });
      await adapter('Session').destroy('s-0');
      await adapter('AccessToken').revokeByGrantId('g-1');
    });
    expect(fake.calls).toEqual([
      'flush 1',
      'find Grant g-1',
      'flush 1',
      'find Interaction u-1',
      'flush 1',
      'revokeGrant g-1',
    ]);
  });

  it('sends nothing for a read with nothing held, and nothing before reading a client (another table)', async () => {
    const { fake, request, adapter } = setup();
    await request(async () => {
      await adapter('Session').find('s-1');
      await adapter('Session').upsert('s-1', { accountId: 'a' }, 60);
      await adapter('Client').find('app');
    });
    expect(fake.calls).toEqual(['find Session s-1', 'flush 1']);
  });

  it('keeps consume the immediate conditional update (after sending what is held): the race is decided there', async () => {
    const { fake, request, adapter, lost } = setup();
    fake.rows.set('AuthorizationCode:c-1', { payload: {}, keys: keysOf('g-1'), consumedAt: null });
    fake.rows.set('Grant:g-1', { payload: {}, keys: keysOf(), consumedAt: null });
    await request(async () => {
      await adapter('Session').upsert('s-1', { accountId: 'a' }, 60);
      await adapter('AuthorizationCode').consume('c-1');
      expect(fake.calls).toEqual(['flush 1', 'consume AuthorizationCode c-1']);
      // A second redemption of the same code (the loser of a race) still fails and revokes the grant.
      await expect(adapter('AuthorizationCode').consume('c-1')).rejects.toThrow(LostRace);
    });
    expect(fake.calls.slice(2)).toEqual([
      'consume AuthorizationCode c-1',
      'revokeGrantOf AuthorizationCode c-1',
      'revokeGrant g-1',
    ]);
    expect(lost).toEqual([{ model: 'AuthorizationCode', grantId: 'g-1', revoked: 1 }]);
  });

  it('writes ReplayDetection at once even inside a request (a concurrent request must see it)', async () => {
    const { fake, request, adapter } = setup();
    await request(async () => {
      await adapter('ReplayDetection').upsert('jti-1', { iss: 'app' }, 60);
      expect(fake.calls).toEqual(['upsert ReplayDetection jti-1']);
    });
    expect(fake.calls).toEqual(['upsert ReplayDetection jti-1']);
  });

  it('still sends the writes made after an error, then rethrows the error', async () => {
    const { fake, request, adapter } = setup();
    const failure = new Error('invalid_grant');
    await expect(
      request(async () => {
        try {
          throw failure;
        } finally {
          await adapter('Session').upsert('s-1', { accountId: 'a' }, 60);
        }
      }),
    ).rejects.toBe(failure);
    expect(fake.calls).toEqual(['flush 1']);
    expect(fake.rows.has('Session:s-1')).toBe(true);
  });

  it('fails the request with UnsavedOidcWrites (the cause kept) when the final flush fails', async () => {
    const { fake, request, adapter } = setup();
    const down = Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
    fake.failNextFlush = down;
    const outcome = request(async () => {
      await adapter('Session').upsert('s-1', { accountId: 'a' }, 60);
      await adapter('AuthorizationCode').upsert('c-1', { grantId: 'g-1' }, 60);
    });
    await expect(outcome).rejects.toBeInstanceOf(UnsavedOidcWrites);
    await expect(outcome).rejects.toMatchObject({ cause: down });
    expect(fake.rows.size).toBe(0);
  });

  it('fails a read whose flush failed, and every later flush of that request', async () => {
    const { fake, request, adapter } = setup();
    const down = new Error('Connection terminated unexpectedly');
    fake.failNextFlush = down;
    const outcome = request(async () => {
      await adapter('Grant').upsert('g-1', { accountId: 'a' }, 60);
      await expect(adapter('Grant').find('g-1')).rejects.toBe(down);
      // Nothing was read: the request sees neither its write nor stale data.
      expect(fake.calls).toEqual(['flush 1']);
      await adapter('Session').upsert('s-1', { accountId: 'a' }, 60);
    });
    await expect(outcome).rejects.toMatchObject({ cause: down });
    expect(fake.calls).toEqual(['flush 1']);
  });

  it('does not fail a read made after the request ended (e.g. background work) with its failed flush', async () => {
    const { fake, request, adapter } = setup();
    fake.failNextFlush = new Error('Connection terminated unexpectedly');
    let late: Promise<unknown> | undefined;
    const outcome = request(async () => {
      await adapter('Session').upsert('s-1', { accountId: 'a' }, 60);
      late = new Promise<void>((resolve) => setTimeout(resolve, 5)).then(() => adapter('Grant').find('g-1'));
    });
    await expect(outcome).rejects.toBeInstanceOf(UnsavedOidcWrites);
    await expect(late).resolves.toBeUndefined();
    expect(fake.calls).toEqual(['flush 1', 'find Grant g-1']);
  });

  it('writes at once what arrives after the request ended (an un-awaited write), after its flush', async () => {
    const { fake, request, adapter } = setup();
    let late: Promise<void> | undefined;
    await request(async () => {
      await adapter('Session').upsert('s-1', { accountId: 'a' }, 60);
      late = new Promise<void>((resolve) => setTimeout(resolve, 5)).then(() =>
        adapter('Session').destroy('s-1'),
      );
    });
    expect(fake.calls).toEqual(['flush 1']);
    await late;
    expect(fake.calls).toEqual(['flush 1', 'flush 1']);
    expect(fake.flushes[1]).toEqual([{ model: 'Session', id: 's-1' }]);
    expect(fake.rows.has('Session:s-1')).toBe(false);
  });

  it('answers a read of an Interaction it holds from what it holds (the continue step hands its result to the resume)', async () => {
    const { fake, request, adapter } = setup();
    await fake.upsert('Interaction', 'i-1', { uid: 'i-1', result: null }, keysOf());
    fake.calls.length = 0;
    await request(async () => {
      await adapter('Interaction').upsert('i-1', { uid: 'i-1', result: { login: { accountId: 'a' } } }, 600);
      expect(await adapter('Interaction').find('i-1')).toEqual({
        uid: 'i-1',
        result: { login: { accountId: 'a' } },
      });
      await adapter('Interaction').destroy('i-1');
      await adapter('Session').upsert('s-1', { accountId: 'a' }, 60);
    });
    // No read of the database, and the save and the destroy are one delete in the request's one flush.
    expect(fake.calls).toEqual(['flush 2']);
    expect(fake.flushes[0]).toEqual([
      { model: 'Interaction', id: 'i-1' },
      expect.objectContaining({ model: 'Session', id: 's-1' }),
    ]);
    expect(fake.rows.has('Interaction:i-1')).toBe(false);
  });

  it('reads other held models from the database, after sending what it holds (consumed state lives there)', async () => {
    const { fake, request, adapter } = setup();
    await request(async () => {
      await adapter('AuthorizationCode').upsert('c-1', { grantId: 'g-1' }, 60);
      await adapter('AuthorizationCode').find('c-1');
    });
    expect(fake.calls).toEqual(['flush 1', 'findWithGrantAndSession AuthorizationCode c-1']);
  });

  it('joins the unit of work of an enclosing request (a Nest route handing over to oidc-provider) and writes when the inner part ends', async () => {
    const { fake, request, adapter } = setup();
    await request(async () => {
      await adapter('Interaction').upsert('i-1', { uid: 'i-1' }, 600);
      await request(async () => {
        expect(await adapter('Interaction').find('i-1')).toEqual({ uid: 'i-1' });
        await adapter('Interaction').destroy('i-1');
        await adapter('Grant').upsert('g-1', { accountId: 'a' }, 60);
      });
      // Written before the inner part (oidc-provider) answers: one flush for both parts.
      expect(fake.calls).toEqual(['flush 2']);
    });
    expect(fake.calls).toEqual(['flush 2']);
  });

  it('fails the inner part when the shared flush fails, and the enclosing request too', async () => {
    const { fake, request, adapter } = setup();
    fake.failNextFlush = new Error('Connection terminated unexpectedly');
    let inner: unknown;
    const outer = request(async () => {
      await adapter('Interaction').upsert('i-1', { uid: 'i-1' }, 600);
      inner = await request(async () => {
        await adapter('Grant').upsert('g-1', { accountId: 'a' }, 60);
      }).catch((err: unknown) => err);
    });
    await expect(outer).rejects.toBeInstanceOf(UnsavedOidcWrites);
    expect(inner).toBeInstanceOf(UnsavedOidcWrites);
    expect(fake.rows.size).toBe(0);
  });
});

describe('OIDC adapter: a code or token read with its grant and session', () => {
  /** A code issued under grant g-1 and session s-1 (uid u-1), as the token endpoint finds them. */
  const issued = () => {
    const ctx = setup();
    ctx.fake.rows.set('AuthorizationCode:c-1', {
      payload: { grantId: 'g-1', sessionUid: 'u-1', accountId: 'a' },
      keys: keysOf('g-1'),
      consumedAt: null,
    });
    ctx.fake.rows.set('Grant:g-1', { payload: { accountId: 'a' }, keys: keysOf(), consumedAt: null });
    ctx.fake.rows.set('Session:s-1', {
      payload: { accountId: 'a', uid: 'u-1' },
      keys: { ...keysOf(), uid: 'u-1' },
      consumedAt: null,
    });
    return ctx;
  };

  it("reads them in one statement and answers oidc-provider's next two reads from it (the code exchange)", async () => {
    const { fake, request, adapter } = issued();
    await request(async () => {
      await expect(adapter('AuthorizationCode').find('c-1')).resolves.toMatchObject({ grantId: 'g-1' });
      await expect(adapter('Session').findByUid('u-1')).resolves.toEqual({ accountId: 'a', uid: 'u-1' });
      await expect(adapter('Grant').find('g-1')).resolves.toEqual({ accountId: 'a' });
      await adapter('AuthorizationCode').consume('c-1');
    });
    expect(fake.calls).toEqual([
      'findWithGrantAndSession AuthorizationCode c-1',
      'consume AuthorizationCode c-1',
    ]);
  });

  it('carries when each was consumed, and answers "not there" for a grant that is gone', async () => {
    const { fake, request, adapter } = issued();
    const consumedAt = new Date('2026-12-01T10:00:00Z');
    fake.rows.get('AuthorizationCode:c-1')!.consumedAt = consumedAt;
    fake.rows.delete('Grant:g-1');
    await request(async () => {
      await expect(adapter('AuthorizationCode').find('c-1')).resolves.toMatchObject({
        consumed: consumedAt.getTime() / 1000,
      });
      await expect(adapter('Grant').find('g-1')).resolves.toBeUndefined();
    });
    expect(fake.calls).toEqual(['findWithGrantAndSession AuthorizationCode c-1']);
  });

  it('answers each read once; a second read of the same grant goes to the database', async () => {
    const { fake, request, adapter } = issued();
    fake.rows.set('RefreshToken:r-1', { ...fake.rows.get('AuthorizationCode:c-1')! });
    await request(async () => {
      await adapter('RefreshToken').find('r-1');
      await adapter('Grant').find('g-1');
      await adapter('Grant').find('g-1');
    });
    expect(fake.calls).toEqual(['findWithGrantAndSession RefreshToken r-1', 'find Grant g-1']);
  });

  it('drops what it fetched ahead once the request writes, consumes or revokes anything', async () => {
    for (const change of [
      (a: (m: string) => InstanceType<ReturnType<typeof createOidcAdapter>>) =>
        a('Grant').upsert('g-1', {}, 60),
      (a: (m: string) => InstanceType<ReturnType<typeof createOidcAdapter>>) => a('Session').destroy('s-9'),
      (a: (m: string) => InstanceType<ReturnType<typeof createOidcAdapter>>) =>
        a('AuthorizationCode').consume('c-1'),
      (a: (m: string) => InstanceType<ReturnType<typeof createOidcAdapter>>) =>
        a('AccessToken').revokeByGrantId('g-2'),
    ]) {
      const { fake, request, adapter } = issued();
      await request(async () => {
        await adapter('AuthorizationCode').find('c-1');
        await change(adapter);
        await adapter('Grant').find('g-1');
        await adapter('Session').findByUid('u-1');
      });
      expect(fake.calls.filter((c) => c.startsWith('find'))).toEqual([
        'findWithGrantAndSession AuthorizationCode c-1',
        'find Grant g-1',
        'find Session u-1',
      ]);
    }
  });

  it("keeps the user its accountId names for the request's one account lookup, also past the consume", async () => {
    const { fake, request, adapter } = issued();
    const user = { id: 'a', email: 'a@example.com', created_at: '2026-12-01T10:00:00.123456+00:00' };
    fake.accounts.set('a', user);
    const storage = fake as unknown as OidcStorageRepository;
    const seen: unknown[] = [];
    await request(async () => {
      await adapter('AuthorizationCode').find('c-1');
      await adapter('AuthorizationCode').consume('c-1');
      await adapter('Grant').upsert('g-1', {}, 60);
      seen.push(accountFetchedAhead(storage, 'a'), accountFetchedAhead(storage, 'a'));
    });
    // Once (a second lookup goes to the database), and untouched by the request's writes: they change
    // oidc-provider's artefacts, never a user.
    expect(seen).toEqual([user, undefined]);
    expect(fake.calls.filter((c) => c.startsWith('find'))).toEqual([
      'findWithGrantAndSession AuthorizationCode c-1',
    ]);
  });

  it('answers null for an accountId that names no user, and nothing outside a request or for another account', async () => {
    const { fake, request, adapter } = issued();
    const storage = fake as unknown as OidcStorageRepository;
    const seen: unknown[] = [];
    await request(async () => {
      await adapter('AuthorizationCode').find('c-1');
      seen.push(accountFetchedAhead(storage, 'b'), accountFetchedAhead(storage, 'a'));
    });
    expect(seen).toEqual([undefined, null]);
    await adapter('AuthorizationCode').find('c-1');
    expect(accountFetchedAhead(storage, 'a')).toBeUndefined();
  });

  it('reads one row at a time outside a request (nothing to answer later reads from)', async () => {
    const { fake, adapter } = issued();
    await adapter('AuthorizationCode').find('c-1');
    await adapter('Grant').find('g-1');
    expect(fake.calls).toEqual(['find AuthorizationCode c-1', 'find Grant g-1']);
  });
});

function keysOf(grantId: string | null = null): OidcModelKeys {
  return { grantId, userCode: null, uid: null, expiresAt: null };
}
