import { KytesConfig } from '../config';
import { externalUrl, StackBasics, volume } from './common';
import { GitlabInstanceTopology, PORTS } from './types';

/** One GitLab instance per `kytes:gitlab.instances` entry; every name comes from the instance name. */
export function deriveGitlab(config: KytesConfig, s: StackBasics): GitlabInstanceTopology[] {
  return config.gitlab.instances.map((inst, i) => {
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
      redisDatabase: i,
      volumes: {
        config: volume(s.prefix, `gitlab-${inst.name}-config`, '/etc/gitlab'),
        data: volume(s.prefix, `gitlab-${inst.name}-data`, '/var/opt/gitlab'),
        logs: volume(s.prefix, `gitlab-${inst.name}-logs`, '/var/log/gitlab'),
      },
    };
  });
}
