import { HOST_NAME_MAX, KytesConfig, nested, offHostLocalDir } from '../config';
import { PG_IDENTIFIER_MAX_BYTES } from '../sinks';
import { Topology } from './types';
import { declaredVolumes } from './volumes';

/**
 * Rules on derived names and paths, computed from the derived topology rather than fixed maxima:
 * each name is checked against the limit of the system that uses it, and the message names the
 * config key that chose it.
 */

/** Pulumi's own stack name grammar; the name reaches comments, cron files and scripts. */
export function checkStackName(stack: string): string[] {
  return /^[A-Za-z0-9_.-]{1,100}$/.test(stack)
    ? []
    : [`stack name ${JSON.stringify(stack)}: allowed: letters, digits, "_", "." and "-" (Pulumi's stack names)`];
}

interface Named {
  readonly what: string;
  /** The config key that chose the name. */
  readonly key: string;
  readonly container: string;
  readonly alias: string;
}

function namedContainers(t: Topology, prefixKey: string): Named[] {
  return [
    { what: 'PostgreSQL', key: prefixKey, container: t.postgres.container, alias: t.postgres.alias },
    ...t.gitlab.flatMap((g, i) => [
      {
        what: `GitLab instance ${g.name}`,
        key: `kytes:gitlab.instances[${i}].name`,
        container: g.container,
        alias: g.alias,
      },
      {
        what: `Redis of GitLab instance ${g.name}`,
        key: `kytes:gitlab.instances[${i}].name`,
        container: g.redis.container,
        alias: g.redis.alias,
      },
    ]),
    ...(t.mongo?.members ?? []).map((m) => ({
      what: `MongoDB member ${m.index}`,
      key: prefixKey,
      container: m.container,
      alias: m.alias,
    })),
    ...(t.rocketchat
      ? [{ what: 'Rocket.Chat', key: prefixKey, container: t.rocketchat.container, alias: t.rocketchat.alias }]
      : []),
    { what: 'nginx', key: prefixKey, container: t.nginx.container, alias: t.nginx.alias },
  ];
}

/**
 * Docker's DNS on the network answers each container's name and each alias; two containers
 * answering one name get round-robin traffic (nginx sent to PostgreSQL). Every name must be one
 * container's only, and every alias a DNS label (63 characters).
 */
export function checkNetworkNames(t: Topology, prefixKey: string): string[] {
  const problems: string[] = [];
  const owners = new Map<string, Named>();
  for (const n of namedContainers(t, prefixKey)) {
    if (n.alias.length > 63) {
      problems.push(
        `${n.key}: the network alias ${n.alias} of ${n.what} has ${n.alias.length} characters; a DNS label has at most 63: shorten the name by ${n.alias.length - 63}`,
      );
    }
    for (const name of new Set([n.container, n.alias])) {
      const prev = owners.get(name.toLowerCase());
      if (prev && prev !== n) {
        problems.push(
          `${n.key}: the name ${name} of ${n.what} on the network is also a name of ${prev.what} (Docker's DNS would send traffic for one to the other): choose another instance name or kytes:prefix`,
        );
      } else owners.set(name.toLowerCase(), n);
    }
  }
  return problems;
}

/** Names other systems cut or refuse past a length: PostgreSQL, the kernel, the volume directory. */
export function checkNameLengths(t: Topology, prefixKey: string): string[] {
  const problems: string[] = [];
  t.gitlab.forEach((g, i) => {
    const key = `kytes:gitlab.instances[${i}]`;
    for (const id of [g.database.name, g.database.user]) {
      if (Buffer.byteLength(id) > PG_IDENTIFIER_MAX_BYTES) {
        problems.push(
          `${key}.name: PostgreSQL name ${id} has ${id.length} characters; PostgreSQL cuts names at ${PG_IDENTIFIER_MAX_BYTES} (two instances could share one): shorten the instance name by ${id.length - PG_IDENTIFIER_MAX_BYTES}`,
        );
      }
    }
    if (g.hostname.length > HOST_NAME_MAX) {
      problems.push(
        `${key}.hostname: ${g.hostname} is the GitLab container's host name and has ${g.hostname.length} characters; Linux allows ${HOST_NAME_MAX} (sethostname): set a shorter hostname`,
      );
    }
  });
  for (const v of declaredVolumes(t)) {
    if (v.name.length > 255) {
      problems.push(
        `${prefixKey}: volume name ${v.name.slice(0, 40)}… is longer than a file name (255): shorten kytes:prefix or the instance name`,
      );
    }
  }
  return problems;
}

/** A published port equal to the SSH port Pulumi reaches the host on takes sshd's port, or fails. */
export function checkSshPort(t: Topology): string[] {
  const ssh = t.docker.ssh;
  if (!ssh) return [];
  return t.published
    .filter((p) => p.port === ssh.port)
    .map(
      (p) =>
        `${p.owner}: host port ${p.port} is the SSH port Kytes reaches the Docker host on (kytes:docker.host); choose another port`,
    );
}

/** The network must hold every container plus its gateway. */
export function checkSubnetCapacity(t: Topology): string[] {
  const prefix = Number(t.network.subnet.split('/')[1]);
  const usable = 2 ** (32 - prefix) - 3; // network, broadcast and the gateway Docker takes
  const containers = namedContainers(t, '').length;
  return usable >= containers
    ? []
    : [
        `kytes:network.subnet: ${t.network.subnet} has room for ${usable} containers; the stack runs ${containers}: use a shorter prefix length`,
      ];
}

/**
 * The backup directory, the scripts, the cron file and the off-host copy must not hold one
 * another: an off-host "copy" inside the backups is a copy on the same disk, and a backup dir
 * holding the scripts dir would be made root-only over them.
 */
export function checkOpsPaths(t: Topology, config: KytesConfig): string[] {
  const problems: string[] = [];
  const dirKey = config.backup.dir === undefined ? 'kytes:prefix (the default kytes:backup.dir)' : 'kytes:backup.dir';
  const ops = t.ops;
  if (nested(ops.backupDir, ops.scriptsDir)) {
    problems.push(
      `${dirKey}: ${ops.backupDir} and the scripts directory ${ops.scriptsDir} hold one another; choose another backup directory`,
    );
  }
  const offHost = config.backup.offHost;
  if (offHost === undefined) return problems;
  const where = offHostLocalDir(offHost, t.docker.ssh?.host);
  if (where !== undefined && nested(where, ops.backupDir)) {
    problems.push(
      `kytes:backup.offHost: ${offHost} and the backup directory ${ops.backupDir} (${dirKey}) are the same directory or one holds the other on the Docker host: the copy would sit on the same disk; choose a location on other storage`,
    );
  }
  return problems;
}
