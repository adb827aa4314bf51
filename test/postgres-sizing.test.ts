import { parseConfig } from '../lib/config';
import { postgresCommand } from '../lib/postgres-setup';
import { deriveTopology, instanceConnections, pumaWorkersFor, Topology, TopologyError } from '../lib/topology';
import { defaultMaxConnections } from '../lib/topology/data';
import { flattenConfig, stackConfig, TEST_MASTER_SECRET } from './helpers/program';

/**
 * PostgreSQL sized from the stack's shape: the connection budget by GitLab's formula
 * (docs.gitlab.com/administration/postgresql/tune), `max_connections` from it, and a refusal with the
 * numbers when a set `max_connections` cannot hold it. Tested at its edges.
 */
function topologyOf(stack: string, extra: Record<string, unknown> = {}): Topology {
  const all = { ...stackConfig(stack), ...flattenConfig(extra), 'kytes:masterSecret': TEST_MASTER_SECRET };
  return deriveTopology(
    parseConfig(all, (k) => k === 'kytes:masterSecret'),
    stack,
  );
}
function problemsOf(stack: string, extra: Record<string, unknown>): string[] {
  try {
    topologyOf(stack, extra);
    return [];
  } catch (e) {
    if (e instanceof TopologyError) return e.problems;
    throw e;
  }
}

describe('connection budget per instance', () => {
  it("is GitLab's formula: 2 × (Puma processes × (threads + 10) + (Sidekiq concurrency + 1 + 10))", () => {
    expect(instanceConnections({ pumaWorkers: 6, pumaThreads: 4, sidekiqConcurrency: 20 })).toBe(2 * (6 * 14 + 31));
    expect(instanceConnections({ pumaWorkers: 8, pumaThreads: 4, sidekiqConcurrency: 20 })).toBe(286);
  });

  it('counts Puma single mode (0 workers) as one process', () => {
    expect(instanceConnections({ pumaWorkers: 0, pumaThreads: 4, sidekiqConcurrency: 10 })).toBe(
      instanceConnections({ pumaWorkers: 1, pumaThreads: 4, sidekiqConcurrency: 10 }),
    );
    expect(instanceConnections({ pumaWorkers: 0, pumaThreads: 4, sidekiqConcurrency: 10 })).toBe(70);
  });

  it("sizes Puma with omnibus' rule on the container's memory, not the host's", () => {
    expect([8192, 4096, 2048, 16384].map(pumaWorkersFor)).toEqual([6, 2, 2, 14]);
  });
});

describe('the stacks in this repository', () => {
  it('dev (one constrained instance, 4 planned): budget 70 + 3, max_connections 400 (the minimum), shared_buffers 128 MB', () => {
    const pg = topologyOf('dev').postgres;
    expect(pg.budget).toEqual({
      instances: [{ name: 'main', connections: 70 }],
      gitlab: 70,
      superuserReserved: 3,
      required: 73,
    });
    expect(postgresCommand(pg)).toEqual(['postgres', '-c', 'max_connections=400', '-c', 'shared_buffers=128MB']);
  });

  it('prod (two standard instances, 4 planned): budget 460 + 3, max_connections 1000 (4 × 230 + 3), shared_buffers 1 GB', () => {
    const pg = topologyOf('prod').postgres;
    expect(pg.budget).toEqual({
      instances: [
        { name: 'main', connections: 230 },
        { name: 'girofle', connections: 230 },
      ],
      gitlab: 460,
      superuserReserved: 3,
      required: 463,
    });
    expect(postgresCommand(pg)).toEqual(['postgres', '-c', 'max_connections=1000', '-c', 'shared_buffers=1024MB']);
  });
});

describe('planned instances: commissioning one does not restart PostgreSQL', () => {
  const withInstances = (n: number, postgres: Record<string, unknown> = {}) => ({
    'kytes:gitlab': {
      instances: Array.from({ length: n }, (_, i) => ({ name: `lab${i}`, sshPort: 3000 + i })),
    },
    'kytes:postgres': postgres,
  });

  it('leaves the server command unchanged from one to the 4 planned instances, and resizes past them', () => {
    const command = (n: number) => postgresCommand(topologyOf('prod', withInstances(n)).postgres);
    expect(command(2)).toEqual(command(1));
    expect(command(3)).toEqual(command(1));
    expect(command(4)).toEqual(command(1));
    expect(command(5)).toEqual(['postgres', '-c', 'max_connections=1200', '-c', 'shared_buffers=1280MB']);
  });

  it('sizes for kytes:postgres.plannedInstances when set, and never for fewer than there are', () => {
    const pg = (n: number, planned: number) =>
      topologyOf('prod', withInstances(n, { plannedInstances: planned })).postgres;
    expect([pg(2, 8).maxConnections, pg(2, 8).sharedBuffersMB]).toEqual([1900, 2048]);
    expect([pg(3, 1).plannedInstances, pg(3, 1).maxConnections]).toEqual([3, 700]);
  });
});

describe('the refusal, at its edge', () => {
  it('accepts max_connections exactly equal to the budget', () => {
    expect(problemsOf('prod', { 'kytes:postgres': { maxConnections: 463 } })).toEqual([]);
    expect(topologyOf('prod', { 'kytes:postgres': { maxConnections: 463 } }).postgres.maxConnections).toBe(463);
  });

  it('refuses one less, with the numbers and the keys that change them', () => {
    expect(problemsOf('prod', { 'kytes:postgres': { maxConnections: 462 } })).toEqual([
      'kytes:postgres.maxConnections: 462 is below the connection budget of 463 (GitLab main 230 + girofle 230 = 460, ' +
        'plus 3 superuser slots); set it to at least 463, or lower kytes:gitlab.puma.workers, kytes:gitlab.puma.threads ' +
        'or kytes:gitlab.sidekiq.concurrency',
    ]);
  });

  it('counts tuning changes: more Sidekiq threads need more connections', () => {
    // 2 × (6 × 14 + (21 + 1 + 10)) = 232 per instance: 467 with the superuser slots.
    const extra = {
      'kytes:postgres': { maxConnections: 466 },
      'kytes:gitlab': { ...instances(), sidekiq: { concurrency: 21 } },
    };
    expect(problemsOf('prod', extra)[0]).toContain('466 is below the connection budget of 467');
    expect(problemsOf('prod', { ...extra, 'kytes:postgres': { maxConnections: 467 } })).toEqual([]);
  });

  it('derives a default that always holds the budget, rounded up to a hundred, never below 400', () => {
    const budget = (required: number) => ({ instances: [], gitlab: required - 3, superuserReserved: 3, required });
    expect([73, 400, 401, 463, 500, 501].map((r) => defaultMaxConnections(budget(r)))).toEqual([
      400, 400, 500, 500, 500, 600,
    ]);
  });

  it('grows with the instances: 17 standard instances (more than the old 16-database limit) are accepted', () => {
    const many = Array.from({ length: 17 }, (_, i) => ({ name: `lab${i}`, sshPort: 3000 + i }));
    const pg = topologyOf('prod', { 'kytes:gitlab': { instances: many } }).postgres;
    expect([pg.budget.required, pg.maxConnections, pg.sharedBuffersMB]).toEqual([17 * 230 + 3, 4000, 17 * 256]);
  });
});

function instances() {
  return {
    instances: [
      { name: 'main', hostname: 'gitlab.kytes.io', sshPort: 2222 },
      { name: 'girofle', hostname: 'girofle.kytes.io', sshPort: 2223 },
    ],
  };
}
