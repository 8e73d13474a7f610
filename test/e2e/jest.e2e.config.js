// End-to-end tests: a real SimpleSAMLphp IdP (php -S) and headless Chromium. Run
//   bash scripts/install-e2e-deps.sh && npx jest -c test/e2e/jest.e2e.config.js
const base = require('../../jest.config.js');

module.exports = {
  ...base,
  rootDir: '../..',
  testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
  maxWorkers: 1,
  testTimeout: 180000,
};
