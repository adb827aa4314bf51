import { dockerSocketPath, parseSshUrl } from './config/ssh';
import { argvOperand, shellWord } from './sinks';

/**
 * The one description of how Kytes reaches the Docker host, derived once in the topology and used
 * identically by every place that reaches it: the Docker provider (`host` + `sshOpts`), the
 * post-start `docker exec` steps (components/dockerExec.ts), the ops Commands (ops/host.ts), the
 * operator CLI (ops/cli.ts) and, on the host, the ops scripts run by cron (`DOCKER_HOST` in
 * kytes-lib.sh). Pure.
 *
 * Everything that crosses SSH goes through the OpenSSH client with the same argument list, so the
 * user, port, `kytes:docker.sshOpts` (`-i`, `-J`, `-o ProxyJump=…`, `-F`) and host-key checking are
 * the same everywhere. (pulumi-command's `remote.Command` speaks SSH itself and takes none of
 * ssh's options, and the docker CLI's `ssh://` helper takes none either: `docker -H ssh://…` runs
 * `ssh -o ConnectTimeout=30 -T [-l user] [-p port] -- host docker system dial-stdio` with no room
 * for more. Both would bypass `sshOpts`; neither is used.)
 */
export interface DockerConnection {
  readonly kind: 'local' | 'ssh';
  /** `kytes:docker.host`, as the Docker provider is given it. */
  readonly url: string;
  /** The engine's socket on the Docker host, as the docker CLI there must use it. */
  readonly socket: string;
  /** For an `ssh://` host: who logs in where, with which options and which host key. */
  readonly ssh?: SshLogin;
}

export interface SshLogin {
  readonly host: string;
  readonly port: number;
  /** Default: ssh's own (the local user name, or `User` from ~/.ssh/config). */
  readonly user?: string;
  /** `kytes:docker.sshOpts`, checked by lib/config/ssh.ts. */
  readonly options: readonly string[];
  /** `kytes:docker.hostKey`: the only key accepted. Default: the user's known_hosts. */
  readonly hostKey?: string;
}

export function deriveConnection(url: string, sshOpts: readonly string[], hostKey?: string): DockerConnection {
  const ssh = parseSshUrl(url);
  if (!ssh) return { kind: 'local', url, socket: dockerSocketPath(url) };
  return {
    kind: 'ssh',
    url,
    socket: dockerSocketPath(url),
    ssh: {
      host: ssh.host,
      port: ssh.port,
      ...(ssh.user === undefined ? {} : { user: ssh.user }),
      options: [...sshOpts],
      ...(hostKey === undefined ? {} : { hostKey }),
    },
  };
}

/**
 * ssh options Kytes always sets, before the user's: ssh keeps the first value it reads for an
 * option, so these win. BatchMode: never prompt (cron, Pulumi). StrictHostKeyChecking=yes: an
 * unknown or changed host key is refused, never accepted. With a pinned key, known_hosts files are
 * ignored and only that key is offered for the host being checked (`%H` is the name ssh looks up,
 * `[host]:port` off port 22; KnownHostsCommand needs OpenSSH 8.5 or later).
 */
export function sshOptions(s: SshLogin): string[] {
  return [
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    ...(s.hostKey === undefined
      ? []
      : [
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'GlobalKnownHostsFile=/dev/null',
          '-o',
          `KnownHostsCommand=/bin/echo %H ${s.hostKey}`,
        ]),
    ...s.options,
  ];
}

/** ssh's arguments up to and including the host; the remote command follows. */
export function sshArgv(s: SshLogin): string[] {
  return [
    ...sshOptions(s),
    '-p',
    String(s.port),
    ...(s.user === undefined ? [] : ['-l', argvOperand(s.user, 'ssh user')]),
    '--',
    argvOperand(s.host, 'ssh host'),
  ];
}

/** The Docker provider's `sshOpts`: the same options (it adds user, port and host from the URL). */
export function providerSshOpts(c: DockerConnection): string[] {
  return c.ssh ? sshOptions(c.ssh) : [];
}

/** `DOCKER_HOST` for the docker CLI on the Docker host itself (ops scripts, cron). */
export function hostDockerUrl(c: DockerConnection): string {
  return `unix://${c.socket}`;
}

/**
 * How to run a bash script on the Docker host: the program and arguments a local process runs,
 * with the script as the last argument. Locally: bash. Over SSH: ssh with {@link sshArgv}, asking
 * for bash explicitly (the remote login shell may be another) with the script as one quoted word.
 */
export function hostBash(c: DockerConnection, script: string): { interpreter: string[]; command: string } {
  if (!c.ssh) return { interpreter: ['/bin/bash', '-c'], command: script };
  return { interpreter: ['ssh', ...sshArgv(c.ssh)], command: `/bin/bash -c ${shellWord(script)}` };
}
