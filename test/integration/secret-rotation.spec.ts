import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Transactions } from '../../src/database/transactions';
import { resealAll } from '../../src/keys/reseal';
import { SecretBox } from '../../src/keys/secret-box';
import { createTestConnection } from '../support/saml-flow';
import { createTestDatabase, postgresAvailable, startTestApp, TEST_BRIDGE_SECRET } from '../support/test-app';
import { need } from '../support/defined';

const NEW_SECRET = 'rotated-bridge-secret-abcdefghijklmnopqrstuvwxyz0123';

/** BRIDGE_SECRET rotation: run with both secrets, re-seal every private key, then run with the new one alone. */
(postgresAvailable() ? describe : describe.skip)('BRIDGE_SECRET rotation', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  const start = (env: Record<string, string>) => startTestApp('embedded', { DATABASE_URL: db.url, ...env });

  /** Uses both kinds of sealed key: an OIDC signing key (a token) and an SP key (a signed AuthnRequest). */
  async function useKeys(t: Awaited<ReturnType<typeof start>>, slug: string, client: Record<string, string>) {
    const login = await t.http().get(`/saml/${slug}/login`).expect(303);
    expect(new URL(login.headers.location as string).searchParams.get('Signature')).toBeTruthy();
    const token = await t
      .http()
      .post('/oidc/token')
      .auth(need(client.clientId), need(client.clientSecret))
      .type('form')
      .send({ grant_type: 'client_credentials', scope: 'api' })
      .expect(200);
    expect(token.body.access_token.split('.')).toHaveLength(3);
  }

  it('keeps every key usable through the rotation and refuses a wrong secret clearly', async () => {
    const before = await start({});
    const conn = await createTestConnection(before, 'rotating', { options: { signAuthnRequests: true } });
    const client = (
      await before.admin
        .post('/api/v1/clients')
        .send({ name: 'Batch', grantTypes: ['client_credentials'] })
        .expect(201)
    ).body as Record<string, string>;
    await useKeys(before, conn.slug, client);
    await before.close();

    // The new secret alone cannot open the keys sealed with the old one: the bridge refuses to start.
    await expect(start({ BRIDGE_SECRET: NEW_SECRET })).rejects.toThrow(/BRIDGE_SECRET/);

    // Step 1: every instance runs with the new secret and the previous one.
    const during = await start({ BRIDGE_SECRET: NEW_SECRET, BRIDGE_SECRET_PREVIOUS: TEST_BRIDGE_SECRET });
    await useKeys(during, conn.slug, client);

    // A wrong previous secret changes nothing.
    const wrongBox = new SecretBox(NEW_SECRET, randomBytes(24).toString('base64'));
    const ds = during.app.get(DataSource);
    const transactions = during.app.get(Transactions);
    const sealedBefore = await ds.query('SELECT private_key_sealed FROM sp_keys ORDER BY id');
    await expect(resealAll(transactions, wrongBox)).rejects.toThrow(/cannot be decrypted/);
    expect(await ds.query('SELECT private_key_sealed FROM sp_keys ORDER BY id')).toEqual(sealedBefore);

    // Step 2: re-seal everything (what `npm run rotate-secret` does), idempotently.
    const box = new SecretBox(NEW_SECRET, TEST_BRIDGE_SECRET);
    const report = await resealAll(transactions, box);
    expect(report.resealed.sp_keys).toBeGreaterThanOrEqual(1);
    expect(report.resealed.oidc_signing_keys).toBeGreaterThanOrEqual(2);
    expect(Object.values(report.current)).toEqual([0, 0, 0]);
    const again = await resealAll(transactions, box);
    expect(Object.values(again.resealed)).toEqual([0, 0, 0]);
    await during.close();

    // Step 3: the new secret alone opens everything.
    const after = await start({ BRIDGE_SECRET: NEW_SECRET });
    await useKeys(after, conn.slug, client);
    await after.close();
  });
});
