// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', 'web/**', '.data/**', 'test-output/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no activity or worker code.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must stay deterministic: do I/O in activities.' })),
          patterns: [
            { group: ['**/activities/**', '@temporalio/activity', '@temporalio/worker', '@temporalio/client'], allowTypeImports: true, message: 'Workflows import activities as types only.' },
            { group: ['**/api/**', '**/workers/**', '**/temporal-config/**', '**/core/config/**', '**/core/temporal/**'], message: 'Workflows depend only on the contract (core/contract/) and their messages.' },
          ],
        },
      ],
    },
  },
  {
    // The contract is shared with workflows and the dashboard: pure shapes and rules, no I/O, no Temporal client or worker.
    files: ['core/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'The contract is pure: it runs in workflows and in the browser.' })),
          patterns: [
            { group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/workflow'], message: 'The contract uses only @temporalio/common.' },
            { group: ['**/config/**', '**/temporal/**', '**/activities/**', '**/workflows/**', '**/api/**', '**/workers/**', '**/temporal-config/**'], message: 'The contract depends on nothing but itself.' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' },
    },
  },
);
