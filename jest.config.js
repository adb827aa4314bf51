/**
 * Two tiers: `unit` needs Node, bash, jq, shellcheck, ruby and util-linux's flock (checked up front by
 * test/setup/unit-tools.ts); `integration` needs a Docker engine and Debian tools (see README).
 */
const tsJest = ['ts-jest', { diagnostics: false }];
module.exports = {
  // One program run under mocks takes 1–2 s on an idle machine and over 5 s (Jest's default) on a loaded one.
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/setup/unit-tools.ts',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/policies/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/integration/'],
      // StrykerJS's sandboxes hold a copy of the project while `npm run test:mutation` runs.
      modulePathIgnorePatterns: ['<rootDir>/.stryker-tmp/'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      modulePathIgnorePatterns: ['<rootDir>/.stryker-tmp/'],
    },
  ],
};
