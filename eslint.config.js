// ESLint: type-aware typescript-eslint rules for the sources and tests (one program, tsconfig.tests.json),
// ESLint's recommended rules for the JS scripts, eslint-plugin-jest for tests; Prettier owns the layout.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import jest from 'eslint-plugin-jest';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const tests = ['**/__tests__/**/*.ts', '**/*.test.ts', 'examples/*/test/**/*.ts'];

export default defineConfig(
  globalIgnores(['**/dist/', '**/dist-bundle/', '**/coverage/', 'docs/api/', '.bench-tmp/']),
  { linterOptions: { reportUnusedDisableDirectives: 'error', reportUnusedInlineConfigs: 'error' } },
  js.configs.recommended,
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.tests.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Contract methods return Promises and are written `async` so that a synchronous throw becomes a rejection.
      '@typescript-eslint/require-await': 'off',
      // A leading underscore marks a deliberately unused binding; `const { a: _, ...rest } = o` omits a key.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests, their helpers, and core's testing kit (the conformance suite declares describe/it blocks).
    files: [...tests, 'packages/core/src/testing/**/*.ts'],
    extends: [jest.configs['flat/recommended']],
    rules: {
      // Helpers named expect… (expectCoded, expectSameOutcomes) hold the assertions, and so does fast-check's fc.assert.
      'jest/expect-expect': ['error', { assertFunctionNames: ['expect', 'expect*', 'fc.assert'] }],
    },
  },
  {
    files: tests,
    rules: {
      // Tests read parsed JSON (CLI --json output, `ip -j`) as `any` and let expect() check its shape;
      // jest's asymmetric matchers (expect.any, expect.objectContaining) are typed `any` too.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Shared suites (describeStoreContract) live in helper modules that export them for the tests to run.
    files: ['**/__tests__/**/*.ts'],
    ignores: ['**/*.test.ts', '**/*.itest.ts', '**/*.umltest.ts'],
    rules: { 'jest/no-export': 'off' },
  },
  prettier,
);
