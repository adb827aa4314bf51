import { KytesConfig } from '../config';
import { imageMajor, overlaps } from './common';
import { GitlabInstanceTopology, PublishedPort, RocketchatTopology } from './types';

/** The stack name must give a usable prefix when `kytes:prefix` is not set. */
export function checkPrefix(prefix: string, stack: string): string[] {
  return /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(prefix)
    ? []
    : [
        `kytes:prefix: the stack name "${stack}" gives the prefix "${prefix}", which is not a DNS label; set kytes:prefix`,
      ];
}

/** Instance names are identities: unique, and short enough for the names derived from them. */
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
    if (`gitlab-${inst.name}`.length > 63) {
      problems.push(
        `kytes:gitlab.instances[${i}].name: "${inst.name}" is too long for a network alias; use at most 56 characters`,
      );
    }
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

/** Version rules between images that must move together. */
export function checkVersions(config: KytesConfig): string[] {
  const problems: string[] = [];
  const gitlabMajor = imageMajor(config.images.gitlab);
  const pgMajor = imageMajor(config.images.postgres);
  if (gitlabMajor !== undefined && pgMajor !== undefined && gitlabMajor >= 19 && pgMajor !== 17) {
    problems.push(
      `kytes:images.postgres: PostgreSQL ${pgMajor} with GitLab ${gitlabMajor}; GitLab 19 needs PostgreSQL 17 ` +
        '(17 is its minimum, and its bundled pg_dump 17 cannot back up a newer server): use a postgres:17.x image',
    );
  }
  const mongoMajor = imageMajor(config.images.mongo);
  const rcMajor = imageMajor(config.images.rocketchat);
  if (
    config.rocketchat.enabled &&
    rcMajor !== undefined &&
    rcMajor >= 8 &&
    mongoMajor !== undefined &&
    mongoMajor !== 8
  ) {
    problems.push(
      `kytes:images.mongo: MongoDB ${mongoMajor} with Rocket.Chat ${rcMajor}; Rocket.Chat 8 supports MongoDB 8.0: use a mongo:8.0.x image`,
    );
  }
  return problems;
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
