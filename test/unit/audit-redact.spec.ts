import { canonicalJson, eventHash, GENESIS_HASH } from '../../src/audit/audit-hash';
import { changeSet, REDACTED, redactSecrets } from '../../src/audit/redact';

describe('audit canonical JSON and hash', () => {
  it('sorts keys recursively, keeps array order, drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, e: null })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1,"e":null}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });

  it('hashes every field: changing any one changes the hash', () => {
    const base = {
      seq: 7,
      id: '00000000-0000-4000-8000-000000000001',
      prevHash: GENESIS_HASH,
      occurredAt: '2026-11-23T07:00:00.123Z',
      type: 'connection.updated',
      actor: { type: 'admin-key', id: 'k1', name: 'ops' },
      connectionId: null,
      userId: null,
      clientId: null,
      requestId: 'r1',
      ip: '127.0.0.1',
      data: { before: { a: 1 }, after: { a: 2 } },
    };
    const hash = eventHash(base);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(eventHash({ ...base, data: { after: { a: 2 }, before: { a: 1 } } })).toBe(hash);
    const variants = [
      { ...base, seq: 8 },
      { ...base, id: '00000000-0000-4000-8000-000000000002' },
      { ...base, prevHash: 'f'.repeat(64) },
      { ...base, occurredAt: '2026-11-23T07:00:00.124Z' },
      { ...base, type: 'connection.deleted' },
      { ...base, actor: { ...base.actor, name: 'someone' } },
      { ...base, connectionId: '00000000-0000-4000-8000-000000000003' },
      { ...base, requestId: 'r2' },
      { ...base, ip: '10.0.0.1' },
      { ...base, data: { before: { a: 1 }, after: { a: 3 } } },
    ];
    for (const v of variants) expect(eventHash(v)).not.toBe(hash);
  });
});

describe('audit redaction', () => {
  it('redacts secrets by member name, keeping whether there is one', () => {
    expect(
      redactSecrets({
        secretHash: 'abc',
        clientSecret: 'sbs_x',
        keyHash: 'h',
        privateKeySealed: 'sealed',
        privateJwkSealed: 'sealed',
        password: 'p',
        sessionToken: 't',
        samlResponse: 'PHNhbWw+',
        assertion: '<saml:Assertion/>',
        noSecret: null,
        lifetimes: { accessTokenSeconds: 300 },
        accessTokenFormat: 'jwt',
        name: 'kept',
      }),
    ).toEqual({
      secretHash: REDACTED,
      clientSecret: REDACTED,
      keyHash: REDACTED,
      privateKeySealed: REDACTED,
      privateJwkSealed: REDACTED,
      password: REDACTED,
      sessionToken: REDACTED,
      samlResponse: REDACTED,
      assertion: REDACTED,
      noSecret: null,
      lifetimes: { accessTokenSeconds: 300 },
      accessTokenFormat: 'jwt',
      name: 'kept',
    });
  });

  it('redacts recognisable secret values whatever the member, and private JWK members', () => {
    const out = redactSecrets({
      note: '-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----',
      k: 'sbk_' + 'a'.repeat(43),
      list: ['sbs_' + 'b'.repeat(43), 'plain'],
      jwk: { kty: 'RSA', n: 'modulus', e: 'AQAB', d: 'private', p: 'x', q: 'y' },
    });
    expect(out).toEqual({
      note: REDACTED,
      k: REDACTED,
      list: [REDACTED, 'plain'],
      jwk: { kty: 'RSA', n: 'modulus', e: 'AQAB', d: REDACTED, p: REDACTED, q: REDACTED },
    });
  });

  it('summarises long documents, normalises dates and text PostgreSQL jsonb cannot keep', () => {
    const out = redactSecrets({
      xml: '<x>'.padEnd(5000, 'y'),
      at: new Date('2026-01-02T03:04:05.678Z'),
      bad: 'a\u0000b\udc00',
      n: Number.NaN,
      skip: undefined,
    });
    expect(out.xml).toMatch(/^\[5000 chars, sha256:[0-9a-f]{64}\]$/);
    expect(out).toMatchObject({ at: '2026-01-02T03:04:05.678Z', bad: 'ab\ufffd', n: null });
    expect('skip' in out).toBe(false);
  });

  it('changeSet keeps only what changed, and shows a changed secret as changed but redacted', () => {
    expect(
      changeSet(
        { name: 'a', domains: ['x'], secretHash: 'h1', same: { deep: 1 } },
        { name: 'a', domains: ['x', 'y'], secretHash: 'h2', same: { deep: 1 } },
      ),
    ).toEqual({
      before: { domains: ['x'], secretHash: REDACTED },
      after: { domains: ['x', 'y'], secretHash: REDACTED },
    });
    expect(changeSet({ a: 1 }, { a: 1 })).toBeUndefined();
  });
});
