import * as crypto from 'crypto';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import type { PemPair } from '../lib/load';
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
import type { TlsCertificates } from './tls';

export interface ReverseProxyArgs {
  /** `topology.nginx`: the whole nginx.conf, listen and published port are derived from it. */
  readonly topology: Topology;
  /** Network the container joins; upstreams are found there by alias at request time. */
  readonly network: pulumi.Input<string>;
  /**
   * When nginx terminates TLS (`topology.tls.mode` not `off`): the TLS volumes, mounted read-only, and
   * the step that must pass before the container is (re)created. Default none: plain HTTP.
   */
  readonly tls?: TlsCertificates;
  /** PEM pairs from stack config, by served hostname, uploaded as secret files. Default none. */
  readonly tlsPem?: Readonly<Record<string, PemPair>>;
}

/**
 * nginx in front of every web service. Its config is uploaded into the container; a changed config
 * changes the upload and the config-hash label, so the container is replaced with it and the running
 * nginx always serves what the topology says.
 */
export class ReverseProxy extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly image: docker.RemoteImage;
  readonly config: string;

  constructor(name: string, args: ReverseProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kytes:edge:ReverseProxy', name, {}, opts);
    const t = args.topology;
    const n = t.nginx;
    this.config = renderNginxConfig(n);
    const configHash = crypto.createHash('sha256').update(this.config).digest('hex').slice(0, 16);
    this.image = pinnedImage(`${name}-image`, n.image, this);
    const tls = args.tls;
    if ((t.tls.mode === 'off') !== (tls === undefined))
      throw new Error(
        `ReverseProxy: kytes:tls.mode is ${t.tls.mode} but TLS certificates were${tls ? '' : ' not'} given`,
      );

    this.container = new docker.Container(
      `${name}-container`,
      {
        name: n.container,
        image: this.image.imageId,
        hostname: n.alias,
        networksAdvanced: networkAttachment(args.network, n.alias),
        uploads: [{ file: n.configPath, content: this.config, permissions: '0644' }, ...pemUploads(t, args.tlsPem)],
        ports: [
          { internal: n.listenPort, external: n.publishedPort, ip: n.bindAddress, protocol: 'tcp' },
          ...(n.https
            ? [{ internal: n.https.listenPort, external: n.https.publishedPort, ip: n.bindAddress, protocol: 'tcp' }]
            : []),
        ],
        volumes: tlsMounts(t, tls),
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
        // Stopped (SIGTERM, then stopTimeout) before removal on destroy or replace, never killed outright.
        destroyGraceSeconds: 30,
        ...containerLogging(t.logs),
        labels: containerLabels(t.prefix, 'nginx', { 'kytes.config-sha256': configHash }),
      },
      containerOptions(this, tls?.prepare ? [tls.prepare] : []),
    );
    this.registerOutputs({ container: this.container.name });
  }
}

/** The TLS volumes, read-only; none (not an empty list: no diff for a stack without TLS) when TLS is off. */
function tlsMounts(t: Topology, tls: TlsCertificates | undefined) {
  const mounts = [
    ...(tls?.volume && t.tls.volume
      ? [{ volumeName: tls.volume.name, containerPath: t.tls.volume.containerPath, readOnly: true }]
      : []),
    ...(tls?.webroot && t.tls.acme
      ? [{ volumeName: tls.webroot.name, containerPath: t.tls.acme.webroot.containerPath, readOnly: true }]
      : []),
  ];
  return mounts.length > 0 ? mounts : undefined;
}

/** The PEM certificates and keys from stack config, as secret files only root (nginx's master) reads. */
function pemUploads(t: Topology, pem: Readonly<Record<string, PemPair>> = {}) {
  return t.tls.certificates
    .filter((c) => c.source.kind === 'pem')
    .flatMap((c) => {
      const pair = pem[c.hostname];
      if (!pair) throw new Error(`ReverseProxy: no PEM certificate given for ${c.hostname}`);
      return [
        { file: c.certificatePath, content: pair.certificate, permissions: '0644' },
        { file: c.keyPath, content: pulumi.secret(pair.key), permissions: '0600' },
      ];
    });
}
