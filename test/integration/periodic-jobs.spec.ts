import { DataSource } from 'typeorm';
import { PeriodicJobs } from '../../src/database/periodic-jobs';
import { OidcStorageRepository } from '../../src/oidc/oidc-storage.repository';
import { SsoTracesService } from '../../src/audit/sso-traces.service';
import { ConsoleSessionsService } from '../../src/admin/console/console-sessions.service';
import { SamlHousekeeping } from '../../src/saml/saml-housekeeping';
import { createTestConnection } from '../support/saml-flow';
import { databaseKinds, startTestApp, TestApp } from '../support/test-app';

describe.each(databaseKinds())('periodic jobs on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(kind);
  });
  afterAll(async () => t?.close());

  it('runs a job exactly once per period across instances', async () => {
    const ds = t.app.get(DataSource);
    const instances = [new PeriodicJobs(ds), new PeriodicJobs(ds), new PeriodicJobs(ds)];
    let runs = 0;
    const job = { name: `test-job-${kind}`, periodMs: 1500, run: async () => void runs++ };
    const first = await Promise.all(instances.map((i) => i.runIfDue(job)));
    expect(first.filter(Boolean)).toHaveLength(1);
    const again = await Promise.all(instances.map((i) => i.runIfDue(job)));
    expect(again.filter(Boolean)).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 1600));
    const next = await Promise.all(instances.map((i) => i.runIfDue(job)));
    expect(next.filter(Boolean)).toHaveLength(1);
    expect(runs).toBe(2);
  });

  it('waits a full period before the first run of a job that does not start immediately', async () => {
    const jobs = new PeriodicJobs(t.app.get(DataSource));
    const job = {
      name: `late-job-${kind}`,
      periodMs: 60_000,
      startImmediately: false,
      run: async () => undefined,
    };
    await expect(jobs.runIfDue(job)).resolves.toBe(false);
  });

  it('purges expired OIDC artefacts and keeps live ones', async () => {
    const ds = t.app.get(DataSource);
    await ds.query(
      `INSERT INTO oidc_models (model, id, payload, expires_at) VALUES
        ('AccessToken', 'old', '{}', now() - interval '1 minute'), ('AccessToken', 'live', '{}', now() + interval '1 hour')`,
    );
    expect(await t.app.get(OidcStorageRepository).deleteExpired()).toBeGreaterThanOrEqual(1);
    const left: Array<{ id: string }> = await ds.query(
      `SELECT id FROM oidc_models WHERE id IN ('old', 'live')`,
    );
    expect(left.map((r) => r.id)).toEqual(['live']);
  });

  it('purges expired SAML state, old login sessions, console sessions and SSO traces, and keeps the rest', async () => {
    const ds = t.app.get(DataSource);
    const conn = await createTestConnection(t, `retention-${kind}`);
    const [user] = await ds.query(
      `INSERT INTO users (connection_id, subject, email) VALUES ($1, 'ret-1', 'ret@example.com') RETURNING id`,
      [conn.id],
    );
    const session = (id: string, expires: string, ended: string | null) =>
      ds.query(
        `INSERT INTO login_sessions (id, user_id, connection_id, name_id, expires_at, ended_at)
         VALUES ($1, $2, $3, 'ret-1', now() + $4::interval, now() + $5::interval)`,
        [id.padEnd(64, '0'), user.id, conn.id, expires, ended],
      );
    await session('live', '8 hours', null);
    await session('justended', '8 hours', '-5 minutes');
    await session('ended', '8 hours', '-2 hours');
    await session('expired', '-2 hours', null);
    await ds.query(
      `INSERT INTO sso_traces (connection_id, created_at, kind, outcome) VALUES
        ($1, now() - interval '15 days', 'login', 'failure'), ($1, now() - interval '1 day', 'login', 'failure')`,
      [conn.id],
    );
    await ds.query(
      `INSERT INTO saml_replay_cache (connection_id, assertion_id, expires_at) VALUES
        ($1, 'gone', now() - interval '1 second'), ($1, 'kept', now() + interval '5 minutes')`,
      [conn.id],
    );
    // Each module purges its own tables (each registers its own periodic job).
    const purged = await t.app.get(SamlHousekeeping).purgeExpired();
    expect(purged).toMatchObject({ sessions: 2, replay: 1 });
    expect(await t.app.get(SsoTracesService).purgeExpired()).toBeGreaterThanOrEqual(1);
    const tag = `ret-${kind}`;
    await ds.query(
      `INSERT INTO admin_console_sessions (token_hash, csrf_token, admin_kind, admin_id, admin_name, expires_at, ended_at)
       VALUES (md5($1 || 'old') || md5($1 || 'old'), 'c', 'bootstrap', $1, 'old', now() + interval '1 hour', now() - interval '2 days'),
              (md5($1 || 'live') || md5($1 || 'live'), 'c', 'bootstrap', $1, 'live', now() + interval '1 hour', NULL)`,
      [tag],
    );
    await ds.query(
      `INSERT INTO admin_console_signin_failures (client, failures, window_started_at)
       VALUES ($1 || '-old', 3, now() - interval '2 days'), ($1 || '-new', 3, now())`,
      [tag],
    );
    const consolePurged = await t.app.get(ConsoleSessionsService).purgeExpired();
    expect(consolePurged.consoleSessions).toBeGreaterThanOrEqual(1);
    expect(consolePurged.signInCounters).toBeGreaterThanOrEqual(1);
    const consoleLeft: Array<{ admin_name: string }> = await ds.query(
      `SELECT admin_name FROM admin_console_sessions WHERE admin_id = $1`,
      [tag],
    );
    expect(consoleLeft.map((r) => r.admin_name)).toEqual(['live']);
    const countersLeft: Array<{ client: string }> = await ds.query(
      `SELECT client FROM admin_console_signin_failures WHERE client LIKE $1 || '-%'`,
      [tag],
    );
    expect(countersLeft.map((r) => r.client)).toEqual([`${tag}-new`]);
    const sessions: Array<{ id: string }> = await ds.query(
      `SELECT rtrim(id, '0') AS id FROM login_sessions WHERE user_id = $1 ORDER BY id`,
      [user.id],
    );
    expect(sessions.map((r) => r.id)).toEqual(['justended', 'live']);
    const [{ traces }] = await ds.query(
      `SELECT count(*)::int AS traces FROM sso_traces WHERE connection_id = $1`,
      [conn.id],
    );
    expect(traces).toBe(1);
    const replay: Array<{ assertion_id: string }> = await ds.query(
      `SELECT assertion_id FROM saml_replay_cache WHERE connection_id = $1`,
      [conn.id],
    );
    expect(replay.map((r) => r.assertion_id)).toEqual(['kept']);
  });
});
