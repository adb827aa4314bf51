import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { Volume } from '../lib/topology';

/** The label the policy pack reads: `retainOnDelete` itself is invisible to policies. */
export const RETAIN_LABEL = 'kytes.retain-on-delete';
export const SERVICE_LABEL = 'kytes.service';

export type Service = 'postgres' | 'redis' | 'gitlab' | 'mongo' | 'rocketchat' | 'nginx';

/** Labels every Kytes container carries; `kytes.service` lets policies and ops recognise it. */
export function containerLabels(prefix: string, service: Service, extra: Record<string, string> = {}) {
  const all: Record<string, string> = { 'kytes.prefix': prefix, [SERVICE_LABEL]: service, ...extra };
  return Object.keys(all)
    .sort()
    .map((label) => ({ label, value: all[label] }));
}

/**
 * A stateful volume that `pulumi destroy` leaves on the host. Docker's volume create is idempotent for an
 * existing name and driver, so the next `pulumi up` re-adopts it with its data. The option and the
 * label are set here together so they cannot diverge.
 */
export function retainedVolume(resourceName: string, volume: Volume, prefix: string, parent: pulumi.Resource): docker.Volume {
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
export function containerOptions(parent: pulumi.Resource, dependsOn: pulumi.Input<pulumi.Resource>[] = []): pulumi.CustomResourceOptions {
  return { parent, dependsOn, deleteBeforeReplace: true, replaceOnChanges: ['healthcheck'] };
}

/** Duration string Docker's API and the provider accept. */
export const seconds = (n: number) => `${n}s`;

export function networkAttachment(network: pulumi.Input<string>, alias: string) {
  return [{ name: network, aliases: [alias] }];
}

export function env(vars: Record<string, pulumi.Input<string>>): pulumi.Output<string[]> {
  return pulumi.all(Object.keys(vars).sort().map((k) => pulumi.output(vars[k]).apply((v) => `${k}=${v}`)));
}
