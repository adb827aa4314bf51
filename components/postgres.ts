import * as command from '@pulumi/command';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { postgresCommand, postgresPasswordEnv, renderPostgresSetup } from '../lib/postgres-setup';
import { Topology } from '../lib/topology';
import {
  containerEnv,
  containerLabels,
  containerLogging,
  containerOptions,
  networkAttachment,
  pinnedImage,
  retainedVolume,
  seconds,
} from './common';
import { dockerExec } from './dockerExec';

export interface PostgresArgs {
  /** Names, port, image and volume come from `topology.postgres`; databases from `topology.gitlab`. */
  readonly topology: Topology;
  /** Network the container joins under its alias. */
  readonly network: pulumi.Input<string>;
  /** Superuser password. Acts only on the first boot of an empty volume, hence derived and stable. */
  readonly superuserPassword: pulumi.Input<string>;
  /** Password of each GitLab instance's database role, by instance name; (re)applied on every setup run. */
  readonly gitlabPasswords: Readonly<Record<string, pulumi.Input<string>>>;
  /** What must run before the container is created or replaced: the PostgreSQL upgrade guard. Default none. */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * PostgreSQL shared by the GitLab instances. Roles, databases and extensions are created by an
 * idempotent step after start, not by `/docker-entrypoint-initdb.d`, which never runs on kept data.
 */
export class Postgres extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly volume: docker.Volume;
  /** Completes when every GitLab database, role and extension exists: GitLab depends on this. */
  readonly setup: command.local.Command;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kytes:data:Postgres', name, {}, opts);
    const t = args.topology;
    const pg = t.postgres;
    const image = pinnedImage(`${name}-image`, pg.image, this);
    this.volume = retainedVolume(`${name}-data`, pg.data, t.prefix, this);

    const environment = containerEnv({ TZ: t.timezone }, { POSTGRES_PASSWORD: args.superuserPassword });
    this.container = new docker.Container(
      `${name}-container`,
      {
        name: pg.container,
        image: image.imageId,
        hostname: pg.alias,
        networksAdvanced: networkAttachment(args.network, pg.alias),
        // max_connections and shared_buffers from the stack's shape (topology.postgres); a change restarts it.
        command: postgresCommand(pg),
        envs: environment.envs,
        volumes: [{ volumeName: this.volume.name, containerPath: pg.data.containerPath }],
        // -h 127.0.0.1: the image's first-boot server listens on the socket only, so this stays
        // unhealthy until the real server is up.
        healthcheck: {
          tests: ['CMD', 'pg_isready', '-h', '127.0.0.1', '-p', String(pg.port), '-U', pg.superuser, '-d', 'postgres'],
          interval: seconds(10),
          timeout: seconds(5),
          retries: 6,
          startPeriod: seconds(60),
          startInterval: seconds(2),
        },
        wait: true,
        waitTimeout: 300,
        restart: 'unless-stopped',
        shmSize: 256,
        stopTimeout: 60,
        destroyGraceSeconds: 90,
        ...containerLogging(t.logs),
        labels: containerLabels(t.prefix, 'postgres', {}, environment.secretNames),
      },
      containerOptions(this, args.dependsOn),
    );

    const passwordEnv = Object.fromEntries(
      t.gitlab.map((g) => [postgresPasswordEnv(g.name), args.gitlabPasswords[g.name]]),
    );
    this.setup = dockerExec(
      `${name}-setup`,
      {
        docker: t.docker,
        container: pg.container,
        command: ['psql', '-v', 'ON_ERROR_STOP=1', '-q', '-U', pg.superuser, '-d', 'postgres'],
        stdin: renderPostgresSetup(t),
        secretEnv: passwordEnv,
        triggers: [this.container.id],
      },
      { parent: this, dependsOn: [this.container] },
    );
    this.registerOutputs({ container: this.container.name, volume: this.volume.name });
  }
}
