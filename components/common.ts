import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { LogLimits, Volume } from '../lib/topology';
import { LABELS, Service } from '../lib/labels';
import { envEntry } from '../lib/sinks';

/** The label the policy pack reads: `retainOnDelete` itself is invisible to policies. */
export const RETAIN_LABEL = LABELS.retainOnDelete;

export interface ContainerEnv {
  readonly envs: pulumi.Output<string[]>;
  /** Names of the variables holding secrets, declared in the `kytes.secret-env` label. */
  readonly secretNames: string[];
}

/**
 * A container's environment, sorted for stable diffs. Secret values are wrapped as Pulumi secrets, which
 * makes the whole list secret in state; their names go into a label because a policy pack sees secrets
 * as plain text and needs the program's word for which values are secrets.
 */
export function containerEnv(
  plain: Record<string, string>,
  secret: Record<string, pulumi.Input<string>> = {},
): ContainerEnv {
  const vars: Record<string, pulumi.Input<string>> = { ...plain };
  for (const [k, v] of Object.entries(secret)) vars[k] = pulumi.secret(v);
  return { envs: env(vars), secretNames: Object.keys(secret).sort() };
}

/** Labels every Kytes container carries; `kytes.service` lets policies and ops recognise it. */
export function containerLabels(
  prefix: string,
  service: Service,
  extra: Record<string, string> = {},
  secretEnv: readonly string[] = [],
) {
  const all: Record<string, string> = { 'kytes.prefix': prefix, [LABELS.service]: service, ...extra };
  if (secretEnv.length > 0) all[LABELS.secretEnv] = secretEnv.join(',');
  return Object.keys(all)
    .sort()
    .map((label) => ({ label, value: all[label] }));
}

/**
 * A stateful volume that `pulumi destroy` leaves on the host. Docker's volume create is idempotent for an
 * existing name and driver, so the next `pulumi up` re-adopts it with its data. The option and the
 * label are set here together so they cannot diverge.
 */
export function retainedVolume(
  resourceName: string,
  volume: Volume,
  prefix: string,
  parent: pulumi.Resource,
): docker.Volume {
  return new docker.Volume(
    resourceName,
    {
      name: volume.name,
      labels: [
        { label: 'kytes.prefix', value: prefix },
        { label: RETAIN_LABEL, value: 'true' },
      ],
    },
    { parent, retainOnDelete: true },
  );
}

/**
 * The image is kept locally on destroy (a restore needs the exact same GitLab), and containers get its
 * image id: passing the name makes the provider replace containers on every run (pulumi-docker#325).
 */
export function pinnedImage(resourceName: string, ref: string, parent: pulumi.Resource): docker.RemoteImage {
  return new docker.RemoteImage(resourceName, { name: ref, keepLocally: true }, { parent });
}

/** Every service container is replaced, not edited, when its health check changes (kreuzwerker #988), and
 * removed before its replacement is created, since names and host ports are fixed. */
export function containerOptions(
  parent: pulumi.Resource,
  dependsOn: pulumi.Input<pulumi.Resource>[] = [],
): pulumi.CustomResourceOptions {
  return { parent, dependsOn, deleteBeforeReplace: true, replaceOnChanges: ['healthcheck'] };
}

/**
 * Rotated `json-file` logs (`kytes:logs`): without `max-size` Docker keeps one log file per container that
 * grows until the disk is full. Spread into every container's args; a unit test checks none misses it.
 */
export function containerLogging(logs: LogLimits): Pick<docker.ContainerArgs, 'logDriver' | 'logOpts'> {
  return { logDriver: logs.driver, logOpts: { 'max-size': logs.maxSize, 'max-file': String(logs.maxFiles) } };
}

/** Duration string Docker's API and the provider accept. */
export const seconds = (n: number) => `${n}s`;

export function networkAttachment(network: pulumi.Input<string>, alias: string) {
  return [{ name: network, aliases: [alias] }];
}

export function env(vars: Record<string, pulumi.Input<string>>): pulumi.Output<string[]> {
  return pulumi.all(
    Object.keys(vars)
      .sort()
      .map((k) => pulumi.output(vars[k]).apply((v) => envEntry(k, v))),
  );
}
