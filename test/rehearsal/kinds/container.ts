import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import { Engine, EngineError } from '../engine';
import { tarOneFile, TarEntry } from '../tar';
import { asArray, Context, Effect, onlyKnown, PartialCreate, ResourceKind, ResourceState } from './types';

/**
 * `docker:index/container:Container`, as pulumi-docker 5.2 (terraform-provider-docker 4.5,
 * internal/provider/resource_docker_container*.go) creates, updates and deletes it, over the Engine API.
 *
 * THE TRANSLATION TABLE: every input the program may set is one entry below, with
 *  - `effect`: what the provider does when it changes (`replace`: ForceNew in the provider schema;
 *    `update`: applied in place by ContainerUpdate; `state`: recorded in state only, nothing changes on
 *    the running container — e.g. `healthcheck`, kreuzwerker #988);
 *  - `sub`: the fields allowed inside it (nested objects and lists of objects);
 *  - `apply`: how it is written into the create request (Config / HostConfig / the steps after create).
 * A field that is not here fails the run (`validate`): add it here with the provider's behaviour.
 */
interface Spec {
  readonly engine: Engine;
  /** Hard resource limits the engine cannot raise (see engineCeilings), by Docker ulimit name. */
  readonly ceilings: Readonly<Record<string, number>>;
  name?: string;
  readonly config: Record<string, unknown>;
  readonly host: Record<string, unknown>;
  readonly networks: { name: string; aliases: string[]; ipv4?: string; ipv6?: string }[];
  readonly uploads: TarEntry[];
  /** Differences from the real provider that this request carries (e.g. start_interval on an old engine). */
  readonly notes: string[];
}

interface Field {
  readonly effect: Effect;
  readonly sub?: readonly string[];
  readonly apply?: (value: unknown, spec: Spec) => void;
}

const MB = 1024 * 1024;
const str = (v: unknown) => String(v);
const strings = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
const kv = (v: unknown, key: string, value: string) =>
  Object.fromEntries(asArray(v).map((x) => [String(x[key]), String(x[value] ?? '')]));

/** Go's time.ParseDuration, in nanoseconds (`1m30s`, `500ms`, `2h`). */
export function durationNs(text: string): number {
  if (text === '0') return 0;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * unit[m[2]];
    matched = re.lastIndex;
  }
  if (matched !== text.length || text.length === 0) throw new Error(`rehearsal: "${text}" is not a Go duration`);
  return Math.round(total);
}

function resolveId(kind: 'passwd' | 'group', value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(String(value))) return Number(value);
  // "Names are resolved using the Terraform host's user database" (provider docs).
  const line = execFileSync('getent', [kind, String(value)], { encoding: 'utf8' }).trim();
  return Number(line.split(':')[2]);
}

export const CONTAINER_FIELDS: Readonly<Record<string, Field>> = {
  name: { effect: 'replace', apply: (v, s) => (s.name = str(v)) },
  image: { effect: 'replace', apply: (v, s) => (s.config.Image = str(v)) },
  hostname: { effect: 'replace', apply: (v, s) => (s.config.Hostname = str(v)) },
  domainname: { effect: 'replace', apply: (v, s) => (s.config.Domainname = str(v)) },
  user: { effect: 'replace', apply: (v, s) => (s.config.User = str(v)) },
  workingDir: { effect: 'replace', apply: (v, s) => (s.config.WorkingDir = str(v)) },
  envs: { effect: 'replace', apply: (v, s) => (s.config.Env = strings(v)) },
  command: {
    effect: 'replace',
    apply: (v, s) => {
      if (strings(v).some((x) => x === '')) throw new Error('values for command may not be empty');
      s.config.Cmd = strings(v);
    },
  },
  entrypoints: { effect: 'replace', apply: (v, s) => (s.config.Entrypoint = strings(v)) },
  labels: { effect: 'replace', sub: ['label', 'value'], apply: (v, s) => (s.config.Labels = kv(v, 'label', 'value')) },
  stopSignal: { effect: 'replace', apply: (v, s) => (s.config.StopSignal = str(v)) },
  stopTimeout: { effect: 'replace', apply: (v, s) => (s.config.StopTimeout = Number(v)) },
  tty: { effect: 'replace', apply: (v, s) => (s.config.Tty = Boolean(v)) },
  stdinOpen: { effect: 'replace', apply: (v, s) => (s.config.OpenStdin = Boolean(v)) },
  ports: {
    effect: 'replace',
    sub: ['internal', 'external', 'ip', 'protocol'],
    apply: (v, s) => {
      const exposed: Record<string, object> = {};
      const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
      for (const p of asArray(v)) {
        const key = `${Number(p.internal)}/${str(p.protocol ?? 'tcp')}`;
        exposed[key] = {};
        const binding = {
          HostIp: str(p.ip ?? '0.0.0.0'),
          HostPort: p.external === undefined ? '' : String(p.external),
        };
        (bindings[key] ??= []).push(binding);
      }
      s.config.ExposedPorts = exposed;
      s.host.PortBindings = bindings;
    },
  },
  volumes: {
    effect: 'replace',
    sub: ['volumeName', 'containerPath', 'hostPath', 'fromContainer', 'readOnly'],
    apply: (v, s) => {
      const vols: Record<string, object> = {};
      const binds: string[] = [];
      const from: string[] = [];
      for (const x of asArray(v)) {
        const source = x.hostPath ?? x.volumeName;
        if (x.fromContainer !== undefined) from.push(str(x.fromContainer));
        else if (x.containerPath === undefined)
          throw new Error('volume entry without container path or source container');
        else {
          vols[str(x.containerPath)] = {};
          if (source !== undefined) binds.push(`${str(source)}:${str(x.containerPath)}:${x.readOnly ? 'ro' : 'rw'}`);
        }
      }
      if (Object.keys(vols).length > 0) s.config.Volumes = vols;
      if (binds.length > 0) s.host.Binds = binds;
      if (from.length > 0) s.host.VolumesFrom = from;
    },
  },
  mounts: {
    effect: 'replace',
    sub: ['type', 'target', 'source', 'readOnly', 'tmpfsOptions', 'bindOptions', 'volumeOptions'],
    apply: (v, s) => {
      s.host.Mounts = asArray(v).map((m) => {
        onlyKnown('a mounts[].tmpfsOptions', m.tmpfsOptions, ['sizeBytes', 'mode']);
        if (m.bindOptions !== undefined || m.volumeOptions !== undefined) {
          throw new Error(
            'rehearsal: mounts[].bindOptions/volumeOptions are not translated yet; add them to container.ts',
          );
        }
        const t = m.tmpfsOptions as { sizeBytes?: number; mode?: number } | undefined;
        return {
          Type: str(m.type),
          Target: str(m.target),
          Source: m.source === undefined ? '' : str(m.source),
          ReadOnly: Boolean(m.readOnly),
          ...(t ? { TmpfsOptions: { SizeBytes: t.sizeBytes, Mode: t.mode } } : {}),
        };
      });
    },
  },
  tmpfs: { effect: 'state', apply: (v, s) => (s.host.Tmpfs = v) },
  networksAdvanced: {
    effect: 'replace',
    sub: ['name', 'aliases', 'ipv4Address', 'ipv6Address'],
    apply: (v, s) => {
      for (const n of asArray(v)) {
        s.networks.push({
          name: str(n.name),
          aliases: strings(n.aliases),
          ipv4: n.ipv4Address as string | undefined,
          ipv6: n.ipv6Address as string | undefined,
        });
      }
    },
  },
  networkMode: { effect: 'replace', apply: (v, s) => (s.host.NetworkMode = str(v)) },
  uploads: {
    effect: 'replace',
    sub: ['file', 'content', 'contentBase64', 'source', 'executable', 'permissions', 'owner', 'group', 'sourceHash'],
    apply: (v, s) => {
      for (const u of asArray(v)) {
        const given = [u.content, u.contentBase64, u.source].filter((x) => x !== undefined && x !== '');
        if (given.length !== 1)
          throw new Error("error with upload content: exactly one of 'content', 'content_base64', 'source'");
        if (u.source !== undefined)
          throw new Error('rehearsal: uploads[].source is not translated yet; add it to container.ts');
        const content =
          u.content !== undefined ? Buffer.from(str(u.content), 'utf8') : Buffer.from(str(u.contentBase64), 'base64');
        const mode = u.permissions !== undefined ? parseInt(str(u.permissions), 8) : u.executable ? 0o744 : 0o644;
        s.uploads.push({
          name: str(u.file),
          content,
          mode,
          uid: resolveId('passwd', u.owner),
          gid: resolveId('group', u.group),
        });
      }
    },
  },
  healthcheck: {
    // Not ForceNew in the provider and not applied by its Update: a change only reaches state (#988).
    effect: 'state',
    sub: ['tests', 'interval', 'timeout', 'startPeriod', 'startInterval', 'retries'],
    apply: (v, s) => {
      const h = v as Record<string, unknown>;
      const ns = (x: unknown) => (x === undefined ? 0 : durationNs(str(x)));
      const hc: Record<string, unknown> = {
        Test: strings(h.tests),
        Interval: ns(h.interval),
        Timeout: ns(h.timeout),
        StartPeriod: ns(h.startPeriod),
        Retries: Number(h.retries ?? 0),
      };
      const start = ns(h.startInterval);
      if (start > 0) {
        if (s.engine.supports('1.44')) hc.StartInterval = start;
        else {
          // Docker < 25 has no start interval: probe at the start interval throughout, so the first healthy
          // report comes as soon as on a newer engine (checks are then more frequent than `interval` asks).
          hc.Interval = start;
          s.notes.push(
            `healthcheck: engine API ${s.engine.version} has no start_interval; interval ${h.interval} → ${h.startInterval}`,
          );
        }
      }
      s.config.Healthcheck = hc;
    },
  },
  restart: { effect: 'update', apply: (v, s) => ((s.host.RestartPolicy as Record<string, unknown>).Name = str(v)) },
  maxRetryCount: {
    effect: 'update',
    apply: (v, s) => ((s.host.RestartPolicy as Record<string, unknown>).MaximumRetryCount = Number(v)),
  },
  memory: { effect: 'update', apply: (v, s) => (s.host.Memory = Number(v) * MB) },
  memoryReservation: { effect: 'update', apply: (v, s) => (s.host.MemoryReservation = Number(v) * MB) },
  memorySwap: { effect: 'update', apply: (v, s) => (s.host.MemorySwap = Number(v) > 0 ? Number(v) * MB : Number(v)) },
  cpuShares: { effect: 'update', apply: (v, s) => (s.host.CpuShares = Number(v)) },
  cpuSet: { effect: 'update', apply: (v, s) => (s.host.CpusetCpus = str(v)) },
  cpus: { effect: 'replace', apply: (v, s) => (s.host.NanoCpus = Math.round(Number(v) * 1e9)) },
  shmSize: { effect: 'replace', apply: (v, s) => (s.host.ShmSize = Number(v) * MB) },
  ulimits: {
    effect: 'replace',
    sub: ['name', 'soft', 'hard'],
    apply: (v, s) => {
      s.host.Ulimits = asArray(v).map((u) => {
        const name = str(u.name);
        const [soft, hard] = [Number(u.soft), Number(u.hard)];
        const max = s.ceilings[name];
        if (max === undefined || (soft <= max && hard <= max)) return { Name: name, Soft: soft, Hard: hard };
        // An engine without CAP_SYS_RESOURCE cannot raise a limit above its own: runc would refuse to start.
        s.notes.push(
          `ulimits: ${name} ${soft}/${hard} → ${Math.min(soft, max)}/${Math.min(hard, max)} (the engine cannot raise it)`,
        );
        return { Name: name, Soft: Math.min(soft, max), Hard: Math.min(hard, max) };
      });
    },
  },
  sysctls: { effect: 'replace', apply: (v, s) => (s.host.Sysctls = v) },
  capabilities: {
    effect: 'replace',
    sub: ['adds', 'drops'],
    apply: (v, s) => {
      const c = v as { adds?: string[]; drops?: string[] };
      s.host.CapAdd = c.adds ?? [];
      s.host.CapDrop = c.drops ?? [];
    },
  },
  securityOpts: { effect: 'replace', apply: (v, s) => (s.host.SecurityOpt = strings(v)) },
  readOnly: { effect: 'replace', apply: (v, s) => (s.host.ReadonlyRootfs = Boolean(v)) },
  privileged: { effect: 'replace', apply: (v, s) => (s.host.Privileged = Boolean(v)) },
  init: { effect: 'state', apply: (v, s) => (s.host.Init = Boolean(v)) },
  dns: { effect: 'replace', apply: (v, s) => (s.host.Dns = strings(v)) },
  hosts: {
    effect: 'replace',
    sub: ['host', 'ip'],
    apply: (v, s) => (s.host.ExtraHosts = asArray(v).map((h) => `${str(h.host)}:${str(h.ip)}`)),
  },
  logDriver: { effect: 'replace', apply: (v, s) => ((s.host.LogConfig as Record<string, unknown>).Type = str(v)) },
  logOpts: { effect: 'replace', apply: (v, s) => ((s.host.LogConfig as Record<string, unknown>).Config = v) },
  // Used by create / delete, not part of the request.
  wait: { effect: 'state' },
  waitTimeout: { effect: 'state' },
  start: { effect: 'state' },
  mustRun: { effect: 'state' },
  destroyGraceSeconds: { effect: 'state' },
  removeVolumes: { effect: 'state' },
};

export function validateContainer(inputs: Record<string, unknown>): void {
  onlyKnown('a docker.Container', inputs, Object.keys(CONTAINER_FIELDS));
  for (const [key, field] of Object.entries(CONTAINER_FIELDS)) {
    const v = inputs[key];
    if (v === undefined || !field.sub) continue;
    for (const item of Array.isArray(v) ? v : [v]) onlyKnown(`docker.Container ${key}`, item, field.sub);
  }
  if (inputs.attach || inputs.logs || inputs.rm)
    throw new Error('rehearsal: attach/logs/rm containers are not translated');
}

/** The create request of the provider for these inputs (its defaults included). */
export function containerSpec(
  engine: Engine,
  inputs: Record<string, unknown>,
  ceilings: Readonly<Record<string, number>> = {},
): Spec {
  const spec: Spec = {
    engine,
    ceilings,
    config: {},
    // Provider defaults: network_mode "bridge", restart "no", init false.
    host: {
      NetworkMode: 'bridge',
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      Init: false,
      LogConfig: { Type: '' },
    },
    networks: [],
    uploads: [],
    notes: [],
  };
  for (const [key, field] of Object.entries(CONTAINER_FIELDS)) {
    if (inputs[key] !== undefined) field.apply?.(inputs[key], spec);
  }
  return spec;
}

interface Inspect {
  Id: string;
  State: {
    Running: boolean;
    Status: string;
    ExitCode: number;
    Health?: { Status: string; Log?: { Output: string }[] };
  };
}

/** /proc/<pid>/limits rows, by the Docker ulimit names they are. */
const PROC_LIMITS: Readonly<Record<string, string>> = {
  nofile: 'Max open files',
  nproc: 'Max processes',
  memlock: 'Max locked memory',
  core: 'Max core file size',
  stack: 'Max stack size',
};
let ceilingsCache: Promise<Record<string, number>> | undefined;

/**
 * The hard limits a container cannot exceed on this engine: those of the local dockerd when it lacks
 * CAP_SYS_RESOURCE (as in a CI sandbox), none otherwise (a Docker host's root daemon raises them). Only
 * for an engine on this machine (a unix socket, or SSH to 127.0.0.1), which is where the rehearsal runs.
 */
export function engineCeilings(engine: Engine): Promise<Record<string, number>> {
  const local = /^unix:|^ssh:\/\/([^@]+@)?(127\.0\.0\.1|localhost)(:\d+)?$/.test(engine.target.host);
  if (!local) return Promise.resolve({});
  ceilingsCache ??= (async () => {
    const pid = execFileSync('sh', ['-c', 'pgrep -x dockerd | head -n 1 || true'], { encoding: 'utf8' }).trim();
    if (!pid) return {};
    const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0';
    const CAP_SYS_RESOURCE = 24n;
    if ((BigInt(`0x${capEff}`) >> CAP_SYS_RESOURCE) & 1n) return {};
    const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
    const out: Record<string, number> = {};
    for (const [name, row] of Object.entries(PROC_LIMITS)) {
      const m = new RegExp(`^${row}\\s+\\S+\\s+(\\d+)`, 'm').exec(limits);
      if (m) out[name] = Number(m[1]);
    }
    return out;
  })();
  return ceilingsCache;
}

async function waitHealthy(ctx: Context, engine: Engine, id: string, name: string, timeoutS: number): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  let lastReport = Date.now();
  for (;;) {
    const c = (await engine.request('GET', `/containers/${id}/json`)) as Inspect;
    if (!c.State.Health) {
      throw new Error(
        "you have supplied a 'wait' argument, but the container does not have a healthcheck defined. Please remove the 'wait' argument or add a 'healthcheck' attribute",
      );
    }
    if (c.State.Health.Status === 'healthy') return;
    if (Date.now() > deadline) {
      const last = c.State.Health.Log?.slice(-1)[0]?.Output?.trim() ?? '';
      throw new Error(
        `container ${name} failed to be in healthy state in ${timeoutS} s (${c.State.Status}, health ${c.State.Health.Status}; ` +
          `last check: ${last.slice(0, 300)}; last log lines:\n${await logTail(engine, id)})`,
      );
    }
    if (Date.now() - lastReport > 30_000) {
      ctx.log(`waiting for ${name}: ${c.State.Status}, health ${c.State.Health.Status}`);
      lastReport = Date.now();
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The last lines of a container's output (the Engine API frames stdout and stderr in 8-byte-headed chunks). */
async function logTail(engine: Engine, id: string): Promise<string> {
  const raw = await engine
    .request('GET', `/containers/${id}/logs?stdout=true&stderr=true&tail=8`, undefined, { raw: true })
    .catch(() => Buffer.alloc(0));
  const buf = raw as Buffer;
  const out: string[] = [];
  for (let i = 0; i + 8 <= buf.length;) {
    const size = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + size).toString('utf8'));
    i += 8 + size;
  }
  return out.join('').trim();
}

async function remove(engine: Engine, id: string, graceSeconds: number, removeVolumes: boolean): Promise<void> {
  const ignorable = (e: unknown) => e instanceof EngineError && e.status === 404;
  await engine.request('POST', `/containers/${id}/stop?t=${graceSeconds}`).catch((e) => {
    if (!ignorable(e) && !(e instanceof EngineError && e.status === 304)) throw e;
  });
  await engine.request('DELETE', `/containers/${id}?v=${removeVolumes}&force=true`).catch((e) => {
    if (!ignorable(e)) throw e;
  });
}

export const containerKind: ResourceKind = {
  // TypeSet in the provider schema.
  sets: [
    'envs',
    'labels',
    'networksAdvanced',
    'uploads',
    'volumes',
    'mounts',
    'ulimits',
    'hosts',
    'dns',
    'securityOpts',
  ],
  validate: validateContainer,
  effect: (key) => CONTAINER_FIELDS[key]?.effect ?? 'replace',

  async create(ctx, r) {
    const engine = await ctx.engine(r.provider);
    const inputs = r.inputs;
    const spec = containerSpec(engine, inputs, inputs.ulimits ? await engineCeilings(engine) : {});
    await engine.request('GET', `/images/${encodeURIComponent(String(spec.config.Image))}/json`).catch((e) => {
      throw new Error(`Unable to create container with image ${String(spec.config.Image)}: ${(e as Error).message}`);
    });
    ctx.standins.checkContainer(String(spec.config.Image), spec.config.Labels as Record<string, string> | undefined);
    spec.notes.forEach((n) => ctx.log(`${r.name}: ${n}`));
    const created = (await engine.request('POST', `/containers/create?name=${encodeURIComponent(spec.name ?? '')}`, {
      ...spec.config,
      HostConfig: spec.host,
      NetworkingConfig: {},
    })) as { Id: string };
    const id = created.Id;
    try {
      if (spec.networks.length > 0) {
        await engine.request('POST', '/networks/bridge/disconnect', { Container: id, Force: false }).catch((e) => {
          if (!/is not connected/.test(String(e))) throw e;
        });
        for (const n of spec.networks) {
          await engine.request('POST', `/networks/${encodeURIComponent(n.name)}/connect`, {
            Container: id,
            EndpointConfig: {
              Aliases: n.aliases,
              IPAMConfig: { IPv4Address: n.ipv4 ?? '', IPv6Address: n.ipv6 ?? '' },
            },
          });
        }
      }
      for (const u of spec.uploads) {
        await engine.request('PUT', `/containers/${id}/archive?path=%2F`, tarOneFile(u), {
          contentType: 'application/x-tar',
        });
      }
      if (inputs.start !== false) {
        await engine.request('POST', `/containers/${id}/start`);
        if (inputs.wait === true)
          await waitHealthy(ctx, engine, id, String(inputs.name), Number(inputs.waitTimeout ?? 60));
      }
    } catch (e) {
      // As Pulumi does with a create that failed after the container existed: it stays, recorded in
      // state to be replaced by the next `up` (and is there to be looked at).
      throw new PartialCreate(e, { id, outputs: { id, name: spec.name } });
    }
    return { id, outputs: { id, name: spec.name } };
  },

  async update(ctx, old, inputs, changed) {
    const applied = changed.filter((k) => CONTAINER_FIELDS[k].effect === 'update');
    if (applied.length > 0) {
      const engine = await ctx.engine(old.provider);
      const h = containerSpec(engine, inputs).host as Record<string, unknown>;
      await engine.request('POST', `/containers/${old.id}/update`, {
        RestartPolicy: h.RestartPolicy,
        CpuShares: h.CpuShares ?? 0,
        Memory: h.Memory ?? 0,
        MemoryReservation: h.MemoryReservation ?? 0,
        CpusetCpus: h.CpusetCpus ?? '',
        ...(h.MemorySwap !== undefined ? { MemorySwap: h.MemorySwap } : {}),
      });
    }
    return { id: old.id, outputs: old.outputs };
  },

  async delete(ctx, state) {
    const engine = await ctx.engine(state.provider);
    const grace = Number(state.inputs.destroyGraceSeconds ?? 0);
    await remove(engine, state.id, grace > 0 ? grace : 0, state.inputs.removeVolumes !== false);
  },
};

/** For tests: the state a container step leaves (used by diff helpers). */
export type ContainerState = ResourceState;
