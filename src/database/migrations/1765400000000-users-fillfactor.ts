import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Room on each page of `users` for the updates a user row keeps getting (the login's profile and
 * last_login_at, directory sync's resource and groups claim), none of which changes an indexed column: with
 * room on the page PostgreSQL updates the row in place (a HOT update) instead of writing a new entry into
 * each of its five indexes. Pages written from now on keep the room; existing ones as they are rewritten.
 */
export class UsersFillfactor1765400000000 implements MigrationInterface {
  name = 'UsersFillfactor1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users SET (fillfactor = 80)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users RESET (fillfactor)`);
  }
}
