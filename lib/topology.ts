import { KytesConfig } from './config';

/**
 * The one place where names and ports are decided. {@link deriveTopology} is pure: the same config and
 * stack give the same topology, and every component, template and script reads its names from here.
 * Each constant below is used once; the dependency rules of the brief hold because nothing repeats them.
 */
export const PORTS = {
  postgres: 5432,
  redis: 6379,
  mongo: 27017,
  rocketchat: 3000,
  /** GitLab's bundled nginx inside its container (= `listen_port` in gitlab.rb = proxy_pass port). */
  gitlabHttp: 80,
  /** sshd inside the GitLab container; the published port is per instance. */
  gitlabSsh: 22,
} as const;

export interface DockerHost {
  /** What the Docker provider and the docker CLI are given (`DOCKER_HOST`). */
  readonly url: string;
  readonly kind: 'local' | 'ssh';
  /** For `ssh://` hosts: where ops scripts are installed over SSH. */
  readonly ssh?: { readonly user?: string; readonly host: string; readonly port: number };
  readonly sshOpts: readonly string[];
}

export interface Volume {
  /** Docker volume name: stable, so `pulumi up` after `pulumi destroy` re-adopts it. */
  readonly name: string;
  readonly containerPath: string;
}

export interface PostgresTopology {
  readonly container: string;
  readonly alias: string;
  readonly port: number;
  readonly image: string;
  readonly data: Volume;
  readonly superuser: 'postgres';
}

export interface RedisTopology {
  readonly container: string;
  readonly alias: string;
  readonly port: number;
  readonly image: string;
  readonly data: Volume;
  /** Redis databases to configure: one per GitLab instance. */
  readonly databases: number;
}

export interface GitlabInstanceTopology {
  readonly name: string;
  readonly container: string;
  readonly alias: string;
  readonly image: string;
  readonly hostname: string;
  readonly externalUrl: string;
  readonly httpPort: number;
  readonly sshContainerPort: number;
  readonly sshPort: number;
  readonly sshBindAddress: string;
  /** What users put in `git clone ssh://git@<host:port>/…`. */
  readonly sshCloneHost: string;
  readonly upstream: Upstream;
  readonly database: { readonly name: string; readonly user: string };
  readonly redisDatabase: number;
  readonly volumes: { readonly config: Volume; readonly data: Volume; readonly logs: Volume };
}

export interface MongoMemberTopology {
  readonly index: number;
  readonly container: string;
  readonly alias: string;
  /** host:port recorded in the replica-set config; must resolve on the network forever. */
  readonly host: string;
  readonly data: Volume;
}

export interface MongoTopology {
  readonly replicaSet: string;
  readonly port: number;
  readonly image: string;
  readonly members: readonly MongoMemberTopology[];
  readonly rootUser: 'root';
  readonly appUser: 'rocketchat';
  readonly appDatabase: 'rocketchat';
  /** Where the keyfile is put inside each member (owned by the image's mongodb user, mode 0400). */
  readonly keyfilePath: string;
}

export interface RocketchatTopology {
  readonly container: string;
  readonly alias: string;
  readonly image: string;
  readonly port: number;
  readonly hostname: string;
  readonly rootUrl: string;
  readonly upstream: Upstream;
  readonly uploads: Volume;
}

export interface Upstream {
  /** Container alias on the stack network. */
  readonly host: string;
  readonly port: number;
}

export interface NginxServer {
  readonly kind: 'gitlab' | 'rocketchat';
  readonly name: string;
  readonly serverName: string;
  readonly upstream: Upstream;
  /** GitLab wants large uploads (pushes over HTTP, LFS); 0 lifts nginx's limit. */
  readonly clientMaxBodySize: string;
}

export interface NginxTopology {
  readonly container: string;
  readonly alias: string;
  readonly image: string;
  /** Listen port inside the container = container side of the published port (rule 1). */
  readonly listenPort: number;
  readonly publishedPort: number;
  readonly bindAddress: string;
  readonly configPath: string;
  readonly publicScheme: 'http' | 'https';
  /** Port users see in URLs (`X-Forwarded-Port`): `httpPort` for http, 443 for https, unless `proxy.publicPort`. */
  readonly publicPort: number;
  readonly servers: readonly NginxServer[];
  /** Docker's embedded DNS: upstreams are resolved per request so nginx starts while one is down. */
  readonly resolver: string;
}

export interface OpsTopology {
  readonly backupDir: string;
  readonly scriptsDir: string;
  readonly cronFile: string;
  readonly schedule: string;
  readonly invocationLog: string;
}

export interface PublishedPort {
  readonly owner: string;
  readonly bindAddress: string;
  readonly port: number;
}

export interface Topology {
  readonly project: 'kytes';
  readonly stack: string;
  readonly prefix: string;
  readonly domain: string;
  readonly timezone: string;
  readonly docker: DockerHost;
  readonly network: { readonly name: string; readonly subnet: string };
  readonly postgres: PostgresTopology;
  readonly redis: RedisTopology;
  readonly gitlab: readonly GitlabInstanceTopology[];
  readonly mongo?: MongoTopology;
  readonly rocketchat?: RocketchatTopology;
  readonly nginx: NginxTopology;
  readonly ops: OpsTopology;
  readonly published: readonly PublishedPort[];
}

export class TopologyError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Inconsistent Kytes configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'TopologyError';
  }
}

export function parseDockerHost(url: string, sshOpts: readonly string[]): DockerHost {
  const m = /^ssh:\/\/(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(url);
  if (!m) return { url, kind: 'local', sshOpts };
  return { url, kind: 'ssh', ssh: { user: m[1], host: m[2], port: m[3] ? Number(m[3]) : 22 }, sshOpts };
}

export function externalUrl(scheme: 'http' | 'https', host: string, port: number): string {
  const defaultPort = scheme === 'https' ? 443 : 80;
  return `${scheme}://${host}${port === defaultPort ? '' : `:${port}`}`;
}

function imageMajor(ref: string): number | undefined {
  const tag = /:([0-9]+)[^/@]*(@.*)?$/.exec(ref);
  return tag ? Number(tag[1]) : undefined;
}

function volume(prefix: string, what: string, containerPath: string): Volume {
  return { name: `${prefix}-${what}`, containerPath };
}

/** Bind addresses overlap when they are equal or either is the wildcard. */
function overlaps(a: PublishedPort, b: PublishedPort): boolean {
  return (
    a.port === b.port && (a.bindAddress === b.bindAddress || a.bindAddress === '0.0.0.0' || b.bindAddress === '0.0.0.0')
  );
}

/** A /24 in 172.18.0.0–172.31.255.0 picked by the prefix, so two stacks on one host rarely collide; set
 * `kytes:network.subnet` when they do (Docker then says "Pool overlaps with other one on this address space"). */
export function defaultSubnet(prefix: string): string {
  let h = 0;
  for (const ch of prefix) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `172.${18 + (h % 14)}.${(h >>> 8) % 256}.0/24`;
}

export function deriveTopology(config: KytesConfig, stack: string): Topology {
  const problems: string[] = [];
  const prefix = config.prefix ?? `kytes-${stack}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const domain = config.domain;
  const scheme = config.proxy.publicScheme;
  const publicPort = config.proxy.publicPort ?? (scheme === 'https' ? 443 : config.proxy.httpPort);

  if (!/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(prefix)) {
    problems.push(
      `kytes:prefix: the stack name "${stack}" gives the prefix "${prefix}", which is not a DNS label; set kytes:prefix`,
    );
  }

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

  const gitlab: GitlabInstanceTopology[] = config.gitlab.instances.map((inst, i) => {
    const hostname = inst.hostname ?? (inst.name === 'main' ? `gitlab.${domain}` : `gitlab-${inst.name}.${domain}`);
    const alias = `gitlab-${inst.name}`;
    const dbName = inst.name.replace(/-/g, '_');
    return {
      name: inst.name,
      container: `${prefix}-gitlab-${inst.name}`,
      alias,
      image: config.images.gitlab,
      hostname,
      externalUrl: externalUrl(scheme, hostname, publicPort),
      httpPort: PORTS.gitlabHttp,
      sshContainerPort: PORTS.gitlabSsh,
      sshPort: inst.sshPort,
      sshBindAddress: config.gitlab.sshBindAddress,
      sshCloneHost: `${hostname}:${inst.sshPort}`,
      upstream: { host: alias, port: PORTS.gitlabHttp },
      database: { name: `gitlabhq_${dbName}`, user: `gitlab_${dbName}` },
      redisDatabase: i,
      volumes: {
        config: volume(prefix, `gitlab-${inst.name}-config`, '/etc/gitlab'),
        data: volume(prefix, `gitlab-${inst.name}-data`, '/var/opt/gitlab'),
        logs: volume(prefix, `gitlab-${inst.name}-logs`, '/var/log/gitlab'),
      },
    };
  });

  let rocketchat: RocketchatTopology | undefined;
  let mongo: MongoTopology | undefined;
  if (config.rocketchat.enabled) {
    const hostname = config.rocketchat.hostname ?? `rocketchat.${domain}`;
    rocketchat = {
      container: `${prefix}-rocketchat`,
      alias: 'rocketchat',
      image: config.images.rocketchat,
      port: PORTS.rocketchat,
      hostname,
      rootUrl: externalUrl(scheme, hostname, publicPort),
      upstream: { host: 'rocketchat', port: PORTS.rocketchat },
      uploads: volume(prefix, 'rocketchat-uploads', '/app/uploads'),
    };
    mongo = {
      replicaSet: config.mongo.replicaSet,
      port: PORTS.mongo,
      image: config.images.mongo,
      members: Array.from({ length: config.mongo.members }, (_, index) => ({
        index,
        container: `${prefix}-mongo-${index}`,
        alias: `mongo-${index}`,
        host: `mongo-${index}:${PORTS.mongo}`,
        data: volume(prefix, `mongo-${index}-data`, '/data/db'),
      })),
      rootUser: 'root',
      appUser: 'rocketchat',
      appDatabase: 'rocketchat',
      keyfilePath: '/etc/mongo-keyfile/keyfile',
    };
  }

  // Rule 5: one hostname per service, and it is the server_name, the external URL host and ROOT_URL host.
  const hostOwners = new Map<string, string>();
  const claim = (host: string, owner: string) => {
    const prev = hostOwners.get(host);
    if (prev)
      problems.push(`${owner}: hostname "${host}" is already used by ${prev}; give each service its own hostname`);
    else hostOwners.set(host, owner);
  };
  gitlab.forEach((g, i) => claim(g.hostname, `kytes:gitlab.instances[${i}].hostname`));
  if (rocketchat) claim(rocketchat.hostname, 'kytes:rocketchat.hostname');

  const published: PublishedPort[] = [
    { owner: 'kytes:proxy.httpPort', bindAddress: config.proxy.bindAddress, port: config.proxy.httpPort },
    ...gitlab.map((g, i) => ({
      owner: `kytes:gitlab.instances[${i}].sshPort`,
      bindAddress: g.sshBindAddress,
      port: g.sshPort,
    })),
  ];
  published.forEach((p, i) => {
    const clash = published.slice(0, i).find((q) => overlaps(p, q));
    if (clash) {
      problems.push(`${p.owner}: host port ${p.port} is already published by ${clash.owner}; choose another port`);
    }
  });

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
  if (scheme === 'https' && config.proxy.publicPort === undefined && config.proxy.httpPort === 443) {
    problems.push(
      'kytes:proxy.httpPort: 443 with publicScheme https; Kytes does not terminate TLS: publish nginx on another port behind the TLS proxy',
    );
  }

  if (problems.length > 0) throw new TopologyError(problems);

  const servers: NginxServer[] = [
    ...gitlab.map((g) => ({
      kind: 'gitlab' as const,
      name: g.name,
      serverName: g.hostname,
      upstream: g.upstream,
      clientMaxBodySize: '0',
    })),
    ...(rocketchat
      ? [
          {
            kind: 'rocketchat' as const,
            name: 'rocketchat',
            serverName: rocketchat.hostname,
            upstream: rocketchat.upstream,
            clientMaxBodySize: '200m',
          },
        ]
      : []),
  ];

  const backupDir = config.backup.dir ?? `/var/backups/kytes/${prefix}`;
  return {
    project: 'kytes',
    stack,
    prefix,
    domain,
    timezone: config.timezone,
    docker: parseDockerHost(config.docker.host, config.docker.sshOpts),
    network: { name: config.network.name ?? prefix, subnet: config.network.subnet ?? defaultSubnet(prefix) },
    postgres: {
      container: `${prefix}-postgres`,
      alias: 'postgres',
      port: PORTS.postgres,
      image: config.images.postgres,
      data: volume(prefix, 'postgres-data', '/var/lib/postgresql/data'),
      superuser: 'postgres',
    },
    redis: {
      container: `${prefix}-redis`,
      alias: 'redis',
      port: PORTS.redis,
      image: config.images.redis,
      data: volume(prefix, 'redis-data', '/data'),
      databases: Math.max(16, gitlab.length),
    },
    gitlab,
    mongo,
    rocketchat,
    nginx: {
      container: `${prefix}-nginx`,
      alias: 'nginx',
      image: config.images.nginx,
      listenPort: config.proxy.httpPort,
      publishedPort: config.proxy.httpPort,
      bindAddress: config.proxy.bindAddress,
      configPath: '/etc/nginx/nginx.conf',
      publicScheme: scheme,
      publicPort,
      servers,
      resolver: '127.0.0.11',
    },
    ops: {
      backupDir,
      scriptsDir: `/opt/kytes/${prefix}`,
      cronFile: `/etc/cron.d/kytes-${prefix}`,
      schedule: config.backup.schedule,
      invocationLog: `${backupDir}/invocations.jsonl`,
    },
    published,
  };
}
