import 'reflect-metadata';
import { ConfigValidationError, loadConfig } from '../config/bridge-config';
import { Database } from '../database/database';
import { Transactions } from '../database/transactions';
import { resealAll } from '../keys/reseal';
import { SecretBox } from '../keys/secret-box';

/**
 * `npm run rotate-secret`: re-seals every private key at rest with BRIDGE_SECRET, opening them with
 * BRIDGE_SECRET_PREVIOUS. Run it once every instance runs with both variables set; then drop the previous.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.bridgeSecretPrevious) {
    throw new ConfigValidationError([
      'BRIDGE_SECRET_PREVIOUS must be set to the secret being replaced (BRIDGE_SECRET is the new one)',
    ]);
  }
  const db = await Database.open(config, { migrate: false });
  try {
    const report = await resealAll(new Transactions(db.dataSource), SecretBox.forConfig(config));
    for (const table of Object.keys(report.resealed)) {
      process.stdout.write(
        `${table}: ${report.resealed[table]} re-sealed, ${report.current[table]} already under BRIDGE_SECRET\n`,
      );
    }
    process.stdout.write(
      'Done: every private key is sealed with BRIDGE_SECRET. Remove BRIDGE_SECRET_PREVIOUS.\n',
    );
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${err instanceof ConfigValidationError ? err.message : `Secret rotation failed (nothing changed): ${(err as Error).message}`}\n`,
  );
  process.exit(1);
});
