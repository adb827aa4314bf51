import fc from 'fast-check';
import { flattenConfig, nginxConfigOf, RecordedResource, runProgram, StackRun, unwrap } from './helpers/program';

/**
 * Identity is by name, never by position: for generated instance lists, adding, removing or reordering
 * GitLab instances leaves every remaining instance's resources byte-identical — its container (with its
 * gitlab.rb, published SSH port and secrets), volumes, image, its own Redis, its part of the PostgreSQL
 * setup (role, database, extensions, password variable) and its nginx server block. Each case runs the
 * whole program twice under Pulumi's mocks.
 */
const PROPERTY_RUNS = 8;
const P = 'kytes-ident';

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}[a-z0-9]$/);
interface Instance {
  readonly name: string;
  readonly sshPort: number;
}
const poolArb = fc
  .uniqueArray(label, { minLength: 1, maxLength: 6 })
  .chain((names) =>
    fc
      .uniqueArray(fc.integer({ min: 2000, max: 2999 }), { minLength: names.length, maxLength: names.length })
      .map((ports) => names.map((name, i) => ({ name, sshPort: ports[i] }))),
  );
const caseArb = poolArb
  .chain((pool) =>
    fc.record({
      before: fc.shuffledSubarray(pool, { minLength: 1 }),
      after: fc.shuffledSubarray(pool, { minLength: 1 }),
      profile: fc.constantFrom('constrained', 'standard'),
    }),
  )
  .filter((c) => c.before.some((a) => c.after.some((b) => b.name === a.name)));

function config(instances: readonly Instance[], profile: string): Record<string, string> {
  return flattenConfig({
    'kytes:prefix': P,
    'kytes:memoryProfile': profile,
    'kytes:proxy': { httpPort: 8080, bindAddress: '127.0.0.1' },
    'kytes:gitlab': { instances },
  });
}

const find = (run: StackRun, name: string): RecordedResource | undefined => run.resources.find((r) => r.name === name);

/** Everything that belongs to instance `n`, as the bytes Pulumi would store. */
function instanceResources(run: StackRun, n: string): Record<string, string> {
  const names = [
    `${P}-gitlab-${n}`,
    ...['image', 'config', 'data', 'logs', 'container'].map((x) => `${P}-gitlab-${n}-${x}`),
    `${P}-redis-${n}`,
    ...['image', 'data', 'container'].map((x) => `${P}-redis-${n}-${x}`),
  ];
  const out: Record<string, string> = {};
  for (const name of names) {
    const r = find(run, name);
    if (!r) throw new Error(`${name} not registered`);
    out[name] = JSON.stringify([r.type, r.inputs, r.options.parent, r.options.retainOnDelete]);
  }
  // Its part of the PostgreSQL setup: the blocks headed by its own comments, and its password variable.
  const setup = find(run, `${P}-postgres-setup`)!;
  const blocks = String(setup.inputs.stdin)
    .split('\n\n')
    .map((b) => b.trim());
  const db = n.replace(/-/g, '_');
  const mine = blocks.filter(
    (b) =>
      b.startsWith(`-- GitLab instance ${n}: role gitlab_${db}, database gitlabhq_${db}.`) ||
      b.startsWith(`-- Extensions GitLab needs in gitlabhq_${db};`),
  );
  if (mine.length !== 2) throw new Error(`setup blocks of ${n}: ${mine.length}`);
  out.database = mine.join('\n\n');
  const envVar = `KYTES_PG_PASSWORD_${n.toUpperCase().replace(/-/g, '_')}`;
  out.databasePassword = JSON.stringify((unwrap(setup.inputs.environment) as Record<string, string>)[envVar]);
  // Its nginx server block.
  const conf = nginxConfigOf(run.resources, P);
  const server = conf
    .split('\n\n')
    .filter((b) => b.startsWith(`    # GitLab instance ${n}\n`))
    .map((b) => b.trimEnd());
  if (server.length !== 1) throw new Error(`nginx blocks of ${n}: ${server.length}`);
  out.nginx = server[0];
  return out;
}

describe('instance identity', () => {
  it(`adding, removing or reordering instances changes nothing of the others (${PROPERTY_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ before, after, profile }) => {
        const a = await runProgram('ident', config(before, profile));
        const b = await runProgram('ident', config(after, profile));
        for (const inst of before.filter((x) => after.some((y) => y.name === x.name))) {
          expect(instanceResources(b, inst.name)).toEqual(instanceResources(a, inst.name));
        }
        // And the ones removed are gone, the ones added are there: the comparison saw the right lists.
        const gitlabs = (r: StackRun) =>
          r.resources
            .filter((x) => x.type === 'kytes:app:GitlabInstance')
            .map((x) => x.name)
            .sort();
        expect(gitlabs(b)).toEqual(after.map((x) => `${P}-gitlab-${x.name}`).sort());
      }),
      // Each run costs two whole program runs: report the first counterexample rather than shrink it.
      { numRuns: PROPERTY_RUNS, endOnFailure: true },
    );
  }, 600000);

  it('would see a change: the same instance under another SSH port differs', async () => {
    const a = await runProgram('ident', config([{ name: 'main', sshPort: 2222 }], 'standard'));
    const b = await runProgram('ident', config([{ name: 'main', sshPort: 2223 }], 'standard'));
    const [x, y] = [instanceResources(a, 'main'), instanceResources(b, 'main')];
    expect(Object.keys(x).filter((k) => x[k] !== y[k])).toEqual([`${P}-gitlab-main-container`]);
  }, 60000);
});
