import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { Topology } from '../lib/topology';

export interface StackNetworkArgs {
  /** The stack topology; the network's name and subnet come from `topology.network`. */
  readonly topology: Topology;
}

/** The one user-defined bridge network: containers find each other by alias through Docker's DNS. */
export class StackNetwork extends pulumi.ComponentResource {
  readonly network: docker.Network;
  readonly name: pulumi.Output<string>;

  constructor(name: string, args: StackNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kytes:network:StackNetwork', name, {}, opts);
    const t = args.topology;
    this.network = new docker.Network(
      `${name}-bridge`,
      {
        name: t.network.name,
        driver: 'bridge',
        ipamConfigs: [{ subnet: t.network.subnet }],
        labels: [{ label: 'kytes.prefix', value: t.prefix }],
      },
      { parent: this },
    );
    this.name = this.network.name;
    this.registerOutputs({ name: this.name });
  }
}
