import { DataSource } from 'typeorm';
import { need } from '../support/defined';
import { TcpProxy } from '../support/tcp-proxy';
import {
  createTestDatabase,
  databaseKinds,
  postgresAvailable,
  startTestApp,
  TestApp,
} from '../support/test-app';

describe.each(databaseKinds())('health, docs and admin API keys on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(kind);
  });
  afterAll(async () => t?.close());

  it('answers /healthz and /readyz without credentials', async () => {
    await t.http().get('/healthz').expect(200, { status: 'ok' });
    const ready = await t.http().get('/readyz').expect(200);
    expect(ready.headers['cache-control']).toBe('no-store');
    expect(ready.body).toMatchObject({
      status: 'ok',
      info: { database: { status: 'up', mode: kind }, migrations: { status: 'up' } },
      error: {},
    });
    expect(ready.body.info.migrations.applied).toBeGreaterThan(5);
  });

  it('is not ready while a migration of this build is missing from the database', async () => {
    const ds = t.app.get(DataSource);
    const [lastRow] = (await ds.query(
      'SELECT name, timestamp FROM schema_migrations ORDER BY timestamp DESC LIMIT 1',
    )) as Array<{ name: string; timestamp: string }>;
    const last = need(lastRow);
    await ds.query('DELETE FROM schema_migrations WHERE name = $1', [last.name]);
    try {
      const res = await t.http().get('/readyz').expect(503);
      expect(res.body.status).toBe('error');
      expect(res.body.info.database.status).toBe('up');
      expect(res.body.error.migrations).toEqual({
        status: 'down',
        reason: 'migrations pending',
        pending: [last.name],
      });
    } finally {
      await ds.query('INSERT INTO schema_migrations (timestamp, name) VALUES ($1, $2)', [
        last.timestamp,
        last.name,
      ]);
    }
    await t.http().get('/readyz').expect(200);
  });

  it('serves the OpenAPI document for the admin API at /docs', async () => {
    const html = await t.http().get('/docs').expect(200);
    expect(html.text).toContain('swagger');
    const doc = await t.http().get('/docs/openapi.json').expect(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/connections',
        '/api/v1/connections/{id}',
        '/api/v1/connections/{id}/metadata',
      ]),
    );
    expect(doc.body.components.schemas.CreateConnectionDto.required).toEqual(
      expect.arrayContaining(['slug', 'name']),
    );
  });

  it('sends security headers and a request id', async () => {
    const res = await t.http().get('/healthz').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await t.http().get('/healthz').set('x-request-id', 'lb-123').expect(200);
    expect(echoed.headers['x-request-id']).toBe('lb-123');
  });

  it('refuses every admin endpoint without a valid key', async () => {
    for (const [method, path] of [
      ['get', '/api/v1/connections'],
      ['post', '/api/v1/connections'],
      ['get', '/api/v1/connections/00000000-0000-0000-0000-000000000000'],
      ['patch', '/api/v1/connections/00000000-0000-0000-0000-000000000000'],
      ['delete', '/api/v1/connections/00000000-0000-0000-0000-000000000000'],
      ['put', '/api/v1/connections/00000000-0000-0000-0000-000000000000/metadata'],
      ['get', '/api/v1/api-keys'],
      ['post', '/api/v1/api-keys'],
    ] as const) {
      const none = await t.http()[method](path).expect(401);
      expect(none.body.code).toBe('unauthorized');
      expect(none.headers['www-authenticate']).toContain('Bearer');
      const wrong = await t.http()[method](path).set('Authorization', 'Bearer sbk_wrong').expect(401);
      expect(wrong.body.code).toBe('invalid_api_key');
    }
    await t.http().get('/api/v1/connections').set('Authorization', 'Basic abc').expect(401);
  });

  it('creates API keys that work, are stored hashed, shown once, and stop working when revoked', async () => {
    const created = await t.admin.post('/api/v1/api-keys').send({ name: 'terraform' }).expect(201);
    const key: string = created.body.key;
    expect(key).toMatch(/^sbk_[A-Za-z0-9_-]{43}$/);
    const useKey = () => t.http().get('/api/v1/connections').set('Authorization', `Bearer ${key}`);
    await useKey().expect(200);

    const list = await t.admin.get('/api/v1/api-keys').expect(200);
    expect(JSON.stringify(list.body)).not.toContain(key);
    const listed = list.body.items.find((k: { id: string }) => k.id === created.body.id);
    expect(listed).toMatchObject({ name: 'terraform', keyPrefix: key.slice(0, 12), revokedAt: null });
    expect(listed.lastUsedAt).not.toBeNull();

    const { DataSource } = await import('typeorm');
    const rows = await t.app
      .get(DataSource)
      .query('SELECT key_hash FROM admin_api_keys WHERE id = $1', [created.body.id]);
    expect(rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0].key_hash).not.toContain(key);

    await t.admin.delete(`/api/v1/api-keys/${created.body.id}`).expect(200);
    const refused = await useKey().expect(401);
    expect(refused.body.code).toBe('invalid_api_key');
    await t.admin.post('/api/v1/api-keys').send({}).expect(400);
  });
});

(postgresAvailable() ? describe : describe.skip)('readiness while PostgreSQL is unreachable', () => {
  it('goes false (503) while the database is down and recovers by itself', async () => {
    const db = await createTestDatabase();
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(db.url).port || 5432));
    const port = await proxy.start();
    const url = new URL(db.url);
    url.host = `127.0.0.1:${port}`;
    const t = await startTestApp('embedded', { DATABASE_URL: url.toString() });
    try {
      await t.http().get('/readyz').expect(200);
      await proxy.stop();
      const down = await t.http().get('/readyz').expect(503);
      expect(down.body.status).toBe('error');
      expect(down.body.error.database.status).toBe('down');
      expect(down.body.error.migrations.status).toBe('down');
      await t.http().get('/healthz').expect(200);
      const api = await t.admin.get('/api/v1/connections');
      expect(api.status).toBe(503);
      expect(api.body.code).toBe('database_unavailable');
      expect(api.body.stack).toBeUndefined();

      await proxy.start(port);
      const deadline = Date.now() + 10_000;
      let status = 0;
      while (Date.now() < deadline) {
        status = (await t.http().get('/readyz')).status;
        if (status === 200) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(status).toBe(200);
      await t.admin.get('/api/v1/connections').expect(200);
    } finally {
      await t.close();
      await proxy.stop();
      await db.drop();
    }
  });
});
