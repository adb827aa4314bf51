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
 * GitLab instances PostgreSQL is sized for unless `kytes:postgres.plannedInstances` says otherwise.
 * `max_connections` and `shared_buffers` take effect only when the server restarts, which every GitLab
 * instance feels: sized for this many, commissioning instances up to it leaves PostgreSQL running.
 */
export const DEFAULT_PLANNED_INSTANCES = 4;

/** The instances sized for: the plan, or the instances there are when more. */
export function plannedInstances(planned: number | undefined, actual: number): number {
  return Math.max(planned ?? DEFAULT_PLANNED_INSTANCES, actual);
}

/**
 * The connections of `planned` instances: the budget of those there are, plus the largest instance's
 * share for each one still to come (they share the tuning: kytes:gitlab.puma, kytes:gitlab.sidekiq).
 */
export function plannedConnections(budget: ConnectionBudget, planned: number): number {
  const largest = Math.max(0, ...budget.instances.map((i) => i.connections));
  return budget.required + Math.max(0, planned - budget.instances.length) * largest;
}

/**
 * `max_connections` unless set: the planned connections rounded up to a hundred (small tuning changes
 * then do not restart PostgreSQL), never below GitLab's minimum.
 */
export function defaultMaxConnections(budget: ConnectionBudget, planned = budget.instances.length): number {
  return Math.max(GITLAB_MIN_CONNECTIONS, Math.ceil(plannedConnections(budget, planned) / 100) * 100);
}

/**
 * `shared_buffers` unless set: PostgreSQL's own 128 MB on a laptop; on a server 256 MB per planned GitLab
 * instance, what GitLab's image gives its bundled PostgreSQL (omnibus docker/assets/gitlab.rb).
 */
export function defaultSharedBuffersMB(profile: KytesConfig['memoryProfile'], planned: number): number {
  return profile === 'constrained' ? 128 : 256 * planned;
}

export function derivePostgres(
  config: KytesConfig,
  s: StackBasics,
  gitlab: readonly GitlabInstanceTopology[],
): PostgresTopology {
  const budget = connectionBudget(gitlab);
  const planned = plannedInstances(config.postgres.plannedInstances, gitlab.length);
  return {
    container: `${s.prefix}-postgres`,
    alias: 'postgres',
    port: PORTS.postgres,
    image: config.images.postgres,
    data: volume(s.prefix, 'postgres-data', '/var/lib/postgresql/data'),
    superuser: 'postgres',
    maxConnections: config.postgres.maxConnections ?? defaultMaxConnections(budget, planned),
    sharedBuffersMB: config.postgres.sharedBuffersMB ?? defaultSharedBuffersMB(config.memoryProfile, planned),
    plannedInstances: planned,
    budget,
  };
}
