import { DataSource } from 'typeorm';
import { PeriodicJobs } from '../../src/database/periodic-jobs';
import { purgeExpiredOidcModels } from '../../src/oidc/oidc-adapter';
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
    expect(await purgeExpiredOidcModels(ds)).toBeGreaterThanOrEqual(1);
    const left: Array<{ id: string }> = await ds.query(
      `SELECT id FROM oidc_models WHERE id IN ('old', 'live')`,
    );
    expect(left.map((r) => r.id)).toEqual(['live']);
  });
});
