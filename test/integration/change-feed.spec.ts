import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { ConnectionLookup } from '../../src/connections/connection-lookup';
import { ChangeFeed } from '../../src/database/change-feed';
import { OidcClientsService } from '../../src/oidc/oidc-clients.service';
import { SpKeysService } from '../../src/keys/sp-keys.service';
import { createTestConnection } from '../support/saml-flow';
import { databaseKinds, startTestApp, TestApp } from '../support/test-app';

/** Waits (bounded) until `ready` holds; the wait is not what is tested. */
async function until(ready: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Per-instance caches of connections, apps and SP keys (the login path's hot reads) are dropped when the
 * table changes on any instance, whoever writes it: PostgreSQL triggers NOTIFY on commit, every instance
 * LISTENs (ChangeFeed); the embedded database's one session LISTENs too. Without the listener (down)
 * nothing is cached.
 */
describe.each(databaseKinds())('change feed and caches on %s', (kind) => {
  let t: TestApp;
  let feed: ChangeFeed;
  let lookup: ConnectionLookup;
  let sql: Client | undefined;

  beforeAll(async () => {
    t = await startTestApp(kind);
    feed = t.app.get(ChangeFeed);
    lookup = t.app.get(ConnectionLookup);
    if (kind === 'postgres') {
      // Another writer than the bridge: plain SQL on its own connection.
      sql = new Client({ connectionString: t.config.databaseUrl });
      await sql.connect();
    }
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  if (kind === 'embedded') {
    it('caches on the embedded database, and sees every write at once (the one session LISTENs)', async () => {
      const conn = await createTestConnection(t, 'embedded-feed');
      expect(feed.live).toBe(true);
      const first = await lookup.bySlug('embedded-feed');
      expect(first?.enabled).toBe(true);
      expect(await lookup.bySlug('embedded-feed')).toBe(first);
      // Through the API (TypeORM entities).
      await t.admin.patch(`/api/v1/connections/${conn.id}`).send({ enabled: false }).expect(200);
      const disabled = await lookup.bySlug('embedded-feed');
      expect(disabled?.enabled).toBe(false);
      expect(await lookup.bySlug('embedded-feed')).toBe(disabled);
      // Plain SQL on a pooled connection, which no entity subscriber sees: only the notification tells.
      const stamp = feed.stamp(['connections']);
      await t.app
        .get(DataSource)
        .query(`UPDATE connections SET name = 'Renamed by SQL' WHERE id = $1`, [conn.id]);
      expect(feed.stamp(['connections'])).not.toBe(stamp);
      // Every commit's notification comes with its answer: the barrier's marker too.
      await feed.caughtUp();
      expect((await lookup.bySlug('embedded-feed'))?.name).toBe('Renamed by SQL');
      const res = await t.http().get('/saml/embedded-feed/login');
      expect(res.status).toBe(403);
      expect(res.text).toContain('saml_connection_disabled');
    });
    return;
  }

  it('listens, and a change made with plain SQL moves the table stamp and drops the cached row', async () => {
    const conn = await createTestConnection(t, 'feed-sql');
    await until(() => feed.live, 'the listener');
    // Every notification committed so far heard: the set-up's own writes move the stamps at once and again
    // when their NOTIFY arrives over the LISTEN connection, which may be after the first cached read.
    await feed.caughtUp();
    const before = await lookup.bySlug('feed-sql');
    expect(before?.enabled).toBe(true);
    // Cached: the same (frozen) object while nothing changes.
    expect(await lookup.bySlug('feed-sql')).toBe(before);
    expect(Object.isFrozen(before)).toBe(true);
    expect(() => {
      (before as { enabled: boolean }).enabled = false;
    }).toThrow(TypeError);

    // The barrier's own marker announces no table: the stamps stay while nothing changes.
    const stamp = feed.stamp(['connections']);
    await feed.caughtUp();
    expect(feed.stamp(['connections'])).toBe(stamp);
    await sql?.query(`UPDATE connections SET enabled = false WHERE id = $1`, [conn.id]);
    // Another writer's commit is heard by the time the barrier returns (notifications come in commit order).
    await feed.caughtUp();
    expect(feed.stamp(['connections'])).not.toBe(stamp);
    const after = await lookup.bySlug('feed-sql');
    expect(after?.enabled).toBe(false);
    // The login path sees it: the connection is refused as disabled.
    const res = await t.http().get('/saml/feed-sql/login');
    expect(res.status).toBe(403);
    expect(res.text).toContain('saml_connection_disabled');
  });

  it("reads its own writes at once, without waiting for the write's notification to come back", async () => {
    const conn = await createTestConnection(t, 'feed-own-write');
    await until(() => feed.live, 'the listener');
    expect((await lookup.bySlug('feed-own-write'))?.enabled).toBe(true);
    // The listener hears nothing from now on: only the write itself can drop the cached row.
    const listener = (feed as unknown as { client: Client }).client;
    const heard = listener.listeners('notification');
    listener.removeAllListeners('notification');
    try {
      await t.admin.patch(`/api/v1/connections/${conn.id}`).send({ enabled: false }).expect(200);
      expect((await lookup.bySlug('feed-own-write'))?.enabled).toBe(false);
      const res = await t.http().get('/saml/feed-own-write/login');
      expect(res.status).toBe(403);
      expect(res.text).toContain('saml_connection_disabled');
      await t.admin.patch(`/api/v1/connections/${conn.id}`).send({ enabled: true }).expect(200);
      expect((await lookup.bySlug('feed-own-write'))?.enabled).toBe(true);
    } finally {
      for (const h of heard) listener.on('notification', h as (...args: unknown[]) => void);
    }
  });

  it('drops cached apps and SP keys when their tables change', async () => {
    const clients = t.app.get(OidcClientsService);
    const created = await t.admin
      .post('/api/v1/clients')
      .send({ name: 'Feed app', redirectUris: ['https://app.feed.test/cb'] })
      .expect(201);
    const clientId = created.body.clientId as string;
    await feed.caughtUp();
    const first = await clients.find(clientId);
    expect(await clients.find(clientId)).toBe(first);
    const stamp = feed.stamp(['oidc_clients']);
    await sql?.query(`UPDATE oidc_clients SET name = 'Renamed by SQL' WHERE client_id = $1`, [clientId]);
    await feed.caughtUp();
    expect(feed.stamp(['oidc_clients'])).not.toBe(stamp);
    expect((await clients.find(clientId))?.name).toBe('Renamed by SQL');

    const conn = await createTestConnection(t, 'feed-keys');
    const keys = t.app.get(SpKeysService);
    const ring = await keys.ring(conn.id);
    expect(ring.next).toBeUndefined();
    await t.admin
      .post(`/api/v1/connections/${conn.id}/sp-keys/next`)
      .expect((r) => expect([200, 201]).toContain(r.status));
    // The API's own instance: the notification arrives before the next request can be served.
    await until(async () => (await keys.ring(conn.id)).next !== undefined, 'the new next key');
    expect((await keys.ring(conn.id)).current.id).toBe(ring.current.id);
  });

  it('bypasses the caches while the listener is down, and resumes after it reconnects', async () => {
    const conn = await createTestConnection(t, 'feed-down');
    await until(() => feed.live, 'the listener');
    await feed.caughtUp();
    const cached = await lookup.bySlug('feed-down');
    // A barrier waiting when the listener is lost returns then: its marker will never be heard.
    (feed as unknown as { client: Client }).client.removeAllListeners('notification');
    const waiting = feed.caughtUp();
    await sql?.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'saml-bridge-changes' AND datname = current_database()`,
    );
    await waiting;
    expect(feed.live).toBe(false);
    expect(feed.stamp(['connections'])).toBeUndefined();
    // Nothing is cached, so there is nothing to catch up on: the barrier does not wait for the listener.
    await feed.caughtUp();
    // A change no notification announces (the listener is gone) is still seen: nothing is cached.
    await sql?.query(`UPDATE connections SET name = 'Changed while down' WHERE id = $1`, [conn.id]);
    const fresh = await lookup.bySlug('feed-down');
    expect(fresh).not.toBe(cached);
    expect(fresh?.name).toBe('Changed while down');
    await until(() => feed.live, 'the listener to reconnect');
    const again = await lookup.bySlug('feed-down');
    expect(again?.name).toBe('Changed while down');
    expect(await lookup.bySlug('feed-down')).toBe(again);
  });
});
