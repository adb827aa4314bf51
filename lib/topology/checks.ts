import { KytesConfig } from '../config';
import { compareSeries, series } from '../versions';
import { overlaps } from './common';
import { GitlabInstanceTopology, PostgresTopology, PublishedPort, RocketchatTopology, StackVersions } from './types';

/** The stack name must give a usable prefix when `kytes:prefix` is not set. */
export function checkPrefix(prefix: string, stack: string): string[] {
  return /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(prefix)
    ? []
    : [
        `kytes:prefix: the stack name "${stack}" gives the prefix "${prefix}", which is not a DNS label; set kytes:prefix`,
      ];
}

/** Instance names are identities: unique. (Lengths of the names derived from them: limits.ts.) */
export function checkInstanceNames(config: KytesConfig): string[] {
  const problems: string[] = [];
  const names = new Map<string, number>();
  config.gitlab.instances.forEach((inst, i) => {
    const seen = names.get(inst.name);
    if (seen !== undefined) {
      problems.push(
        `kytes:gitlab.instances[${i}].name: "${inst.name}" is already the name of instances[${seen}]; give each instance its own name`,
      );
    } else names.set(inst.name, i);
  });
  return problems;
}

/** Rule 5: one hostname per service, and it is the server_name, the external URL host and ROOT_URL host. */
export function checkHostnames(gitlab: readonly GitlabInstanceTopology[], rocketchat?: RocketchatTopology): string[] {
  const problems: string[] = [];
  const hostOwners = new Map<string, string>();
  const claim = (host: string, owner: string) => {
    const prev = hostOwners.get(host);
    if (prev)
      problems.push(`${owner}: hostname "${host}" is already used by ${prev}; give each service its own hostname`);
    else hostOwners.set(host, owner);
  };
  gitlab.forEach((g, i) => claim(g.hostname, `kytes:gitlab.instances[${i}].hostname`));
  if (rocketchat) claim(rocketchat.hostname, 'kytes:rocketchat.hostname');
  return problems;
}

/** Every host port Kytes publishes, each with the config key that chose it. */
export function publishedPorts(config: KytesConfig, gitlab: readonly GitlabInstanceTopology[]): PublishedPort[] {
  return [
    { owner: 'kytes:proxy.httpPort', bindAddress: config.proxy.bindAddress, port: config.proxy.httpPort },
    ...(config.tls.mode === 'off'
      ? []
      : [{ owner: 'kytes:proxy.httpsPort', bindAddress: config.proxy.bindAddress, port: config.proxy.httpsPort }]),
    ...gitlab.map((g, i) => ({
      owner: `kytes:gitlab.instances[${i}].sshPort`,
      bindAddress: g.sshBindAddress,
      port: g.sshPort,
    })),
  ];
}

export function checkPublishedPorts(published: readonly PublishedPort[]): string[] {
  const problems: string[] = [];
  published.forEach((p, i) => {
    const clash = published.slice(0, i).find((q) => overlaps(p, q));
    if (clash) {
      problems.push(`${p.owner}: host port ${p.port} is already published by ${clash.owner}; choose another port`);
    }
  });
  return problems;
}

/**
 * Which PostgreSQL each GitLab major supports (docs.gitlab.com/install/requirements, "PostgreSQL"; GitLab 19:
 * omnibus MR !9350), as [first supported, last supported major]. GitLab 19's backups use its bundled
 * pg_dump 17, which refuses a newer server, so 17 is also its last. docs/versions.md has the sources.
 */
export const GITLAB_POSTGRES: Readonly<Record<number, { min: [number, number]; maxMajor: number }>> = {
  17: { min: [14, 14], maxMajor: 16 },
  18: { min: [16, 5], maxMajor: 17 },
  19: { min: [17, 0], maxMajor: 17 },
};
/** Which MongoDB release series each Rocket.Chat major supports (its release notes: "MongoDB: 8.0"). */
export const ROCKETCHAT_MONGO: Readonly<Record<number, string>> = { 8: '8.0' };

/** Version rules between images that must move together, on the versions {@link resolveVersions} read. */
export function checkVersions(v: StackVersions): string[] {
  const problems: string[] = [];
  const known = Object.keys(GITLAB_POSTGRES).map(Number);
  const rule = GITLAB_POSTGRES[v.gitlab.major];
  if (!rule) {
    problems.push(
      `kytes:images.gitlab: GitLab ${v.gitlab.text}; Kytes knows the rules of GitLab ${known[0]} to ${known[known.length - 1]} ` +
        '(which PostgreSQL, which gitlab.rb keys, which upgrade stops): use one of those',
    );
  } else if (
    compareSeries(v.postgres, { major: rule.min[0], minor: rule.min[1] }) < 0 ||
    v.postgres.major > rule.maxMajor
  ) {
    const range = `${rule.min[0]}.${rule.min[1]} to ${rule.maxMajor}.x`;
    problems.push(
      `kytes:images.postgres: PostgreSQL ${v.postgres.text} with GitLab ${v.gitlab.text}; GitLab ${v.gitlab.major} supports PostgreSQL ${range}` +
        (v.gitlab.major >= 19
          ? ' (17 is its minimum, and its bundled pg_dump 17 cannot back up a newer server): use a postgres:17.x image'
          : `: use a postgres image in that range`),
    );
  }
  if (v.rocketchat && v.mongo) {
    const wanted = ROCKETCHAT_MONGO[v.rocketchat.major];
    if (!wanted) {
      problems.push(
        `kytes:images.rocketchat: Rocket.Chat ${v.rocketchat.text}; Kytes knows the MongoDB rules of Rocket.Chat ` +
          `${Object.keys(ROCKETCHAT_MONGO).join(', ')} only: use a rocketchat/rocket.chat:8.x image`,
      );
    } else if (series(v.mongo) !== wanted) {
      problems.push(
        `kytes:images.mongo: MongoDB ${v.mongo.text} with Rocket.Chat ${v.rocketchat.text}; Rocket.Chat ${v.rocketchat.major} ` +
          `supports MongoDB ${wanted}: use a mongo:${wanted}.x image`,
      );
    }
  }
  return problems;
}

/**
 * Every GitLab pool must fit in `max_connections` minus the superuser slots, or GitLab fails with
 * "remaining connection slots are reserved" under load. Only a user-set `kytes:postgres.maxConnections`
 * can be too small: the derived default never is.
 */
export function checkConnectionBudget(pg: PostgresTopology): string[] {
  const b = pg.budget;
  if (b.required <= pg.maxConnections) return [];
  const parts = b.instances.map((i) => `${i.name} ${i.connections}`).join(' + ');
  const gitlab = b.instances.length > 1 ? `${parts} = ${b.gitlab}` : parts;
  return [
    `kytes:postgres.maxConnections: ${pg.maxConnections} is below the connection budget of ${b.required} ` +
      `(GitLab ${gitlab}, plus ${b.superuserReserved} superuser slots); set it to at least ${b.required}, ` +
      'or lower kytes:gitlab.puma.workers, kytes:gitlab.puma.threads or kytes:gitlab.sidekiq.concurrency',
  ];
}

export function checkProxy(config: KytesConfig): string[] {
  const scheme = config.proxy.publicScheme;
  if (
    config.tls.mode === 'off' &&
    scheme === 'https' &&
    config.proxy.publicPort === undefined &&
    config.proxy.httpPort === 443
  ) {
    return [
      'kytes:proxy.httpPort: 443 with publicScheme https and kytes:tls.mode off; nginx would serve plain HTTP on 443: set kytes:tls.mode to files or acme, or publish nginx on another port behind the TLS proxy',
    ];
  }
  return [];
}
