import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'bin/',
      'policies/node_modules/',
      'policies/bin/',
      'coverage/',
      'jest.config.js',
      'jest.stryker.config.js',
      '.stryker-tmp/',
      'reports/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The Node.js stand-ins run inside test images as plain CommonJS scripts.
    files: ['test/integration/ops/fake/**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: Object.fromEntries(
        [
          'require',
          'module',
          '__dirname',
          'process',
          'Buffer',
          'URL',
          'URLSearchParams',
          'setTimeout',
          'setImmediate',
          'setInterval',
          'clearInterval',
        ].map((g) => [g, 'readonly']),
      ),
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
