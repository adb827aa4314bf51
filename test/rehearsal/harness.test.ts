import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RecordedResource, runProgram, stackConfig, unwrap } from '../helpers/program';
import { changedKeys, Deployer, diff, StateStore } from './deployer';
import type { Engine } from './engine';
import { KINDS } from './kinds';
import { containerSpec, durationNs, validateContainer } from './kinds/container';
import type { Context, ResourceKind, ResourceState } from './kinds/types';
import { runAgainst } from './program';
import { hostPathsNamedAfter } from './rehearsal';
import { gitlabVersion, STANDINS, StandIns } from './standins';
import { tarOneFile } from './tar';

/**
 * The rehearsal harness without Docker: everything the dev and prod stacks register has a translation,
 * the translation is the provider's, and diffs and delete order follow Pulumi and the providers.
 * The Docker half is test/integration/rehearsal.test.ts.
 */
jest.setTimeout(60_000);
const oldEngine = { version: '1.41', supports: () => false } as unknown as Engine;
const newEngine = { version: '1.44', supports: () => true } as unknown as Engine;

let stacks: Record<string, RecordedResource[]>;
beforeAll(async () => {
  stacks = {
    dev: (await runProgram('dev', stackConfig('dev'))).resources,
    prod: (await runProgram('prod', stackConfig('prod'))).resources,
    // As the rehearsal runs prod: HTTPS from certificate files on the Docker host (rehearsal.ts).
    'prod (files)': (
      await runProgram('prod', {
        ...stackConfig('prod'),
        'kytes:tls': JSON.stringify({
          mode: 'files',
          certificates: [{ certificateFile: '/tmp/kr/tls/fullchain.pem', keyFile: '/tmp/kr/tls/privkey.pem' }],
        }),
      })
    ).resources,
  };
});
const custom = (rs: RecordedResource[]) =>
  rs.filter((r) => !r.type.startsWith('kytes:') && r.type !== 'pulumi:pulumi:Stack');
/** Inputs of the first container of `service` (by its kytes.service label), whatever its name. */
const containerOf = (stack: string, service: string) => {
  const r = stacks[stack].find(
    (x) =>
      x.type === 'docker:index/container:Container' &&
      (unwrap(x.inputs) as { labels: { label: string; value: string }[] }).labels.some(
        (l) => l.label === 'kytes.service' && l.value === service,
      ),
  );
  if (!r) throw new Error(`no ${service} container`);
  return { name: r.name, inputs: unwrap(r.inputs) as Record<string, unknown> };
};

describe('every resource the dev and prod stacks register is one the harness applies', () => {
  it.each(['dev', 'prod', 'prod (files)'])(
    '%s: every type has an implementation and every input a translation',
    (stack) => {
      const problems: string[] = [];
      for (const r of custom(stacks[stack])) {
        const kind = KINDS[r.type];
        if (!kind) problems.push(`${r.type} ${r.name}: no implementation`);
        else {
          try {
            kind.validate(unwrap(r.inputs) as Record<string, unknown>);
          } catch (e) {
            problems.push(`${r.name}: ${(e as Error).message}`);
          }
        }
      }
      expect(problems).toEqual([]);
      expect(custom(stacks[stack]).length).toBeGreaterThan(20);
    },
  );

  it('every pinned image has a stand-in', () => {
    expect(Object.keys(STANDINS).sort()).toEqual(['gitlab', 'mongo', 'nginx', 'postgres', 'redis', 'rocketchat']);
  });
});

describe('the container translation table', () => {
  it('fails on a field it does not know, at the top level or inside a block', () => {
    const { inputs } = containerOf('dev', 'redis');
    expect(() => validateContainer({ ...inputs, gpus: 'all' })).toThrow(
      'a docker.Container has "gpus", which the harness does not translate; add it to the translation table in test/rehearsal/kinds/ so it is not silently ignored',
    );
    expect(() =>
      validateContainer({ ...inputs, healthcheck: { ...(inputs.healthcheck as object), startTimeout: '1s' } }),
    ).toThrow('docker.Container healthcheck has "startTimeout"');
    expect(() => validateContainer({ ...inputs, uploads: [{ file: '/x', content: 'y', mtime: 1 }] })).toThrow(
      'docker.Container uploads has "mtime"',
    );
  });

  it('builds the Engine API request the provider builds (engine API 1.44)', () => {
    const inputs = {
      name: 'c1',
      image: 'sha256:abc',
      hostname: 'h',
      envs: ['A=1', 'B=2'],
      command: ['redis-server', '/etc/redis.conf'],
      labels: [{ label: 'kytes.service', value: 'redis' }],
      networksAdvanced: [{ name: 'net', aliases: ['redis'] }],
      ports: [{ internal: 22, external: 2222, ip: '127.0.0.1', protocol: 'tcp' }, { internal: 80 }],
      volumes: [{ volumeName: 'data', containerPath: '/data' }, { containerPath: '/anon' }],
      uploads: [
        { file: '/etc/redis.conf', content: 'x', permissions: '0640' },
        { file: '/bin/run', content: 'y', executable: true },
      ],
      healthcheck: {
        tests: ['CMD', 'true'],
        interval: '10s',
        timeout: '5s',
        startPeriod: '30s',
        startInterval: '2s',
        retries: 6,
      },
      ulimits: [{ name: 'nofile', soft: 64000, hard: 64000 }],
      logDriver: 'json-file',
      logOpts: { 'max-size': '10m' },
      restart: 'unless-stopped',
      memory: 512,
      shmSize: 256,
      stopTimeout: 30,
      wait: true,
      waitTimeout: 120,
      destroyGraceSeconds: 90,
    };
    validateContainer(inputs);
    const spec = containerSpec(newEngine, inputs);
    expect({
      name: spec.name,
      config: spec.config,
      host: spec.host,
      networks: spec.networks,
      notes: spec.notes,
    }).toEqual({
      name: 'c1',
      config: {
        Image: 'sha256:abc',
        Hostname: 'h',
        Env: ['A=1', 'B=2'],
        Cmd: ['redis-server', '/etc/redis.conf'],
        Labels: { 'kytes.service': 'redis' },
        StopTimeout: 30,
        ExposedPorts: { '22/tcp': {}, '80/tcp': {} },
        Volumes: { '/data': {}, '/anon': {} },
        Healthcheck: {
          Test: ['CMD', 'true'],
          Interval: 10e9,
          Timeout: 5e9,
          StartPeriod: 30e9,
          StartInterval: 2e9,
          Retries: 6,
        },
      },
      host: {
        NetworkMode: 'bridge',
        RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
        Init: false,
        LogConfig: { Type: 'json-file', Config: { 'max-size': '10m' } },
        PortBindings: {
          '22/tcp': [{ HostIp: '127.0.0.1', HostPort: '2222' }],
          '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '' }],
        },
        Binds: ['data:/data:rw'],
        Memory: 512 * 1024 * 1024,
        ShmSize: 256 * 1024 * 1024,
        Ulimits: [{ Name: 'nofile', Soft: 64000, Hard: 64000 }],
      },
      networks: [{ name: 'net', aliases: ['redis'], ipv4: undefined, ipv6: undefined }],
      notes: [],
    });
    expect(spec.uploads.map((u) => [u.name, u.mode.toString(8), u.content.toString()])).toEqual([
      ['/etc/redis.conf', '640', 'x'],
      ['/bin/run', '744', 'y'],
    ]);
  });

  it('on an engine without start_interval (API < 1.44) probes at the start interval and says so', () => {
    const { inputs } = containerOf('dev', 'gitlab');
    const h = inputs.healthcheck as { interval: string; startInterval: string };
    const spec = containerSpec(oldEngine, inputs);
    expect((spec.config.Healthcheck as Record<string, number>).Interval).toBe(durationNs(h.startInterval));
    expect(spec.config.Healthcheck).not.toHaveProperty('StartInterval');
    expect(spec.notes).toEqual([
      `healthcheck: engine API 1.41 has no start_interval; interval ${h.interval} → ${h.startInterval}`,
    ]);
    expect(durationNs(h.startInterval)).toBeLessThan(durationNs(h.interval));
  });

  it('uploads the Mongo keyfile owned by uid/gid 999 with mode 0400', () => {
    const spec = containerSpec(oldEngine, containerOf('prod', 'mongo').inputs);
    expect(spec.uploads.map((u) => [u.name, u.mode.toString(8), u.uid, u.gid])).toEqual([
      ['/etc/mongo-keyfile/keyfile', '400', 999, 999],
    ]);
  });

  it.each(['dev', 'prod (files)'])(
    '%s: nginx runs the config of its own volume, mounted read-only, which a local Command writes and reloads',
    (stack) => {
      const rs = custom(stacks[stack]);
      const volume = rs.find((r) => r.type === 'docker:index/volume:Volume' && r.name.endsWith('-nginx-config'));
      const step = rs.find((r) => r.name.endsWith('-nginx-apply-config'));
      if (!volume || !step) throw new Error('no nginx config volume or apply-config step');
      const volumeName = String((unwrap(volume.inputs) as { name: string }).name);
      const nginx = containerOf(stack, 'nginx');
      const spec = containerSpec(newEngine, nginx.inputs);
      expect(spec.config.Cmd).toEqual(['nginx', '-c', '/etc/nginx/kytes/nginx.conf', '-g', 'daemon off;']);
      expect(spec.config.Volumes).toHaveProperty(['/etc/nginx/kytes']);
      expect(spec.host.Binds).toContain(`${volumeName}:/etc/nginx/kytes:ro`);
      // The config is no longer an upload: the container serves what the step wrote.
      expect(spec.uploads.map((u) => u.name)).not.toContain('/etc/nginx/kytes/nginx.conf');

      // The step: a local Command the harness runs (create, with the config on stdin); a changed config
      // is an update, which re-runs create in place (pulumi-command without `update`), never a replacement.
      expect(step.type).toBe('command:local:Command');
      const inputs = unwrap(step.inputs) as Record<string, unknown>;
      expect(() => KINDS[step.type].validate(inputs)).not.toThrow();
      expect(
        Object.keys(inputs)
          .filter((k) => inputs[k] !== undefined)
          .sort(),
      ).toEqual(['addPreviousOutputInEnv', 'create', 'interpreter', 'logging', 'stdin']);
      expect(String(inputs.stdin)).toContain('server_name');
      // Shell words, quoted once locally and once more inside ssh's `bash -c '…'` on an ssh:// host.
      const create = String(inputs.create);
      expect(create).toContain(`${volumeName}:/etc/nginx/kytes`);
      expect(create).toMatch(/nginx\W+-t\W+-q\W+-c\W+\/etc\/nginx\/kytes\/\.nginx\.conf\.new/);
      expect(create).toMatch(/nginx\W+-c\W+\/etc\/nginx\/kytes\/nginx\.conf\W+-s\W+reload/);
      expect(['stdin', 'create'].map((k) => KINDS[step.type].effect(k))).toEqual(['update', 'update']);
      // Order: the step after the volume and the image, nginx after the step.
      expect(step.options.dependsOn).toEqual(expect.arrayContaining([volume.name]));
      expect(stacks[stack].find((r) => r.name === nginx.name)!.options.dependsOn).toContain(step.name);
    },
  );

  it('lowers a ulimit to what an engine without CAP_SYS_RESOURCE can set, and says so', () => {
    const inputs = {
      ulimits: [
        { name: 'nofile', soft: 64000, hard: 64000 },
        { name: 'nproc', soft: 10, hard: 20 },
      ],
    };
    const spec = containerSpec(newEngine, inputs, { nofile: 20000, nproc: 100 });
    expect(spec.host.Ulimits).toEqual([
      { Name: 'nofile', Soft: 20000, Hard: 20000 },
      { Name: 'nproc', Soft: 10, Hard: 20 },
    ]);
    expect(spec.notes).toEqual(['ulimits: nofile 64000/64000 → 20000/20000 (the engine cannot raise it)']);
    expect(containerSpec(newEngine, inputs).host.Ulimits).toEqual([
      { Name: 'nofile', Soft: 64000, Hard: 64000 },
      { Name: 'nproc', Soft: 10, Hard: 20 },
    ]);
  });

  it('reads Go durations', () => {
    expect([durationNs('15s'), durationNs('1m30s'), durationNs('250ms'), durationNs('0s'), durationNs('2h')]).toEqual([
      15e9, 90e9, 250e6, 0, 7200e9,
    ]);
    expect(() => durationNs('15')).toThrow('"15" is not a Go duration');
  });
});

describe('diffs, as Pulumi computes them with the providers', () => {
  const state = (type: string, inputs: Record<string, unknown>): ResourceState => ({
    urn: 'u',
    type,
    name: 'n',
    custom: true,
    id: 'i',
    inputs,
    outputs: {},
    parent: '',
    dependencies: [],
    deleteBeforeReplace: true,
    retainOnDelete: false,
    replaceOnChanges: [],
  });
  const container = 'docker:index/container:Container';
  const base = () => containerOf('dev', 'nginx').inputs;
  const opts = { replaceOnChanges: ['healthcheck'], ignoreChanges: [] };

  it('a container: env replaces, memory and restart update in place, wait_timeout only changes state', () => {
    const k = KINDS[container];
    const old = state(container, base());
    expect(diff(k, old, { ...base(), envs: ['TZ=Europe/Paris'] }, opts)).toEqual({
      kind: 'replace',
      changed: ['envs'],
    });
    expect(diff(k, old, { ...base(), memory: 512, restart: 'always' }, opts)).toEqual({
      kind: 'update',
      changed: ['memory', 'restart'],
    });
    expect(diff(k, old, { ...base(), waitTimeout: 30 }, opts)).toEqual({ kind: 'update', changed: ['waitTimeout'] });
    expect(diff(k, old, base(), opts)).toEqual({ kind: 'same', changed: [] });
  });

  it('a changed health check only reaches state, unless replaceOnChanges names it (as Kytes does)', () => {
    const k = KINDS[container];
    const changed = { ...base(), healthcheck: { ...(base().healthcheck as object), retries: 9 } };
    expect(diff(k, state(container, base()), changed, { replaceOnChanges: [], ignoreChanges: [] }).kind).toBe('update');
    expect(k.effect('healthcheck')).toBe('state');
    expect(diff(k, state(container, base()), changed, opts).kind).toBe('replace');
  });

  it('sets compare without order; lists with order', () => {
    const k = KINDS[container];
    const labels = base().labels as unknown[];
    expect(changedKeys(k, base(), { ...base(), labels: [...labels].reverse() })).toEqual([]);
    expect(changedKeys(k, { command: ['a', 'b'] }, { command: ['b', 'a'] })).toEqual(['command']);
  });

  it('a command: triggers replace, anything else re-runs create in place', () => {
    const k = KINDS['command:local:Command'];
    const old = state('command:local:Command', { create: 'x', stdin: 'a', triggers: ['1'] });
    const none = { replaceOnChanges: [], ignoreChanges: [] };
    expect(diff(k, old, { create: 'x', stdin: 'b', triggers: ['1'] }, none)).toEqual({
      kind: 'update',
      changed: ['stdin'],
    });
    expect(diff(k, old, { create: 'x', stdin: 'a', triggers: ['2'] }, none)).toEqual({
      kind: 'replace',
      changed: ['triggers'],
    });
    expect(
      diff(k, old, { create: 'x', stdin: 'b', triggers: ['1'] }, { replaceOnChanges: [], ignoreChanges: ['stdin'] })
        .kind,
    ).toBe('same');
  });

  it('volumes, networks and images are replaced by any change but keepLocally', () => {
    const none = { replaceOnChanges: [], ignoreChanges: [] };
    const v = 'docker:index/volume:Volume';
    expect(
      diff(KINDS[v], state(v, { name: 'a' }), { name: 'a', labels: [{ label: 'x', value: 'y' }] }, none).kind,
    ).toBe('replace');
    const i = 'docker:index/remoteImage:RemoteImage';
    expect(diff(KINDS[i], state(i, { name: 'a:1' }), { name: 'a:1', keepLocally: true }, none).kind).toBe('update');
    expect(diff(KINDS[i], state(i, { name: 'a:1' }), { name: 'a:2' }, none).kind).toBe('replace');
  });
});

describe('destroy order', () => {
  it('deletes every resource after everything that depends on it, runs delete commands with their stored inputs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-harness-'));
    try {
      const store = new StateStore(path.join(dir, 'state.json'));
      const marks = path.join(dir, 'marks');
      const cmd = (name: string, deps: string[], extra: Partial<ResourceState> = {}): ResourceState => ({
        urn: `urn:${name}`,
        type: 'command:local:Command',
        name,
        custom: true,
        id: name,
        inputs: { create: 'true', delete: `echo ${name} >> ${marks}` },
        outputs: { stdout: '', stderr: '' },
        parent: '',
        dependencies: deps.map((d) => `urn:${d}`),
        deleteBeforeReplace: false,
        retainOnDelete: false,
        replaceOnChanges: [],
        ...extra,
      });
      // backup → app → db; kept → db (retained: its delete must not run)
      store.put(cmd('db', []));
      store.put(cmd('app', ['db']));
      store.put(cmd('backup', ['app', 'db']));
      store.put(cmd('kept', ['db'], { retainOnDelete: true }));
      const ctx = { cwd: dir, env: process.env, log: () => undefined } as unknown as Context;
      const d = new Deployer(store, ctx, 's', 'p');
      await d.destroy();
      expect(fs.readFileSync(marks, 'utf8').trim().split('\n')).toEqual(['backup', 'app', 'db']);
      expect(d.steps.map((s) => `${s.op} ${s.name}`).sort()).toEqual([
        'delete app',
        'delete backup',
        'delete db',
        'retain kept',
      ]);
      expect(store.all()).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a failing delete keeps the resource and everything it depends on', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-harness-'));
    try {
      const store = new StateStore(path.join(dir, 'state.json'));
      const r = (name: string, del: string, deps: string[]): ResourceState => ({
        urn: `urn:${name}`,
        type: 'command:local:Command',
        name,
        custom: true,
        id: name,
        inputs: { delete: del },
        outputs: {},
        parent: '',
        dependencies: deps.map((x) => `urn:${x}`),
        deleteBeforeReplace: false,
        retainOnDelete: false,
        replaceOnChanges: [],
      });
      store.put(r('containers', 'true', []));
      store.put(r('predestroy', 'echo no backup >&2; exit 3', ['containers']));
      const ctx = { cwd: dir, env: process.env, log: () => undefined } as unknown as Context;
      await expect(new Deployer(store, ctx, 's', 'p').destroy()).rejects.toThrow(
        'delete failed:\ncommand:local:Command predestroy: exit status 3: running "echo no backup >&2; exit 3":\nno backup',
      );
      expect(
        store
          .all()
          .map((x) => x.name)
          .sort(),
      ).toEqual(['containers', 'predestroy']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('stand-in images', () => {
  it('are chosen by the kytes:images key whose value is the pinned reference', () => {
    const s = new StandIns({ gitlab: 'gitlab/gitlab-ce:19.3.0-ce.0', acme: 'goacme/lego:v4.1.0' }, 'x');
    expect(s.serviceOf('gitlab/gitlab-ce:19.3.0-ce.0')).toBe('gitlab');
    expect(() => s.serviceOf('goacme/lego:v4.1.0')).toThrow(
      'no stand-in for kytes:images.acme (goacme/lego:v4.1.0); add one to STANDINS in test/rehearsal/standins.ts',
    );
    expect(() => s.serviceOf('busybox:1')).toThrow('image busybox:1 is not one of the kytes:images the config pins');
  });

  it("report GitLab's version from the pinned tag", () => {
    expect(gitlabVersion('gitlab/gitlab-ce:19.3.0-ce.0')).toBe('19.3.0');
    expect(gitlabVersion(`gitlab/gitlab-ce:19.2.4-ce.0@sha256:${'a'.repeat(64)}`)).toBe('19.2.4');
    expect(() => gitlabVersion(`gitlab/gitlab-ce@sha256:${'a'.repeat(64)}`)).toThrow('cannot read a GitLab version');
  });
});

it('uploads are the one-file tar archives the provider sends', () => {
  const tar = tarOneFile({
    name: '/etc/mongo-keyfile/keyfile',
    content: Buffer.from('secret-key'),
    mode: 0o400,
    uid: 999,
    gid: 999,
  });
  const listing = execFileSync('tar', ['-tvf', '-', '--numeric-owner'], { input: tar, encoding: 'utf8' });
  expect(listing).toMatch(/^-r-------- 999\/999\s+10 .* etc\/mongo-keyfile\/keyfile\n$/);
  expect(execFileSync('tar', ['-xOf', '-'], { input: tar, encoding: 'utf8' })).toBe('secret-key');
});

describe('the program drives the deployer as it drives the engine', () => {
  type Event = { op: 'start' | 'end'; name: string };
  function fakeKinds(events: Event[], failing: string): Record<string, ResourceKind> {
    return Object.fromEntries(
      Object.entries(KINDS).map(([type, k]) => [
        type,
        {
          ...k,
          async create(_ctx: Context, r: { name: string }) {
            events.push({ op: 'start', name: r.name });
            await new Promise((res) => setTimeout(res, 5));
            if (r.name === failing) throw new Error('boom');
            events.push({ op: 'end', name: r.name });
            return {
              id: `${r.name}-id`,
              outputs: { imageId: `sha256:${r.name}`, result: 'pw', stdout: '', stderr: '' },
            };
          },
          delete: async () => undefined,
        } as ResourceKind,
      ]),
    );
  }
  const run = async (failing: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-harness-'));
    const events: Event[] = [];
    const store = new StateStore(path.join(dir, 'state.json'));
    const d = new Deployer(
      store,
      { log: () => undefined } as unknown as Context,
      'dev',
      'kytes',
      fakeKinds(events, failing),
    );
    const config = { ...stackConfig('dev'), 'kytes:masterSecret': 'm'.repeat(40) };
    const result = await runAgainst(d, 'dev', config, ['kytes:masterSecret']).then(
      (r) => r,
      (e: Error) => e,
    );
    fs.rmSync(dir, { recursive: true, force: true });
    return { events, result, store, d };
  };

  it('starts each resource after every resource it depends on (dependsOn and Outputs) has been created', async () => {
    const { events, result, store } = await run('none');
    expect(result).not.toBeInstanceOf(Error);
    const ended = (name: string) => events.findIndex((e) => e.op === 'end' && e.name === name);
    const started = (name: string) => events.findIndex((e) => e.op === 'start' && e.name === name);
    const names = new Map(store.all().map((r) => [r.urn, r]));
    const violations: string[] = [];
    for (const r of store.all().filter((x) => x.custom)) {
      for (const dep of r.dependencies) {
        const d = names.get(dep);
        if (d?.custom && !(ended(d.name) < started(r.name)))
          violations.push(`${r.name} started before ${d.name} was created`);
      }
    }
    expect(violations).toEqual([]);
    // GitLab waits for PostgreSQL (through its setup step), Rocket.Chat for the Mongo members.
    expect(ended(containerOf('dev', 'postgres').name)).toBeLessThan(started(containerOf('dev', 'gitlab').name));
    expect(ended(containerOf('dev', 'mongo').name)).toBeLessThan(started(containerOf('dev', 'rocketchat').name));
  });

  it('a failed create fails the up: nothing that depends on it starts, independent steps finish, nothing is deleted', async () => {
    const postgres = containerOf('dev', 'postgres').name;
    const { events, result, d } = await run(postgres);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toBe(`update failed:\n  - docker:index/container:Container ${postgres}: boom`);
    // Everything that depends on PostgreSQL, directly or not, by the program's own declarations.
    const dependents = new Set<string>([postgres]);
    for (let grew = true; grew;) {
      grew = false;
      for (const r of stacks.dev) {
        if (!dependents.has(r.name) && r.options.dependsOn.some((x) => dependents.has(x))) {
          dependents.add(r.name);
          grew = true;
        }
      }
    }
    const startedNames = events.filter((e) => e.op === 'start').map((e) => e.name);
    expect(startedNames.filter((n) => n !== postgres && dependents.has(n))).toEqual([]);
    expect(dependents.has(containerOf('dev', 'gitlab').name)).toBe(true);
    expect(startedNames).toContain(containerOf('dev', 'nginx').name);
    expect(d.steps.filter((s) => s.op === 'delete')).toEqual([]);
  });
});

describe('replacements', () => {
  const reg = (name: string, trigger: string, marks: string, deleteBeforeReplace: boolean) => ({
    type: 'command:local:Command',
    name,
    custom: true,
    inputs: {
      create: `echo create-${trigger} >> ${marks}`,
      delete: `echo delete-${trigger} >> ${marks}`,
      triggers: [trigger],
    },
    parent: '',
    dependencies: [],
    deleteBeforeReplace,
    retainOnDelete: false,
    replaceOnChanges: [],
    ignoreChanges: [],
    protect: false,
    unsupported: [],
  });
  it.each([
    [false, ['create-1', 'create-2', 'delete-1'], ['replace', 'delete-replaced']],
    [true, ['create-1', 'delete-1', 'create-2'], ['replace']],
  ])('deleteBeforeReplace %s: the old copy is deleted %s', async (dbr, order, ops) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-harness-'));
    try {
      const marks = path.join(dir, 'marks');
      const store = new StateStore(path.join(dir, 'state.json'));
      const ctx = { cwd: dir, env: process.env, log: () => undefined } as unknown as Context;
      await new Deployer(store, ctx, 's', 'p').register(reg('c', '1', marks, dbr));
      const d = new Deployer(store, ctx, 's', 'p');
      await d.register(reg('c', '2', marks, dbr));
      await d.finish();
      expect(fs.readFileSync(marks, 'utf8').trim().split('\n')).toEqual(order);
      expect(d.steps.map((s) => s.op)).toEqual(ops);
      expect(store.all().map((r) => r.inputs.triggers)).toEqual([['2']]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

it("cleanup finds what the program installed under the run's prefix, two levels deep, and nothing else", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-harness-'));
  try {
    for (const p of [
      'opt/kr-abc123/kytes-backup',
      'opt/tls/kr-abc123/kytes-tls',
      'opt/kr-other/x',
      'cron/kytes-tls-kr-abc123',
      'cron/e2scrub_all',
    ]) {
      fs.mkdirSync(path.join(root, path.dirname(p)), { recursive: true });
      fs.writeFileSync(path.join(root, p), '');
    }
    expect(
      hostPathsNamedAfter('kr-abc123', [path.join(root, 'opt'), path.join(root, 'cron'), path.join(root, 'none')])
        .map((p) => path.relative(root, p))
        .sort(),
    ).toEqual(['cron/kytes-tls-kr-abc123', 'opt/kr-abc123', 'opt/tls/kr-abc123']);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
