import { KytesConfig } from '../config';
import { Version } from '../versions';
import { externalUrl, StackBasics, volume } from './common';
import { GitlabInstanceTopology, GitlabTuning, PORTS, RedisTopology } from './types';

/** Container memory limits in MB, per profile. GitLab's floor is 2 GB + swap (constrained) / 8 GB. */
export const GITLAB_MEMORY_MB = { constrained: 4096, standard: 8192 } as const;
/**
 * `/dev/shm` in MB. GitLab's Docker docs use 256 MB; omnibus work item 8971 measured 289 MB in use, so the
 * server profile gets 512.
 */
export const GITLAB_SHM_MB = { constrained: 256, standard: 512 } as const;

/**
 * Omnibus' own Puma sizing (files/gitlab-cookbooks/gitlab/libraries/puma.rb `worker_memory`: 1.5 GB kept
 * for the other processes, then 1 GB per worker, at least 2 workers), applied to the container's memory
 * limit: omnibus reads the host's RAM through Ohai, which knows nothing of the container's limit.
 */
export function pumaWorkersFor(memoryMB: number): number {
  return Math.max(2, Math.floor((memoryMB - 1536) / 1024));
}

/** Puma and Sidekiq from the memory profile unless `kytes:gitlab.puma` / `kytes:gitlab.sidekiq` say otherwise. */
export function gitlabTuning(config: KytesConfig): GitlabTuning {
  const constrained = config.memoryProfile === 'constrained';
  return {
    // 0 = single mode: GitLab's memory-constrained guide.
    pumaWorkers: config.gitlab.puma.workers ?? (constrained ? 0 : pumaWorkersFor(GITLAB_MEMORY_MB.standard)),
    pumaThreads: config.gitlab.puma.threads ?? 4,
    sidekiqConcurrency: config.gitlab.sidekiq.concurrency ?? (constrained ? 10 : 20),
  };
}

/** The Redis of GitLab instance `name`: container, alias and volume all carry the instance name. */
function deriveRedis(config: KytesConfig, s: StackBasics, name: string): RedisTopology {
  return {
    instance: name,
    container: `${s.prefix}-redis-${name}`,
    alias: `redis-${name}`,
    port: PORTS.redis,
    image: config.images.redis,
    data: volume(s.prefix, `redis-${name}-data`, '/data'),
  };
}

/**
 * One GitLab instance per `kytes:gitlab.instances` entry; every name comes from the instance name, never
 * from its position, so adding, removing or reordering entries leaves the others untouched.
 */
export function deriveGitlab(config: KytesConfig, s: StackBasics, version: Version): GitlabInstanceTopology[] {
  const tuning = gitlabTuning(config);
  const profile = config.memoryProfile;
  return config.gitlab.instances.map((inst) => {
    const hostname = inst.hostname ?? (inst.name === 'main' ? `gitlab.${s.domain}` : `gitlab-${inst.name}.${s.domain}`);
    const alias = `gitlab-${inst.name}`;
    const dbName = inst.name.replace(/-/g, '_');
    return {
      name: inst.name,
      container: `${s.prefix}-gitlab-${inst.name}`,
      alias,
      image: config.images.gitlab,
      hostname,
      externalUrl: externalUrl(s.scheme, hostname, s.publicPort),
      httpPort: PORTS.gitlabHttp,
      sshContainerPort: PORTS.gitlabSsh,
      sshPort: inst.sshPort,
      sshBindAddress: config.gitlab.sshBindAddress,
      sshCloneHost: `${hostname}:${inst.sshPort}`,
      upstream: { host: alias, port: PORTS.gitlabHttp },
      database: { name: `gitlabhq_${dbName}`, user: `gitlab_${dbName}` },
      redis: deriveRedis(config, s, inst.name),
      volumes: {
        config: volume(s.prefix, `gitlab-${inst.name}-config`, '/etc/gitlab'),
        data: volume(s.prefix, `gitlab-${inst.name}-data`, '/var/opt/gitlab'),
        logs: volume(s.prefix, `gitlab-${inst.name}-logs`, '/var/log/gitlab'),
      },
      version,
      memoryProfile: profile,
      memoryMB: GITLAB_MEMORY_MB[profile],
      shmMB: GITLAB_SHM_MB[profile],
      tuning,
    };
  });
}
