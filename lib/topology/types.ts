/**
 * The shape of a derived stack: every name, port, URL and path a component, template or script uses.
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
  /**
   * Root-only file (0600, in a 0700 directory) holding the restic repository password, derived from
   * the master secret and written by `pulumi up` when `kytes:backup.offHost` is a restic repository.
   */
  readonly resticPasswordFile: string;
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
