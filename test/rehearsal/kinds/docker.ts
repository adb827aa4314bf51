import { EngineError } from '../engine';
import { asArray, onlyKnown, ResourceKind } from './types';

/**
 * `docker:index/network:Network`, `docker:index/volume:Volume`, `docker:index/remoteImage:RemoteImage`
 * and the Docker provider resource, as pulumi-docker 5.2 (terraform-provider-docker 4.5) handles them:
 * every network and volume input is ForceNew; an image is "pulled" by resolving its stand-in
 * (standins.ts), and its `name` is ForceNew.
 */
const labels = (v: unknown) => Object.fromEntries(asArray(v).map((l) => [String(l.label), String(l.value)]));

const NETWORK_FIELDS = [
  'name',
  'driver',
  'ipamConfigs',
  'labels',
  'internal',
  'attachable',
  'ipv6',
  'options',
  'checkDuplicate',
];
export const networkKind: ResourceKind = {
  sets: ['labels', 'ipamConfigs'],
  validate(inputs) {
    onlyKnown('a docker.Network', inputs, NETWORK_FIELDS);
    for (const c of asArray(inputs.ipamConfigs))
      onlyKnown('docker.Network ipamConfigs', c, ['subnet', 'gateway', 'ipRange']);
    for (const l of asArray(inputs.labels)) onlyKnown('docker.Network labels', l, ['label', 'value']);
  },
  effect: () => 'replace',
  async create(ctx, r) {
    const engine = await ctx.engine(r.provider);
    const i = r.inputs;
    const created = (await engine.request('POST', '/networks/create', {
      Name: i.name,
      CheckDuplicate: true,
      Driver: i.driver ?? 'bridge',
      Internal: Boolean(i.internal),
      Attachable: Boolean(i.attachable),
      EnableIPv6: Boolean(i.ipv6),
      Options: i.options ?? {},
      Labels: labels(i.labels),
      IPAM: {
        Driver: 'default',
        Config: asArray(i.ipamConfigs).map((c) => ({ Subnet: c.subnet, Gateway: c.gateway, IPRange: c.ipRange })),
      },
    })) as { Id: string };
    return { id: created.Id, outputs: { id: created.Id, name: i.name } };
  },
  update: async (_ctx, old) => ({ id: old.id, outputs: old.outputs }),
  async delete(ctx, state) {
    const engine = await ctx.engine(state.provider);
    await engine.request('DELETE', `/networks/${state.id}`).catch((e) => {
      if (!(e instanceof EngineError && e.status === 404)) throw e;
    });
  },
};

export const volumeKind: ResourceKind = {
  sets: ['labels'],
  validate(inputs) {
    onlyKnown('a docker.Volume', inputs, ['name', 'driver', 'driverOpts', 'labels']);
    for (const l of asArray(inputs.labels)) onlyKnown('docker.Volume labels', l, ['label', 'value']);
  },
  effect: () => 'replace',
  async create(ctx, r) {
    const engine = await ctx.engine(r.provider);
    const i = r.inputs;
    // Creating a volume that exists returns it (Docker's create is idempotent for a name and driver):
    // this is how a retained volume is re-adopted by the next `up`.
    const v = (await engine.request('POST', '/volumes/create', {
      Name: i.name,
      Driver: i.driver ?? 'local',
      DriverOpts: i.driverOpts ?? {},
      Labels: labels(i.labels),
    })) as { Name: string };
    return { id: v.Name, outputs: { id: v.Name, name: v.Name } };
  },
  update: async (_ctx, old) => ({ id: old.id, outputs: old.outputs }),
  async delete(ctx, state) {
    const engine = await ctx.engine(state.provider);
    // The provider retries "volume is in use" until its timeout; here the containers are gone first.
    await engine.request('DELETE', `/volumes/${encodeURIComponent(state.id)}?force=true`).catch((e) => {
      if (!(e instanceof EngineError && e.status === 404)) throw e;
    });
  },
};

export const remoteImageKind: ResourceKind = {
  validate(inputs) {
    onlyKnown('a docker.RemoteImage', inputs, [
      'name',
      'keepLocally',
      'forceRemove',
      'triggers',
      'pullTriggers',
      'platform',
    ]);
  },
  effect: (key) => (key === 'keepLocally' || key === 'forceRemove' ? 'state' : 'replace'),
  async create(ctx, r) {
    const engine = await ctx.engine(r.provider);
    const imageId = await ctx.standins.pull(engine, String(r.inputs.name));
    // The provider's id is the image id followed by the name.
    return { id: `${imageId}${String(r.inputs.name)}`, outputs: { imageId, repoDigest: '' } };
  },
  update: async (_ctx, old) => ({ id: old.id, outputs: old.outputs }),
  async delete(ctx, state) {
    if (state.inputs.keepLocally === true) return;
    const engine = await ctx.engine(state.provider);
    await ctx.standins.remove(engine, String(state.inputs.name), state.inputs.forceRemove === true);
  },
};

/** `pulumi:providers:docker`: the harness reads `host` and `sshOpts` from it (see Deployer.engine). */
export const dockerProviderKind: ResourceKind = {
  validate(inputs) {
    onlyKnown('the docker provider', inputs, ['host', 'sshOpts', 'version', 'caMaterial', 'certPath']);
    if (inputs.caMaterial !== undefined || inputs.certPath !== undefined) {
      throw new Error('rehearsal: TLS Docker hosts are not supported by the harness');
    }
  },
  effect: () => 'update',
  create: async (_ctx, r) => ({ id: `${r.name}-provider`, outputs: {} }),
  update: async (_ctx, old) => ({ id: old.id, outputs: old.outputs }),
  delete: async () => undefined,
};
