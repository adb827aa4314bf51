import * as command from '@pulumi/command';
import * as pulumi from '@pulumi/pulumi';
import { DockerHost } from '../lib/topology';

export interface DockerExecArgs {
  /** Docker host the container runs on; the docker CLI reaches `ssh://` hosts itself. */
  readonly docker: DockerHost;
  /** Shell script run by bash on the machine running Pulumi. Never contains a secret. */
  readonly script: pulumi.Input<string>;
  /** Fed to the script's stdin (SQL, mongosh code). Never contains a secret. */
  readonly stdin?: pulumi.Input<string>;
  /** Secret values, by variable name; the script forwards them with `docker exec -e NAME`. */
  readonly secretEnv?: Record<string, pulumi.Input<string>>;
  /** Re-run when any of these change (e.g. the container id after a replacement). */
  readonly triggers: pulumi.Input<unknown>[];
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
  return new command.local.Command(
    name,
    {
      create: args.script,
      stdin: args.stdin,
      interpreter: ['/bin/bash', '-c'],
      environment: { DOCKER_HOST: args.docker.url, ...(args.secretEnv ?? {}) },
      triggers: args.triggers,
      logging: hasSecrets ? 'none' : 'stdoutAndStderr',
      addPreviousOutputInEnv: false,
    },
    opts,
  );
}
