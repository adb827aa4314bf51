import * as crypto from 'crypto';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { nginxHealthcheckCommand, renderNginxConfig } from '../lib/nginx';
import { Topology } from '../lib/topology';
import {
  containerEnv,
  containerLabels,
  containerLogging,
  containerOptions,
  networkAttachment,
  pinnedImage,
  seconds,
} from './common';

export interface ReverseProxyArgs {
  /** `topology.nginx`: the whole nginx.conf, listen and published port are derived from it. */
  readonly topology: Topology;
  /** Network the container joins; upstreams are found there by alias at request time. */
  readonly network: pulumi.Input<string>;
}

/**
 * nginx in front of every web service. Its config is uploaded into the container; a changed config
 * changes the upload and the config-hash label, so the container is replaced with it and the running
 * nginx always serves what the topology says.
 */
export class ReverseProxy extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly config: string;

  constructor(name: string, args: ReverseProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kytes:edge:ReverseProxy', name, {}, opts);
    const t = args.topology;
    const n = t.nginx;
    this.config = renderNginxConfig(n);
    const configHash = crypto.createHash('sha256').update(this.config).digest('hex').slice(0, 16);
    const image = pinnedImage(`${name}-image`, n.image, this);

    this.container = new docker.Container(
      `${name}-container`,
      {
        name: n.container,
        image: image.imageId,
        hostname: n.alias,
        networksAdvanced: networkAttachment(args.network, n.alias),
        uploads: [{ file: n.configPath, content: this.config, permissions: '0644' }],
        ports: [{ internal: n.listenPort, external: n.publishedPort, ip: n.bindAddress, protocol: 'tcp' }],
        envs: containerEnv({ TZ: t.timezone }).envs,
        healthcheck: {
          tests: nginxHealthcheckCommand(n),
          interval: seconds(15),
          timeout: seconds(5),
          retries: 4,
          startPeriod: seconds(20),
          startInterval: seconds(2),
        },
        wait: true,
        waitTimeout: 120,
        restart: 'unless-stopped',
        stopTimeout: 15,
        ...containerLogging(t.logs),
        labels: containerLabels(t.prefix, 'nginx', { 'kytes.config-sha256': configHash }),
      },
      containerOptions(this),
    );
    this.registerOutputs({ container: this.container.name });
  }
}
