/**
 * The unit tier alone, as StrykerJS runs it for every mutant (`npm run test:mutation`): the integration
 * tier needs a Docker engine and minutes per file, and the bash templates it exercises are mutated by
 * test/mutants/ instead.
 */
const { projects } = require('./jest.config');
const unit = projects.find((p) => p.displayName === 'unit');
module.exports = { ...unit, displayName: undefined, rootDir: __dirname, testTimeout: 60000 };
