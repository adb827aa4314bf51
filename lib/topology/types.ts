import type { BackupAlertFormat } from '../config/backup';
import type { Version } from '../versions';
import * as pulumi from '@pulumi/pulumi';
import type { DockerConnection } from '../connection';

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

/** How every part of Kytes reaches the Docker host: lib/connection.ts. */
export type DockerHost = DockerConnection;

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
  /** `max_connections`: at least {@link ConnectionBudget.required}, checked. */
  readonly maxConnections: number;
  /** `shared_buffers`, in MB. */
  readonly sharedBuffersMB: number;
  /** GitLab instances the defaults of both are sized for (`kytes:postgres.plannedInstances`). */
  readonly plannedInstances: number;
  /** What the GitLab instances may open, by GitLab's documented formula. */
  readonly budget: ConnectionBudget;
}

/** The PostgreSQL connections each GitLab instance may open (docs.gitlab.com/administration/postgresql/tune). */
export interface ConnectionBudget {
  readonly instances: readonly {
    readonly name: string;
    /** 2 × (Puma processes × (threads + headroom) + Sidekiq processes × (concurrency + 1 + headroom)). */
    readonly connections: number;
  }[];
  /** Sum over the instances. */
  readonly gitlab: number;
  /** `superuser_reserved_connections` (PostgreSQL's default 3): slots GitLab's roles cannot use. */
  readonly superuserReserved: number;
  /** `gitlab + superuserReserved`: the least `max_connections` that serves every pool in full. */
  readonly required: number;
}

/** One GitLab instance's own Redis: its caches, sessions, Sidekiq queues, Action Cable and KAS keys. */
export interface RedisTopology {
  /** The GitLab instance it belongs to; every name below is made from it. */
  readonly instance: string;
  readonly container: string;
  readonly alias: string;
  readonly port: number;
  readonly image: string;
  readonly data: Volume;
}

/** Puma and Sidekiq of one instance, written into gitlab.rb and counted in the connection budget. */
export interface GitlabTuning {
  /** `puma['worker_processes']`; 0 is Puma's single mode (one process). */
  readonly pumaWorkers: number;
  /** `puma['min_threads']` = `puma['max_threads']`. */
  readonly pumaThreads: number;
  /** `sidekiq['concurrency']` of the one Sidekiq process. */
  readonly sidekiqConcurrency: number;
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
  /** This instance's own Redis. */
  readonly redis: RedisTopology;
  readonly volumes: { readonly config: Volume; readonly data: Volume; readonly logs: Volume };
  /** GitLab version of the image (from its tag, or `kytes:images.versions.gitlab`). */
  readonly version: Version;
  /** `kytes:memoryProfile`: `constrained` also turns on GitLab's memory-constrained settings in gitlab.rb. */
  readonly memoryProfile: 'constrained' | 'standard';
  /** Container memory limit in MB, from the profile. */
  readonly memoryMB: number;
  /** `/dev/shm` size in MB. */
  readonly shmMB: number;
  readonly tuning: GitlabTuning;
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
  /** Container memory limit in MB, from `kytes:memoryProfile`. */
  readonly memoryMB: number;
  /**
   * Thresholds of its `/livez` probe (apps/meteor/server/routes/health.ts): heap used/total ratio
   * (`HEAP_USAGE_PERCENT`, a ratio despite its name) and event-loop p99 lag in ms (`EVENT_LOOP_LAG_MS`).
   */
  readonly liveness: { readonly heapUsageRatio: number; readonly eventLoopLagMs: number };
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
  /** `proxy_read_timeout`: GitLab's own nginx allows 3600 s for Git over HTTP. */
  readonly readTimeoutSeconds: number;
  /** The certificate served for `serverName` when nginx terminates TLS. */
  readonly tls?: ServedCertificate;
}

/** Where one served hostname's certificate comes from and where nginx reads it. */
export interface ServedCertificate {
  readonly hostname: string;
  /** Inside the nginx container: the chain, leaf first. */
  readonly certificatePath: string;
  readonly keyPath: string;
  /**
   * `acme`: issued by certbot into the TLS volume; `host`: files on the Docker host, checked and copied
   * into the TLS volume by `kytes-tls`; `pem`: `kytes:tls.certificates[entry]` PEM text, uploaded as a secret.
   */
  readonly source:
    | { readonly kind: 'acme' }
    | { readonly kind: 'host'; readonly entry: number; readonly certificateFile: string; readonly keyFile: string }
    | { readonly kind: 'pem'; readonly entry: number };
  /** Render `ssl_stapling on` (nginx skips it, with a warning, for a certificate without OCSP responder). */
  readonly stapling: boolean;
}

export interface AcmeTopology {
  readonly email: string;
  readonly directoryUrl: string;
  /** Not one of Let's Encrypt's directories: special-use hostnames are allowed, `caBundle` too. */
  readonly custom: boolean;
  /** PEM of the CA(s) that sign the private ACME server's HTTPS certificate (public data). */
  readonly caBundle?: string;
  /** The certbot image run on the Docker host. */
  readonly image: string;
  /** HTTP-01 challenges: written by certbot, served read-only by nginx on port 80. Not retained. */
  readonly webroot: Volume;
  /** certbot's `--config-dir` inside the TLS volume: account key, lineages, renewal settings. */
  readonly configDir: string;
}

/** HTTPS as derived from `kytes:tls`; `mode: 'off'` has no certificate. */
export interface TlsTopology {
  readonly mode: 'off' | 'files' | 'acme';
  /** One per served hostname, in nginx server order. */
  readonly certificates: readonly ServedCertificate[];
  readonly minValidDays: number;
  readonly hsts?: { readonly maxAge: number };
  /** Retained volume (ACME account and certificates, copies of host files); read-only in nginx. */
  readonly volume?: Volume;
  readonly acme?: AcmeTopology;
  /** The `kytes-tls` script on the Docker host (status, renewal) and its cron file, installed with `volume`. */
  readonly host?: {
    readonly scriptsDir: string;
    readonly script: string;
    readonly cronFile: string;
    /** Five-field cron: ACME renewal, or re-reading host files. */
    readonly schedule: string;
    readonly logFile: string;
  };
}

export interface NginxTopology {
  readonly container: string;
  readonly alias: string;
  readonly image: string;
  /** Listen port inside the container = container side of the published port (rule 1). */
  readonly listenPort: number;
  readonly publishedPort: number;
  readonly bindAddress: string;
  /**
   * Where nginx reads its whole config: in {@link configVolume}, written and reloaded in place by a step
   * on the Docker host, so a changed config (an instance added) reaches the running nginx without
   * replacing the container (`nginx -c configPath`).
   */
  readonly configPath: string;
  /** Holds `configPath` (and the candidate config checked before it replaces it); read-only in nginx. */
  readonly configVolume: Volume;
  readonly publicScheme: 'http' | 'https';
  /** Port users see in URLs (`X-Forwarded-Port`): `httpPort` for http, 443 for https, unless `proxy.publicPort`. */
  readonly publicPort: number;
  readonly servers: readonly NginxServer[];
  /**
   * `variables_hash_bucket_size` large enough for the longest variable name in the file (nginx
   * refuses to start with "could not build variables_hash" otherwise): see lib/topology/nginx.ts.
   */
  readonly variablesHashBucketSize: number;
  /** Docker's embedded DNS: upstreams are resolved per request so nginx starts while one is down. */
  readonly resolver: string;
  /**
   * Strict-Transport-Security max-age sent on every proxied response; absent: none. Either way the
   * upstreams' own header is removed (GitLab's bundled nginx sends a two-year one by default).
   */
  readonly hstsMaxAge?: number;
  /**
   * Present when nginx terminates TLS: HTTPS on `listenPort` (published the same), while `listenPort`
   * above keeps plain HTTP for ACME challenges, the health check and the redirect to HTTPS.
   */
  readonly https?: {
    readonly listenPort: number;
    readonly publishedPort: number;
    /** Served on port 80 under `/.well-known/acme-challenge/` (acme mode). */
    readonly acmeWebroot?: string;
  };
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
  /** Output of scheduled backups, rotated by `kytes-backup --scheduled` itself. */
  readonly cronLog: string;
  /**
   * Root-only curl config file (0600, in the same 0700 directory) naming the webhook of
   * `kytes:backup.alert`, written by `pulumi up` when it is set.
   */
  readonly alertFile: string;
  /** `kytes:backup.alertFormat`. */
  readonly alertFormat: BackupAlertFormat;
}

export interface MailTopology {
  readonly host: string;
  readonly port: number;
  /** `starttls`: upgrade when offered; `tls`: implicit TLS (SMTPS); `none`: plain. */
  readonly tls: 'starttls' | 'tls' | 'none';
  /** Absent: the server is used without authentication. The password is a secret, never in the topology. */
  readonly auth?: { readonly user: string; readonly mechanism: 'login' | 'plain' | 'cram_md5' };
  readonly from: string;
  readonly replyTo?: string;
}

export interface LogLimits {
  /** Docker's `json-file` driver, rotated: `max-size` per file, `max-file` files per container. */
  readonly driver: 'json-file';
  readonly maxSize: string;
  readonly maxFiles: number;
}

export interface PublishedPort {
  readonly owner: string;
  readonly bindAddress: string;
  readonly port: number;
}

/** The version each versioned image holds, as the rules and upgrade guards read it. */
export interface StackVersions {
  readonly gitlab: Version;
  readonly postgres: Version;
  /** Present when Rocket.Chat is enabled. */
  readonly mongo?: Version;
  readonly rocketchat?: Version;
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
  readonly gitlab: readonly GitlabInstanceTopology[];
  readonly mongo?: MongoTopology;
  readonly rocketchat?: RocketchatTopology;
  readonly nginx: NginxTopology;
  readonly tls: TlsTopology;
  readonly ops: OpsTopology;
  readonly published: readonly PublishedPort[];
  readonly versions: StackVersions;
  /** `kytes:smtp`, or undefined: mail is off. */
  readonly mail?: MailTopology;
  /** Log rotation every container gets. */
  readonly logs: LogLimits;
}

/**
 * Cross-field problems of a stack's config. A {@link pulumi.RunError}: Pulumi prints the message
 * alone, without "unhandled exception" or a stack trace.
 */
export class TopologyError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(
      `Inconsistent Kytes configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'TopologyError';
  }
}
