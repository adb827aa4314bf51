import { KytesConfig } from '../config';
import {
  checkHostnames,
  checkInstanceNames,
  checkPrefix,
  checkProxy,
  checkPublishedPorts,
  checkVersions,
  publishedPorts,
} from './checks';
import { defaultSubnet, parseDockerHost, StackBasics } from './common';
import { derivePostgres, deriveRedis } from './data';
import { deriveGitlab } from './gitlab';
import { deriveNginx } from './nginx';
import { deriveOps } from './ops';
import { deriveRocketchat } from './rocketchat';
import { checkTls, deriveTls } from './tls';
import { Topology, TopologyError } from './types';

export * from './types';
export { defaultSubnet, externalUrl, parseDockerHost } from './common';
export { ACME_WEBROOT, PEM_DIR, TLS_DIR } from './tls';

/**
 * The one place where names and ports are decided. {@link deriveTopology} is pure: the same config and
 * stack give the same topology, and every component, template and script reads its names from here.
 * Each service's part is derived in its own file; cross-field rules are in `checks.ts`.
 */
export function deriveTopology(config: KytesConfig, stack: string, now: Date = new Date()): Topology {
  const prefix = config.prefix ?? `kytes-${stack}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  // Kytes terminating TLS makes every URL https on the HTTPS port; with TLS off, https means a proxy in front.
  const terminates = config.tls.mode !== 'off';
  const scheme = terminates ? 'https' : (config.proxy.publicScheme ?? 'http');
  const s: StackBasics = {
    prefix,
    domain: config.domain,
    scheme,
    publicPort:
      config.proxy.publicPort ??
      (terminates ? config.proxy.httpsPort : scheme === 'https' ? 443 : config.proxy.httpPort),
  };
  const gitlab = deriveGitlab(config, s);
  const { rocketchat, mongo } = deriveRocketchat(config, s);
  const tls = deriveTls(config, s, [...gitlab.map((g) => g.hostname), ...(rocketchat ? [rocketchat.hostname] : [])]);
  const published = publishedPorts(config, gitlab);

  const problems = [
    ...checkPrefix(prefix, stack),
    ...checkInstanceNames(config),
    ...checkHostnames(gitlab, rocketchat),
    ...checkPublishedPorts(published),
    ...checkVersions(config),
    ...checkProxy(config),
    ...checkTls(config, tls, scheme, now),
  ];
  if (problems.length > 0) throw new TopologyError(problems);

  return {
    project: 'kytes',
    stack,
    prefix,
    domain: s.domain,
    timezone: config.timezone,
    docker: parseDockerHost(config.docker.host, config.docker.sshOpts),
    network: { name: config.network.name ?? prefix, subnet: config.network.subnet ?? defaultSubnet(prefix) },
    postgres: derivePostgres(config, s),
    redis: deriveRedis(config, s, gitlab.length),
    gitlab,
    mongo,
    rocketchat,
    nginx: deriveNginx(config, s, gitlab, rocketchat, tls),
    tls,
    ops: deriveOps(config, s),
    published,
  };
}
