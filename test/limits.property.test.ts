import fc from 'fast-check';
import { configSchema } from '../lib/config';
import { deriveTopology, Topology, TopologyError } from '../lib/topology';

/**
 * Names on the stack network, under any prefix and instance names: either the topology is refused
 * naming the key to change, or every container name and alias is one container's only, every alias
 * is a DNS label and every PostgreSQL name fits in 63 bytes. Names are drawn from the service names
 * themselves, so collisions (prefix `gitlab` + instance `postgres`) come up often.
 */
const RUNS = 300;
const part = fc.constantFrom(
  'gitlab',
  'postgres',
  'redis',
  'nginx',
  'rocketchat',
  'mongo',
  'kytes',
  'main',
  '0',
  '1',
  'a',
);
const label = fc
  .array(part, { minLength: 1, maxLength: 4 })
  .map((p) => p.join('-'))
  .filter((s) => /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(s));

function names(t: Topology): Array<[string, string]> {
  return [
    [t.postgres.container, t.postgres.alias],
    ...t.gitlab.flatMap((g) => [
      [g.container, g.alias] as [string, string],
      [g.redis.container, g.redis.alias] as [string, string],
    ]),
    ...(t.mongo?.members ?? []).map((m) => [m.container, m.alias] as [string, string]),
    ...(t.rocketchat ? [[t.rocketchat.container, t.rocketchat.alias] as [string, string]] : []),
    [t.nginx.container, t.nginx.alias],
  ];
}

it(`names on the network are unique or refused, under any prefix (${RUNS} generated)`, () => {
  let refused = 0;
  fc.assert(
    fc.property(label, fc.uniqueArray(label, { minLength: 1, maxLength: 4 }), (prefix, instanceNames) => {
      const config = configSchema.parse({
        prefix,
        gitlab: { instances: instanceNames.map((name, i) => ({ name, sshPort: 2300 + i })) },
      });
      let t: Topology;
      try {
        t = deriveTopology(config, 'dev');
      } catch (e) {
        expect(e).toBeInstanceOf(TopologyError);
        expect(
          (e as TopologyError).problems.every((p) => /^kytes:(prefix|gitlab\.instances\[\d+\]\.name)/.test(p)),
        ).toBe(true);
        refused++;
        return;
      }
      const all = names(t).flatMap(([c, a]) => (c === a ? [c] : [c, a]));
      expect(new Set(all).size).toBe(all.length);
      for (const [, alias] of names(t)) expect(alias.length).toBeLessThanOrEqual(63);
      for (const g of t.gitlab) {
        expect(Buffer.byteLength(g.database.name)).toBeLessThanOrEqual(63);
        expect(Buffer.byteLength(g.database.user)).toBeLessThanOrEqual(63);
      }
    }),
    { numRuns: RUNS, seed: 1313 },
  );
  // The generator does reach collisions: some configs are refused, most are not.
  expect(refused).toBeGreaterThan(0);
  expect(refused).toBeLessThan(RUNS);
});
