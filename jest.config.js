// Jest runs TypeScript through @swc/jest in CommonJS mode; ESM-only packages are transformed too
// (see ../shared/STACK-NOTES.md). Type-checking is `npm run typecheck`.
const esm = [
  '@nestjs',
  'jose',
  'oidc-provider',
  'openid-client',
  'oauth4webapi',
  'file-type',
  'strtok3',
  'token-types',
  '@tokenizer',
  '@borewit',
  'uint8array-extras',
  '@electric-sql',
];
const swc = (ts) => [
  '@swc/jest',
  {
    jsc: {
      parser: ts ? { syntax: 'typescript', decorators: true } : { syntax: 'ecmascript' },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];
module.exports = {
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': swc(true), '^.+\\.[cm]?js$': swc(false) },
  transformIgnorePatterns: [`/node_modules/(?!(${esm.join('|')})/)`],
  testMatch: [
    '<rootDir>/src/**/*.spec.ts',
    '<rootDir>/test/unit/**/*.spec.ts',
    '<rootDir>/test/integration/**/*.spec.ts',
  ],
  globalSetup: '<rootDir>/test/support/global-setup.js',
  testTimeout: 60000,
  maxWorkers: 2,
};
