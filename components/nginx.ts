import * as crypto from 'crypto';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import type { PemPair } from '../lib/load';
import { hostDockerUrl } from '../lib/connection';
import { nginxCommand, nginxHealthcheckCommand, nginxReloadCommand, renderNginxConfig } from '../lib/nginx';
import { shellWord } from '../lib/sinks';
import { Topology } from '../lib/topology';
import { bashScript, HostCommand, hostCommand, say } from '../ops/host';
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
 * nginx in front of every web service. Its config lives in a volume of its own, written by a step on
 * the Docker host: a changed config (an instance commissioned, a hostname changed) is checked by the
 * running nginx (`nginx -t`) and reloaded in place, so the container is not replaced and no connection
 * is cut; a config nginx refuses never replaces the one it serves.
 */
export class ReverseProxy extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly image: docker.RemoteImage;
  readonly config: string;
  /** Retained like every volume; holds only what the step below writes. */
  readonly configVolume: docker.Volume;
  /** Writes, checks and reloads the config; the container depends on it, so it exists from the first start. */
  readonly configStep: HostCommand;

  constructor(name: string, args: ReverseProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kytes:edge:ReverseProxy', name, {}, opts);
    const t = args.topology;
    const n = t.nginx;
    this.config = renderNginxConfig(n);
    this.image = pinnedImage(`${name}-image`, n.image, this);
    this.configVolume = retainedVolume(`${name}-config`, n.configVolume, t.prefix, this);
    this.configStep = hostCommand(
      `${name}-apply-config`,
      t.docker,
      { create: applyNginxConfigScript(t), stdin: this.config, logging: 'stdoutAndStderr' },
      { parent: this, dependsOn: [this.configVolume, this.image] },
    );
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
        command: nginxCommand(n),
        uploads: pemUploads(t, args.tlsPem),
        ports: [
          { internal: n.listenPort, external: n.publishedPort, ip: n.bindAddress, protocol: 'tcp' },
          ...(n.https
            ? [{ internal: n.https.listenPort, external: n.https.publishedPort, ip: n.bindAddress, protocol: 'tcp' }]
            : []),
        ],
        volumes: [
          { volumeName: this.configVolume.name, containerPath: n.configVolume.containerPath, readOnly: true },
          ...tlsMounts(t, tls),
        ],
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
        labels: containerLabels(t.prefix, 'nginx'),
      },
      containerOptions(this, [this.configStep, ...(tls?.prepare ? [tls.prepare] : [])]),
    );
    const configSha256 = crypto.createHash('sha256').update(this.config).digest('hex');
    this.registerOutputs({ container: this.container.name, configSha256 });
  }
}

/**
 * The step's script on the Docker host, the config on stdin: write it into the config volume as a
 * candidate (a throwaway container of the nginx image, no network), have the running nginx check it,
 * rename it over the served one, reload. Before the container exists, the candidate is simply put in
 * place: the container's first start (and its health wait) is then the check.
 */
export function applyNginxConfigScript(t: Topology): string {
  const n = t.nginx;
  const dir = n.configVolume.containerPath;
  const candidate = `${dir}/.nginx.conf.new`;
  const inVolume = (...script: string[]) =>
    [
      'docker run --rm -i --network none --entrypoint /bin/sh',
      `-v ${shellWord(`${n.configVolume.name}:${dir}`)}`,
      shellWord(n.image),
      '-c',
      ...script.map(shellWord),
    ].join(' ');
  const container = shellWord(n.container);
  const exec = (argv: readonly string[]) => `docker exec ${container} ${argv.map(shellWord).join(' ')}`;
  return bashScript(
    `export DOCKER_HOST=${shellWord(hostDockerUrl(t.docker))}`,
    inVolume('cat > "$1"', 'sh', candidate),
    `running=$(docker container inspect -f '{{.State.Running}}' ${container} 2>/dev/null || true)`,
    'if [ "$running" = true ]; then',
    `  if ! ${exec(['nginx', '-t', '-q', '-c', candidate])}; then`,
    `    ${say('the new nginx config does not pass nginx -t in %s; nginx keeps serving the config it has', n.container)}`,
    '    exit 1',
    '  fi',
    'fi',
    inVolume('mv -f "$1" "$2"', 'sh', candidate, n.configPath),
    'if [ "$running" = true ]; then',
    `  ${exec(nginxReloadCommand(n))}`,
    `  ${say('nginx in %s reloaded its config (no restart, no connection cut)', n.container)}`,
    'fi',
  );
}

/** The TLS volumes, read-only; when TLS is off, none. */
function tlsMounts(t: Topology, tls: TlsCertificates | undefined) {
  const mounts = [
    ...(tls?.volume && t.tls.volume
      ? [{ volumeName: tls.volume.name, containerPath: t.tls.volume.containerPath, readOnly: true }]
      : []),
    ...(tls?.webroot && t.tls.acme
      ? [{ volumeName: tls.webroot.name, containerPath: t.tls.acme.webroot.containerPath, readOnly: true }]
      : []),
  ];
  return mounts;
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
