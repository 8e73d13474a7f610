import type { MigrationInterface, QueryRunner } from 'typeorm';

/** When each periodic job last ran, so that a job runs once per period whatever the number of instances. */
export class ScheduledJobs1764200000000 implements MigrationInterface {
  name = 'ScheduledJobs1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE scheduled_jobs (
        name varchar(64) PRIMARY KEY,
        last_run_at timestamptz NOT NULL,
        last_instance varchar(128)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE scheduled_jobs`);
  }
}
