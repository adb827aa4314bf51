import * as command from '@pulumi/command';
import * as pulumi from '@pulumi/pulumi';
import { DockerHost } from '../lib/topology';

/**
 * Shell commands run *on the Docker host itself* (where cron runs the ops scripts), as opposed to
 * `components/dockerExec.ts`, which runs the docker CLI on the machine running Pulumi.
 *
 * A `unix://` host is this machine: `command.local.Command` under bash. An `ssh://user@host[:port]` host
 * is reached by `command.remote.Command` (pulumi-command 1.2.1), which speaks SSH itself: it does not
 * read `~/.ssh/config` nor the `kytes:docker.sshOpts` given to the docker CLI. It authenticates with
 * {@link HostConnection.privateKey} when given, and otherwise with the ssh-agent at `$SSH_AUTH_SOCK`
 * of the process running Pulumi (the provider's `agentSocketPath` default).
 *
 * No command here takes `environment`: the ops scripts need no secret (they use what the containers
 * already hold), and over SSH pulumi-command sends variables with `Setenv`, which sshd drops unless
 * `AcceptEnv` allows them — and pulumi-command ignores that refusal. Nothing secret is ever placed in a
 * command string or stdin either, because a failing command's error repeats both its command string
 * and its output.
 */

/** How Pulumi logs in to an `ssh://` Docker host. Unused for a local host. */
export interface HostConnection {
  /** Private key text (OpenSSH/PEM), as a Pulumi secret. Default: none; the ssh-agent at `$SSH_AUTH_SOCK` is used. */
  readonly privateKey?: pulumi.Input<string>;
  /** The host's public key (`ssh-ed25519 AAAA…`) to check. Default: none, and pulumi-command accepts any host key. */
  readonly hostKey?: pulumi.Input<string>;
}

export interface HostCommandArgs {
  /** Bash script run on create, and again on update (when an input such as `stdin` changes). */
  readonly create: string;
  /**
   * Bash script run when the resource is deleted. Pulumi runs the copy stored in state, not the current
   * program's, so it must be self-contained: absolute paths, no reference to anything that may be gone.
   * Default: nothing runs on delete.
   */
  readonly delete?: string;
  /**
   * Fed to the script's standard input. A secret only with `logging: 'none'` and a script that never
   * prints it: pulumi-command repeats a failing command's string and output in its error, not its stdin.
   * Default: none.
   */
  readonly stdin?: pulumi.Input<string>;
  /** Any change replaces the resource, so `create` runs again. Default: none. */
  readonly triggers?: pulumi.Input<unknown>[];
  /** `stdoutAndStderr` only for commands whose output cannot contain a secret; `none` otherwise. */
  readonly logging: 'stdoutAndStderr' | 'none';
  /** Login details for an `ssh://` host. Default: the ssh-agent, user from the URL or root. */
  readonly connection?: HostConnection;
}

export type HostCommand = command.local.Command | command.remote.Command;

/** Single-quoted shell word: safe for any string. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A bash script that stops at the first failing command, unset variable or failing pipe stage. */
export function bashScript(...lines: string[]): string {
  return ['set -euo pipefail', ...lines].join('\n');
}

/**
 * The scripts dir, the cron file and the 0700 backup dir belong to root, and cron runs the scripts as
 * root. When Pulumi logs in as another user, the script re-runs itself under password-less sudo:
 * `$BASH_EXECUTION_STRING` is the text bash was given with `-c`, and `exec` keeps stdin.
 */
export const AS_ROOT = [
  'if [ "$(id -u)" -ne 0 ]; then',
  '  if ! sudo -n true 2>/dev/null; then',
  '    echo "kytes: $(id -un)@$(hostname) is neither root nor allowed password-less sudo; Kytes ops need root on the Docker host" >&2',
  '    exit 1',
  '  fi',
  '  exec sudo -n -- /bin/bash -c "$BASH_EXECUTION_STRING"',
  'fi',
].join('\n');

const BASH = ['/bin/bash', '-c'];

/** Over SSH the command goes to the login shell of the remote user; bash is asked for explicitly. */
function viaBash(script: string): string {
  return `/bin/bash -c ${shQuote(script)}`;
}

/** Declares a command run on the Docker host, locally or over SSH according to `host.kind`. */
export function hostCommand(
  name: string,
  host: DockerHost,
  args: HostCommandArgs,
  opts: pulumi.CustomResourceOptions,
): HostCommand {
  const common = {
    stdin: args.stdin,
    triggers: args.triggers,
    logging: args.logging,
    // The previous run's output would otherwise be handed to the next run (and, over SSH, via Setenv).
    addPreviousOutputInEnv: false,
  };
  if (host.kind === 'local') {
    return new command.local.Command(
      name,
      { ...common, create: args.create, delete: args.delete, interpreter: BASH },
      opts,
    );
  }
  if (!host.ssh) throw new Error(`Docker host ${host.url}: kind ssh without ssh details`);
  return new command.remote.Command(
    name,
    {
      ...common,
      connection: {
        host: host.ssh.host,
        port: host.ssh.port,
        // pulumi-command's own default, made explicit so state says who logs in.
        user: host.ssh.user ?? 'root',
        privateKey: args.connection?.privateKey === undefined ? undefined : pulumi.secret(args.connection.privateKey),
        hostKey: args.connection?.hostKey,
      },
      create: viaBash(args.create),
      delete: args.delete === undefined ? undefined : viaBash(args.delete),
    },
    opts,
  );
}
