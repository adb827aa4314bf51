import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { REDIS_CONFIG_PATH, renderRedisConfig } from '../lib/redis-conf';
import { RedisTopology, Topology } from '../lib/topology';
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

export interface RedisArgs {
  /** The stack topology: prefix and time zone. */
  readonly topology: Topology;
  /** The instance's `topology.gitlab[].redis`: names, port, image and volume, all from the instance name. */
  readonly redis: RedisTopology;
  /** Network the container joins under its alias. */
  readonly network: pulumi.Input<string>;
  /** `requirepass`; only this instance's GitLab knows it. */
  readonly password: pulumi.Input<string>;
}

/**
 * The Redis of one GitLab instance: its caches, sessions, Sidekiq queues, Action Cable and KAS keys.
 * One per instance because GitLab's KAS ignores `redis_database` and Redis pub/sub crosses database
 * numbers, so instances sharing a server would see each other's keys and broadcasts. The password lives
 * in an uploaded redis.conf, not in the command line where `ps` and `docker inspect` would show it.
 */
export class Redis extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly volume: docker.Volume;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kytes:data:Redis', name, {}, opts);
    const t = args.topology;
    const r = args.redis;
    const image = pinnedImage(`${name}-image`, r.image, this);
    this.volume = retainedVolume(`${name}-data`, r.data, t.prefix, this);
    const config = pulumi.secret(pulumi.output(args.password).apply((p) => renderRedisConfig(r, p)));

    // redis-cli reads the password from REDISCLI_AUTH, keeping it off the command line.
    const environment = containerEnv({ TZ: t.timezone }, { REDISCLI_AUTH: args.password });
    this.container = new docker.Container(
      `${name}-container`,
      {
        name: r.container,
        image: image.imageId,
        hostname: r.alias,
        networksAdvanced: networkAttachment(args.network, r.alias),
        command: ['redis-server', REDIS_CONFIG_PATH],
        uploads: [{ file: REDIS_CONFIG_PATH, content: config, permissions: '0644' }],
        envs: environment.envs,
        volumes: [{ volumeName: this.volume.name, containerPath: r.data.containerPath }],
        healthcheck: {
          tests: ['CMD-SHELL', `redis-cli -p ${r.port} ping | grep -q PONG`],
          interval: seconds(10),
          timeout: seconds(5),
          retries: 6,
          startPeriod: seconds(30),
          startInterval: seconds(2),
        },
        wait: true,
        waitTimeout: 120,
        restart: 'unless-stopped',
        stopTimeout: 30,
        // Stopped (SIGTERM, then stopTimeout) before removal on destroy or replace, never killed outright.
        destroyGraceSeconds: 30,
        labels: containerLabels(t.prefix, 'redis', { 'kytes.instance': r.instance }, environment.secretNames),
        ...containerLogging(t.logs),
      },
      containerOptions(this),
    );
    this.registerOutputs({ container: this.container.name, volume: this.volume.name });
  }
}
