import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

// The bridge's XML parser is @xmldom/xmldom 0.9 under the name `xmldom-0.9` (src/common/xmldom-0.9.d.ts);
// `@xmldom/xmldom` itself is the 0.8 copy that node-saml, xml-crypto and xml-encryption share, while the
// typings of that name are 0.9's: importing it would type 0.8 objects as 0.9's.
const xmldomImport = {
  name: '@xmldom/xmldom',
  message: "Import the bridge's XML parser as 'xmldom-0.9' (@xmldom/xmldom is node-saml's 0.8 copy).",
};

export default tseslint.config(
  { ignores: ['dist/**', 'dist-bench/**', 'node_modules/**', 'data/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['warn', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'warn',
      'no-console': 'warn',
    },
  },
  {
    // Type-aware rules: a promise is awaited, returned, or handed to runInBackground (src/common/background.ts),
    // which logs its failure; `void promise` does not count as handling it.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      'no-restricted-imports': ['error', { paths: [xmldomImport] }],
    },
  },
  {
    // No SQL outside repositories (issue #18): services hold logic and reach the database only through an
    // injectable `*.repository.ts` of their module (and `Transactions` for a transaction's boundary). The
    // data layer itself (src/database: pool, prepared statements, transactions, change feed, migrations) and
    // module wiring (`*.module.ts` with TypeOrmModule.forFeature, which imports none of these) are allowed.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.repository.ts', 'src/database/**', 'src/**/migrations/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression[callee.type='MemberExpression'][callee.property.name=/^(query|transaction|createQueryBuilder|getRepository|getTreeRepository|getCustomRepository)$/]",
          message:
            "SQL outside a repository: move the statement into this module's *.repository.ts (a transaction goes through Transactions from src/database/transactions.ts).",
        },
        {
          selector: "MemberExpression[property.name=/^(manager|driver)$/][object.property.name='dataSource']",
          message: 'Database handle outside a repository: move the statement into a *.repository.ts.',
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'typeorm',
              importNames: ['DataSource', 'EntityManager', 'QueryRunner', 'Repository', 'SelectQueryBuilder'],
              message:
                'Database handles belong in a *.repository.ts; a service takes repositories and Transactions (its Transaction type).',
            },
            { name: 'pg', message: 'The pg driver is used only in src/database and repositories.' },
            xmldomImport,
          ],
          patterns: [
            {
              group: ['**/database/statements', '**/database/pg-pool'],
              message:
                'Prepared statements and the pool are used only in repositories (src/**/*.repository.ts).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
