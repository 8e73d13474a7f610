import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { createApp } from '../../src/app.factory';
import { BridgeConfig, loadConfig } from '../../src/config/bridge-config';
import { createRootLogger } from '../../src/logging/logger';

export type DatabaseKind = 'postgres' | 'embedded';
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef';
export const TEST_BRIDGE_SECRET = 'test-bridge-secret-0123456789abcdef0123456789';
export const FIXTURES = join(__dirname, '..', '..', '..', 'shared', 'fixtures', 'real-idp');

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export function postgresAvailable(): boolean {
  return process.env.TEST_POSTGRES_AVAILABLE === '1';
}

/** The database kinds to run an integration suite against: real PostgreSQL when reachable, and embedded. */
export function databaseKinds(): [DatabaseKind, ...DatabaseKind[]] {
  return postgresAvailable() ? ['postgres', 'embedded'] : ['embedded'];
}

/** A fresh, empty PostgreSQL database for one suite; dropped by `drop()`. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `bridge_test_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestApp {
  app: NestExpressApplication;
  config: BridgeConfig;
  http: () => ReturnType<typeof request>;
  /** supertest with the admin key already set. */
  admin: {
    get: (path: string) => request.Test;
    post: (path: string) => request.Test;
    put: (path: string) => request.Test;
    patch: (path: string) => request.Test;
    delete: (path: string) => request.Test;
  };
  close: () => Promise<void>;
}

export function testConfig(env: Record<string, string | undefined>, dir: string): BridgeConfig {
  return loadConfig(
    {
      NODE_ENV: 'test',
      BASE_URL: 'http://bridge.test',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      BRIDGE_SECRET: TEST_BRIDGE_SECRET,
      DATA_DIR: join(dir, 'data'),
      CERTS_DIR: join(dir, 'certs'),
      METADATA_SCHEDULER_SECONDS: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...env,
    },
    dir,
  );
}

/** Starts the whole bridge in-process on the given database kind, listening on an ephemeral port. */
export async function startTestApp(
  kind: DatabaseKind,
  env: Record<string, string> = {},
  logDestination?: { write: (line: string) => void },
  /** listen: serve on a real port; baseHost 'localhost' makes the bridge another site than 127.0.0.1 (e2e). */
  options: { listen?: boolean; baseHost?: 'localhost' | '127.0.0.1' } = {},
): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-test-'));
  const db = kind === 'postgres' ? await createTestDatabase() : undefined;
  const port = options.listen ? await freePort() : undefined;
  const host = options.baseHost ?? '127.0.0.1';
  const listening = port ? { BASE_URL: `http://${host}:${port}`, PORT: String(port) } : {};
  const config = testConfig({ DATABASE_URL: db?.url, ...listening, ...env }, dir);
  const logger = logDestination
    ? createRootLogger('debug', logDestination)
    : createRootLogger(config.logLevel);
  const app = await createApp({ config, logger });
  // 'localhost' may resolve to ::1 or 127.0.0.1 in the browser: listen on every loopback address then.
  try {
    if (port && host === 'localhost') await app.listen(port);
    else if (port) await app.listen(port, '127.0.0.1');
    else await app.init();
  } catch (err) {
    // A start that fails (e.g. a wrong BRIDGE_SECRET) must not leave connections or timers behind.
    await app.close().catch(() => undefined);
    await db?.drop();
    throw err;
  }
  const server = app.getHttpServer();
  const auth = (t: request.Test) => t.set('Authorization', `Bearer ${TEST_ADMIN_KEY}`);
  return {
    app,
    config,
    http: () => request(server),
    admin: {
      get: (p) => auth(request(server).get(p)),
      post: (p) => auth(request(server).post(p)),
      put: (p) => auth(request(server).put(p)),
      patch: (p) => auth(request(server).patch(p)),
      delete: (p) => auth(request(server).delete(p)),
    },
    close: async () => {
      await app.close();
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
