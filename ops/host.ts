import * as command from '@pulumi/command';
import * as pulumi from '@pulumi/pulumi';
import { DockerConnection, hostBash } from '../lib/connection';
import { shellWord } from '../lib/sinks';

/**
 * Shell commands run *on the Docker host itself* (where cron runs the ops scripts), as opposed to
 * `components/dockerExec.ts`, which runs the docker CLI there for a container.
 *
 * Both go through the stack's one connection (lib/connection.ts): a `unix://` host is this machine
 * and the script runs under bash; an `ssh://` host is reached by the OpenSSH client with the user,
 * port, `kytes:docker.sshOpts` and host-key checking the Docker provider uses too, so a key given
 * with `-i`, a jump host or a pinned host key applies to every command alike. Each is a
 * `command.local.Command` whose `interpreter` is that ssh command line: it is stored in state, so
 * the delete hooks run later by `pulumi destroy` reach the host the same way.
 *
 * No command here takes `environment`: the ops scripts need no secret (they use what the containers
 * already hold), and a variable of this machine never reaches an SSH host's command anyway (sshd
 * drops it unless `AcceptEnv` allows it). Nothing secret is ever placed in a command string or
 * stdin either, because a failing command's error repeats its command string and its output.
 */

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
}

export type HostCommand = command.local.Command;

/** A bash script that stops at the first failing command, unset variable or failing pipe stage. */
export function bashScript(...lines: string[]): string {
  return ['set -euo pipefail', ...lines].join('\n');
}

/**
 * `printf` of a message to stderr: the format is constant text, every value an argument quoted by
 * {@link shellWord}, so no value is read as format, expansion or syntax.
 */
export function say(format: string, ...values: string[]): string {
  if (/['\\]/.test(format) || (format.match(/%s/g) ?? []).length !== values.length) {
    throw new Error(`say: format ${JSON.stringify(format)} must be plain text with one %s per value`);
  }
  return ['printf', shellWord(`kytes: ${format}\\n`), ...values.map(shellWord), '>&2'].join(' ');
}

/**
 * The scripts dir, the cron file and the 0700 backup dir belong to root, and cron runs the scripts as
 * root. When Pulumi (or `npm run backup` and the other operator commands) logs in as another user, the
 * script re-runs itself under password-less sudo: `$BASH_EXECUTION_STRING` is the text bash was given
 * with `-c`, and `exec` keeps stdin. Without sudo, or when sudo wants a password, one line says so and
 * how to fix it.
 */
export const AS_ROOT = [
  'if [ "$(id -u)" -ne 0 ]; then',
  '  if ! command -v sudo >/dev/null 2>&1; then',
  '    echo "kytes: error: $(id -un)@$(uname -n) is not root and sudo is not installed there, and Kytes ops run as root on the Docker host: log in as root, or install sudo and allow $(id -un) password-less sudo; nothing was changed" >&2',
  '    exit 1',
  '  fi',
  '  if ! sudo -n true 2>/dev/null; then',
  '    echo "kytes: error: $(id -un)@$(uname -n) is not root and may not use sudo without a password, and Kytes ops run as root on the Docker host: log in as root, or allow $(id -un) password-less sudo there (a sudoers line such as: $(id -un) ALL=(root) NOPASSWD: ALL); nothing was changed" >&2',
  '    exit 1',
  '  fi',
  '  exec sudo -n -- /bin/bash -c "$BASH_EXECUTION_STRING"',
  'fi',
].join('\n');

/** Declares a command run on the Docker host, locally or over SSH according to `connection.kind`. */
export function hostCommand(
  name: string,
  connection: DockerConnection,
  args: HostCommandArgs,
  opts: pulumi.CustomResourceOptions,
): HostCommand {
  const create = hostBash(connection, args.create);
  return new command.local.Command(
    name,
    {
      create: create.command,
      delete: args.delete === undefined ? undefined : hostBash(connection, args.delete).command,
      interpreter: create.interpreter,
      stdin: args.stdin,
      triggers: args.triggers,
      logging: args.logging,
      // The previous run's output would otherwise be handed to the next run.
      addPreviousOutputInEnv: false,
    },
    opts,
  );
}

/**
 * Installs stdin as the cron file `cronFile` (mode 0644, as root), atomically: written under a dotted name
 * cron ignores, then renamed. Fails when the host has no cron directory; warns when no cron daemon is
 * installed, since `what` (e.g. "scheduled backups") would then never run.
 */
export function installCronFileScript(cronFile: string, what: string): string {
  const slash = cronFile.lastIndexOf('/');
  const cronDir = cronFile.slice(0, slash);
  const tmp = shellWord(`${cronDir}/.${cronFile.slice(slash + 1)}.tmp`);
  return bashScript(
    AS_ROOT,
    `if [ ! -d ${shellWord(cronDir)} ]; then ${say('no %s on this host; install cron', cronDir)}; exit 1; fi`,
    `command -v cron >/dev/null || command -v crond >/dev/null || ${say('warning: no cron daemon found; %s will not run until one is installed', what)}`,
    `cat > ${tmp}`,
    `chmod 0644 ${tmp}`,
    `mv -f ${tmp} ${shellWord(cronFile)}`,
  );
}
