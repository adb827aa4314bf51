import { KytesConfig } from '../config';
import { StackBasics, volume } from './common';
import { ConnectionBudget, GitlabInstanceTopology, GitlabTuning, PORTS, PostgresTopology } from './types';

/**
 * GitLab's connection planning (docs.gitlab.com/administration/postgresql/tune, "Plan your database
 * connections"): each Rails process pools `threads + DB_POOL_HEADROOM` connections, Sidekiq
 * `concurrency + 1 + DB_POOL_HEADROOM`, and GitLab 16+ holds two such pools (main and ci) per process.
 */
export const DB_POOL_HEADROOM = 10;
/** GitLab's documented minimum `max_connections` (docs install/requirements; omnibus' bundled default). */
export const GITLAB_MIN_CONNECTIONS = 400;
/** PostgreSQL's `superuser_reserved_connections` default: Kytes' own setup and backups run as the superuser. */
export const SUPERUSER_RESERVED = 3;

/** The connections one instance's pools may hold: puma single mode (0 workers) is one process. */
export function instanceConnections(t: GitlabTuning): number {
  const puma = Math.max(1, t.pumaWorkers) * (t.pumaThreads + DB_POOL_HEADROOM);
  const sidekiq = 1 * (t.sidekiqConcurrency + 1 + DB_POOL_HEADROOM);
  return 2 * (puma + sidekiq);
}

export function connectionBudget(gitlab: readonly GitlabInstanceTopology[]): ConnectionBudget {
  const instances = gitlab.map((g) => ({ name: g.name, connections: instanceConnections(g.tuning) }));
  const total = instances.reduce((sum, i) => sum + i.connections, 0);
  return { instances, gitlab: total, superuserReserved: SUPERUSER_RESERVED, required: total + SUPERUSER_RESERVED };
}

/**
 * `max_connections` unless set: the budget rounded up to a hundred (small tuning changes then do not
 * restart PostgreSQL), never below GitLab's minimum.
 */
export function defaultMaxConnections(budget: ConnectionBudget): number {
  return Math.max(GITLAB_MIN_CONNECTIONS, Math.ceil(budget.required / 100) * 100);
}

/**
 * `shared_buffers` unless set: PostgreSQL's own 128 MB on a laptop; on a server 256 MB per GitLab
 * instance, what GitLab's image gives its bundled PostgreSQL (omnibus docker/assets/gitlab.rb).
 */
export function defaultSharedBuffersMB(profile: KytesConfig['memoryProfile'], instances: number): number {
  return profile === 'constrained' ? 128 : 256 * instances;
}

export function derivePostgres(
  config: KytesConfig,
  s: StackBasics,
  gitlab: readonly GitlabInstanceTopology[],
): PostgresTopology {
  const budget = connectionBudget(gitlab);
  return {
    container: `${s.prefix}-postgres`,
    alias: 'postgres',
    port: PORTS.postgres,
    image: config.images.postgres,
    data: volume(s.prefix, 'postgres-data', '/var/lib/postgresql/data'),
    superuser: 'postgres',
    maxConnections: config.postgres.maxConnections ?? defaultMaxConnections(budget),
    sharedBuffersMB: config.postgres.sharedBuffersMB ?? defaultSharedBuffersMB(config.memoryProfile, gitlab.length),
    budget,
  };
}
