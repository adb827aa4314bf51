import { ConfigError, parseConfig } from '../lib/config';
import { flattenConfig, runProgram, stackConfig, TEST_MASTER_SECRET, unwrap } from './helpers/program';

/** `kytes:logs`: every container's json-file log is rotated, none can be forgotten. */

const CONTAINER = 'docker:index/container:Container';

async function containerLogging(stack: string, extra: Record<string, unknown> = {}) {
  const { resources } = await runProgram(stack, { ...stackConfig(stack), ...flattenConfig(extra) });
  const containers = resources.filter((r) => r.type === CONTAINER);
  return containers.map((c) => {
    const inputs = unwrap(c.inputs) as { logDriver?: unknown; logOpts?: unknown };
    return { name: c.name, logDriver: inputs.logDriver, logOpts: inputs.logOpts };
  });
}

describe('container log limits', () => {
  it.each([
    ['dev', 6],
    ['prod', 10],
  ])(
    '%s: every one of the %i containers has rotated json-file logs (defaults 10m × 5)',
    async (stack, count) => {
      const all = await containerLogging(stack);
      expect(all).toHaveLength(count);
      for (const c of all) {
        expect(c).toEqual({ name: c.name, logDriver: 'json-file', logOpts: { 'max-size': '10m', 'max-file': '5' } });
      }
    },
    60000,
  );

  it('takes size and count from kytes:logs', async () => {
    const all = await containerLogging('dev', { 'kytes:logs': { maxSize: '50m', maxFiles: 3 } });
    expect(all).toHaveLength(6);
    for (const c of all) {
      expect(c).toEqual({ name: c.name, logDriver: 'json-file', logOpts: { 'max-size': '50m', 'max-file': '3' } });
    }
  }, 60000);

  const problems = (logs: unknown) => {
    try {
      parseConfig(
        { ...flattenConfig({ 'kytes:logs': logs }), 'kytes:masterSecret': TEST_MASTER_SECRET },
        (k) => k === 'kytes:masterSecret',
      );
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
    return [];
  };

  it.each<[unknown, string]>([
    [{ maxSize: '0m' }, 'kytes:logs.maxSize: received "0m"; allowed: a size such as 10m'],
    [{ maxSize: '10' }, 'kytes:logs.maxSize: received "10"; allowed: a size such as 10m'],
    [{ maxSize: '10MB' }, 'kytes:logs.maxSize: received "10MB"; allowed: a size such as 10m'],
    [{ maxSize: '1t' }, 'kytes:logs.maxSize: received "1t"; allowed: a size such as 10m'],
    [{ maxSize: '10m --privileged' }, 'kytes:logs.maxSize: received "10m --privileged"'],
    [{ maxFiles: 0 }, 'kytes:logs.maxFiles: received 0; allowed: a whole number from 1 to 100'],
    [{ maxFiles: 2.5 }, 'kytes:logs.maxFiles: received 2.5; allowed: a whole number from 1 to 100'],
    [{ maxFiles: '5' }, 'kytes:logs.maxFiles: received "5"; allowed: a whole number from 1 to 100'],
    [{ maxFiles: 101 }, 'kytes:logs.maxFiles: received 101; allowed: a whole number from 1 to 100'],
    [{ driver: 'local' }, 'kytes:logs.driver: received "local"; allowed: no such key'],
  ])('refuses %j', (logs, expected) => {
    const found = problems(logs);
    expect(found).toHaveLength(1);
    expect(found[0].startsWith(expected)).toBe(true);
  });

  it('accepts 1k to 9999g', () => {
    expect(problems({ maxSize: '1k', maxFiles: 1 })).toEqual([]);
    expect(problems({ maxSize: '9999g', maxFiles: 100 })).toEqual([]);
  });
});
