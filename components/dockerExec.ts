import * as command from '@pulumi/command';
import * as pulumi from '@pulumi/pulumi';
import { DockerConnection, hostBash, hostDockerUrl } from '../lib/connection';
import { shellWord } from '../lib/sinks';

export interface DockerExecArgs {
  /** How the Docker host is reached: the stack's one connection (`topology.docker`). */
  readonly docker: DockerConnection;
  /** Container the command runs in. */
  readonly container: string;
  /** The command and its arguments inside the container; each is one word, never reinterpreted. */
  readonly command: readonly string[];
  /** Fed to the command's stdin (SQL, mongosh code). Never contains a secret. */
  readonly stdin?: pulumi.Input<string>;
  /** Secret values, by variable name; they reach the container as `docker exec -e NAME`. */
  readonly secretEnv?: Record<string, pulumi.Input<string>>;
  /** Re-run when any of these change (e.g. the container id after a replacement). */
  readonly triggers: pulumi.Input<unknown>[];
}

const VARIABLE = /^[A-Z_][A-Z0-9_]*$/;

/**
 * The `docker exec` line, run by the docker CLI *on the Docker host*, against the engine's socket
 * there (the same one the ops scripts and cron use).
 */
function execLine(args: DockerExecArgs, names: readonly string[]): string {
  return [
    `DOCKER_HOST=${shellWord(hostDockerUrl(args.docker))}`,
    'exec docker exec -i',
    ...names.map((n) => `-e ${n}`),
    shellWord(args.container),
    ...args.command.map(shellWord),
  ].join(' ');
}

/**
 * What the step's local process runs: an interpreter and, as its last argument, the command. On a
 * local host: bash runs `docker exec` itself, with the secrets in its environment. On an SSH host:
 * ssh with the stack's connection runs bash there; the secrets cross on ssh's standard input,
 * NUL-terminated, ahead of `stdin` (a fixed local wrapper prints them from its environment), the
 * remote bash reads them into its own environment and `docker exec -e NAME` forwards them. No
 * secret is ever in a command line, here or on the host, and none needs sshd's `AcceptEnv`.
 */
export function dockerExecCommand(args: DockerExecArgs): { interpreter: string[]; command: string } {
  const names = Object.keys(args.secretEnv ?? {}).sort();
  const bad = names.find((n) => !VARIABLE.test(n));
  if (bad !== undefined) throw new Error(`dockerExec: ${JSON.stringify(bad)} is not an environment variable name`);
  const c = args.docker;
  if (!c.ssh) return hostBash(c, execLine(args, names));
  const remote = [
    'set -euo pipefail',
    ...names.map((n) => `IFS= read -r -d "" ${n} && export ${n}`),
    execLine(args, names),
  ];
  const run = hostBash(c, remote.join('\n'));
  if (names.length === 0) return run;
  const wrapper = `set -euo pipefail; { printf '%s\\0' ${names.map((n) => `"$${n}"`).join(' ')}; cat; } | "$@"`;
  return { interpreter: ['/bin/bash', '-c', wrapper, 'kytes-docker-exec', ...run.interpreter], command: run.command };
}

/**
 * A post-start step run inside a container through the docker CLI (database setup, replica-set
 * initiation). Secrets travel only in `environment`; logging is off when there are any, because a
 * failing command's error repeats its output.
 */
export function dockerExec(
  name: string,
  args: DockerExecArgs,
  opts: pulumi.CustomResourceOptions,
): command.local.Command {
  const hasSecrets = Object.keys(args.secretEnv ?? {}).length > 0;
  const run = dockerExecCommand(args);
  return new command.local.Command(
    name,
    {
      create: run.command,
      stdin: args.stdin,
      interpreter: run.interpreter,
      environment: hasSecrets ? { ...args.secretEnv } : undefined,
      triggers: args.triggers,
      logging: hasSecrets ? 'none' : 'stdoutAndStderr',
      addPreviousOutputInEnv: false,
    },
    opts,
  );
}
