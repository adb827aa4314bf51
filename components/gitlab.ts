import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { GITLAB_SECRET_ENV, renderGitlabConfig } from '../lib/gitlab-rb';
import { GitlabInstanceTopology, Topology } from '../lib/topology';
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

export interface GitlabInstanceArgs {
  readonly topology: Topology;
  /** This instance's entry of `topology.gitlab`. */
  readonly instance: GitlabInstanceTopology;
  /** Network the container joins under its alias. */
  readonly network: pulumi.Input<string>;
  /** Password of this instance's PostgreSQL role. */
  readonly databasePassword: pulumi.Input<string>;
  /** `requirepass` of this instance's own Redis. */
  readonly redisPassword: pulumi.Input<string>;
  /** Initial `root` password; acts only when GitLab seeds an empty database. */
  readonly rootPassword: pulumi.Input<string>;
  /** SMTP password, when `topology.mail` authenticates; gitlab.rb reads it from the environment. */
  readonly smtpPassword?: pulumi.Input<string>;
  /** Minutes `pulumi up` waits for the first healthy state. Default 30. */
  readonly startTimeoutMinutes?: number;
  /** What must be done first: the PostgreSQL setup step, this instance's Redis, the GitLab upgrade guard. */
  readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** One GitLab CE instance on the shared PostgreSQL and its own Redis. Its three paths are retained volumes. */
export class GitlabInstance extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly volumes: { readonly config: docker.Volume; readonly data: docker.Volume; readonly logs: docker.Volume };

  constructor(name: string, args: GitlabInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kytes:app:GitlabInstance', name, {}, opts);
    const t = args.topology;
    const g = args.instance;
    const startTimeout = (args.startTimeoutMinutes ?? 30) * 60;
    const image = pinnedImage(`${name}-image`, g.image, this);
    this.volumes = {
      config: retainedVolume(`${name}-config`, g.volumes.config, t.prefix, this),
      data: retainedVolume(`${name}-data`, g.volumes.data, t.prefix, this),
      logs: retainedVolume(`${name}-logs`, g.volumes.logs, t.prefix, this),
    };

    const environment = containerEnv(
      { GITLAB_OMNIBUS_CONFIG: renderGitlabConfig(t, g), TZ: t.timezone },
      {
        [GITLAB_SECRET_ENV.dbPassword]: args.databasePassword,
        [GITLAB_SECRET_ENV.redisPassword]: args.redisPassword,
        [GITLAB_SECRET_ENV.rootPassword]: args.rootPassword,
        ...(args.smtpPassword === undefined ? {} : { [GITLAB_SECRET_ENV.smtpPassword]: args.smtpPassword }),
      },
    );
    this.container = new docker.Container(
      `${name}-container`,
      {
        name: g.container,
        image: image.imageId,
        hostname: g.hostname,
        networksAdvanced: networkAttachment(args.network, g.alias),
        envs: environment.envs,
        ports: [{ internal: g.sshContainerPort, external: g.sshPort, ip: g.sshBindAddress, protocol: 'tcp' }],
        volumes: (['config', 'data', 'logs'] as const).map((k) => ({
          volumeName: this.volumes[k].name,
          containerPath: g.volumes[k].containerPath,
        })),
        // The image's own check, with a start period: first boot seeds the database for minutes.
        healthcheck: {
          tests: ['CMD', '/opt/gitlab/bin/gitlab-healthcheck', '--fail', '--max-time', '10'],
          interval: seconds(60),
          timeout: seconds(30),
          retries: 5,
          startPeriod: seconds(startTimeout),
          startInterval: seconds(15),
        },
        wait: true,
        waitTimeout: startTimeout,
        restart: 'unless-stopped',
        shmSize: g.shmMB,
        memory: g.memoryMB,
        stopTimeout: 120,
        destroyGraceSeconds: 180,
        ...containerLogging(t.logs),
        labels: containerLabels(t.prefix, 'gitlab', { 'kytes.instance': g.name }, environment.secretNames),
      },
      containerOptions(this, args.dependsOn),
    );
    this.registerOutputs({ container: this.container.name, url: g.externalUrl });
  }
}
