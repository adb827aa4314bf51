import { KytesConfig } from '../config';
import {
  checkHostnames,
  checkInstanceNames,
  checkPrefix,
  checkConnectionBudget,
  checkProxy,
  checkPublishedPorts,
  checkVersions,
  publishedPorts,
} from './checks';
import { deriveConnection } from '../connection';
import { defaultSubnet, StackBasics } from './common';
import { derivePostgres } from './data';
import { deriveGitlab } from './gitlab';
import { deriveMail } from './mail';
import { deriveNginx } from './nginx';
import { deriveOps } from './ops';
import {
  checkNameLengths,
  checkNetworkNames,
  checkOpsPaths,
  checkSshPort,
  checkStackName,
  checkSubnetCapacity,
} from './limits';
import { deriveRocketchat } from './rocketchat';
import { checkTls, deriveTls } from './tls';
import { Topology, TopologyError } from './types';
import { resolveVersions } from './versions';

export * from './types';
export { defaultSubnet, externalUrl } from './common';
export { connectionBudget, instanceConnections } from './data';
export { GITLAB_MEMORY_MB, GITLAB_SHM_MB, gitlabTuning, pumaWorkersFor } from './gitlab';
export { ROCKETCHAT_PROBE_TIMEOUT_SECONDS } from './rocketchat';
export { ACME_WEBROOT, PEM_DIR, TLS_DIR } from './tls';
export { declaredVolumes } from './volumes';
export { opsScriptPath, SKIP_BACKUP_FILES, skipBackupFile } from './ops';

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
  const { versions, problems: versionProblems } = resolveVersions(config);
  const gitlab = deriveGitlab(config, s, versions.gitlab);
  const { rocketchat, mongo } = deriveRocketchat(config, s);
  const tls = deriveTls(config, s, [...gitlab.map((g) => g.hostname), ...(rocketchat ? [rocketchat.hostname] : [])]);
  const published = publishedPorts(config, gitlab);
  const postgres = derivePostgres(config, s, gitlab);

  const problems = [
    ...checkStackName(stack),
    ...checkPrefix(prefix, stack),
    ...checkInstanceNames(config),
    ...checkHostnames(gitlab, rocketchat),
    ...checkPublishedPorts(published),
    ...versionProblems,
    ...(versionProblems.length === 0 ? checkVersions(versions) : []),
    ...checkConnectionBudget(postgres),
    ...checkProxy(config),
    ...checkTls(config, tls, scheme, now),
  ];
  if (problems.length > 0) throw new TopologyError(problems);

  const topology: Topology = {
    project: 'kytes',
    stack,
    prefix,
    domain: s.domain,
    timezone: config.timezone,
    docker: deriveConnection(config.docker.host, config.docker.sshOpts, config.docker.hostKey),
    network: { name: config.network.name ?? prefix, subnet: config.network.subnet ?? defaultSubnet(prefix) },
    postgres,
    gitlab,
    mongo,
    rocketchat,
    nginx: deriveNginx(config, s, gitlab, rocketchat, tls),
    tls,
    ops: deriveOps(config, s),
    published,
    versions,
    mail: deriveMail(config),
    logs: { driver: 'json-file', maxSize: config.logs.maxSize, maxFiles: config.logs.maxFiles },
  };
  // Rules on derived names, paths and ports, read off the whole topology.
  const prefixKey = config.prefix === undefined ? `kytes:prefix (from the stack name ${stack})` : 'kytes:prefix';
  const derived = [
    ...checkNetworkNames(topology, prefixKey),
    ...checkNameLengths(topology, prefixKey),
    ...checkSshPort(topology),
    ...checkSubnetCapacity(topology),
    ...checkOpsPaths(topology, config),
  ];
  if (derived.length > 0) throw new TopologyError(derived);
  return topology;
}
