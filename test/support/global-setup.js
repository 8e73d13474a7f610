// Decides once, before any worker starts, whether a real PostgreSQL server is reachable for the
// integration tests. Workers inherit the result through the environment.
const { Client } = require('pg');

module.exports = async function globalSetup() {
  const url = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  process.env.TEST_DATABASE_URL = url;
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    process.env.TEST_POSTGRES_AVAILABLE = '1';
  } catch (err) {
    process.env.TEST_POSTGRES_AVAILABLE = '0';
    if (process.env.REQUIRE_POSTGRES === '1') {
      throw new Error(`REQUIRE_POSTGRES=1 but PostgreSQL at ${url} is not reachable: ${err.message}`, {
        cause: err,
      });
    }
    process.stderr.write(
      `\n[tests] PostgreSQL not reachable (${err.message}): real-PostgreSQL suites are skipped; embedded-database suites still run.\n`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
};
