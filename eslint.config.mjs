// Lint rules for the whole tree, plus the determinism rules Temporal workflow code needs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // Workflow code is replayed: it may import only the workflow SDK, pure modules and types.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code must be deterministic: no Node built-ins.',
          })),
          patterns: [
            {
              // Depth-independent, so modules in workflows/<name>/ are held to the same rule.
              group: [
                '**/activities',
                '**/activities/*',
                '**/*-activities',
                '**/*-client',
                '**/gateway/*',
                // Pure: the failure type a workflow tells apart (a gateway object not set up for a change).
                '!**/gateway/gateway-failures',
                '**/ingress/*',
                '**/simulator/*',
                '**/temporal/*',
                '**/config/*',
                '**/observability/*',
                '**/notify/slack/*',
                'axios',
                'fastify',
                'pino',
                'zod',
                'yaml',
              ],
              allowTypeImports: true,
              message: 'Workflow code may import only types from I/O modules; call activities through proxyActivities.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop from @temporalio/workflow.' },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false },
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', module: 'writable', require: 'readonly' },
    },
  },
);
