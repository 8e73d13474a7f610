import type { Statements } from '../../src/database/statements';
import { createOidcAdapter, type LostRedemption } from '../../src/oidc/oidc-adapter';
import { OidcStorageRepository } from '../../src/oidc/oidc-storage.repository';

/** A Statements stand-in that answers each named statement from a script and records what ran. */
function fakeStatements(answers: Record<string, unknown[]>) {
  const ran: Array<{ name: string; values: unknown[] }> = [];
  const statements = {
    rows: (name: string, _text: string, values: unknown[]) => {
      ran.push({ name, values });
      return Promise.resolve(answers[name] ?? []);
    },
  } as unknown as Statements;
  return { statements, ran };
}

class LostRace extends Error {}

describe('OIDC adapter: consuming a single-use artefact', () => {
  const setup = (answers: Record<string, unknown[]>) => {
    const { statements, ran } = fakeStatements(answers);
    const lost: LostRedemption[] = [];
    const Adapter = createOidcAdapter(new OidcStorageRepository(statements), () => Promise.resolve(null), {
      lostRedemptionError: (model) => new LostRace(model),
      lostRedemption: (l) => {
        lost.push(l);
        return Promise.resolve();
      },
    });
    return { adapter: new Adapter('AuthorizationCode'), ran, lost };
  };

  it('returns when the conditional update marked it used (this redemption won)', async () => {
    const { adapter, ran, lost } = setup({ oidc_consume: [{ '?column?': 1 }] });
    await expect(adapter.consume('code-1')).resolves.toBeUndefined();
    expect(ran.map((r) => r.name)).toEqual(['oidc_consume']);
    expect(ran[0]?.values).toEqual(['AuthorizationCode', 'code-1']);
    expect(lost).toEqual([]);
  });

  it('revokes the grant, reports it and fails when another redemption had marked it first', async () => {
    const { adapter, ran, lost } = setup({
      oidc_consume: [],
      oidc_revoke_lost_redemption: [{ grant_id: 'g-1' }, { grant_id: 'g-1' }, { grant_id: 'g-1' }],
    });
    await expect(adapter.consume('code-1')).rejects.toThrow(LostRace);
    expect(ran.map((r) => r.name)).toEqual(['oidc_consume', 'oidc_revoke_lost_redemption']);
    expect(lost).toEqual([{ model: 'AuthorizationCode', grantId: 'g-1', revoked: 3 }]);
  });

  it('still fails (and reports no grant) when the artefact was already revoked and gone', async () => {
    const { adapter, lost } = setup({ oidc_consume: [], oidc_revoke_lost_redemption: [] });
    await expect(adapter.consume('code-2')).rejects.toThrow(LostRace);
    expect(lost).toEqual([{ model: 'AuthorizationCode', grantId: null, revoked: 0 }]);
  });
});
