import 'reflect-metadata';
import { ConfigValidationError, loadConfig } from '../config/bridge-config';
import { Database } from '../database/database';

/** `npm run migrate`: applies pending migrations to the configured database and exits. */
async function main(): Promise<void> {
  const config = loadConfig();
  const db = await Database.open(config, { migrate: false });
  try {
    const applied = await db.migrate();
    process.stdout.write(
      applied.length
        ? `Applied ${applied.length} migration(s): ${applied.join(', ')}\n`
        : 'Database is up to date.\n',
    );
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${err instanceof ConfigValidationError ? err.message : `Migration failed: ${(err as Error).message}`}\n`,
  );
  process.exit(1);
});
