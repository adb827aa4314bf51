import * as fs from 'fs';
import * as path from 'path';
import { derivePassword } from '../lib/secrets';
import { declaredVolumes } from '../lib/topology';
import { topologyFromStackYaml } from '../ops/cli';
import {
  isSecretValue,
  RecordedResource,
  ROOT,
  runProgram,
  stackConfig,
  StackRun,
  TEST_MASTER_SECRET,
  unwrap,
} from './helpers/program';

const summary = (rs: RecordedResource[]) => rs.map((r) => `${r.type} ${r.name}`).sort();

function expectedTree(prefix: string, instances: string[], mongoMembers: number, acme: boolean): string[] {
  const redis = instances.flatMap((i) => [
    `kytes:data:Redis ${prefix}-redis-${i}`,
    `docker:index/remoteImage:RemoteImage ${prefix}-redis-${i}-image`,
    `docker:index/volume:Volume ${prefix}-redis-${i}-data`,
    `docker:index/container:Container ${prefix}-redis-${i}-container`,
  ]);
  const gitlab = instances.flatMap((i) => [
    `kytes:app:GitlabInstance ${prefix}-gitlab-${i}`,
    `docker:index/remoteImage:RemoteImage ${prefix}-gitlab-${i}-image`,
    `docker:index/volume:Volume ${prefix}-gitlab-${i}-config`,
    `docker:index/volume:Volume ${prefix}-gitlab-${i}-data`,
    `docker:index/volume:Volume ${prefix}-gitlab-${i}-logs`,
    `docker:index/container:Container ${prefix}-gitlab-${i}-container`,
  ]);
  const mongo = Array.from({ length: mongoMembers }, (_, i) => [
    `docker:index/volume:Volume ${prefix}-mongo-${i}-data`,
    `docker:index/container:Container ${prefix}-mongo-${i}`,
  ]).flat();
  return [
    `pulumi:providers:docker ${prefix}-docker`,
    `kytes:network:StackNetwork ${prefix}-network`,
    `docker:index/network:Network ${prefix}-network-bridge`,
    `kytes:data:Postgres ${prefix}-postgres`,
    `docker:index/remoteImage:RemoteImage ${prefix}-postgres-image`,
    `docker:index/volume:Volume ${prefix}-postgres-data`,
    `docker:index/container:Container ${prefix}-postgres-container`,
    `command:local:Command ${prefix}-postgres-setup`,
    `command:local:Command ${prefix}-upgrade-guard-gitlab`,
    `command:local:Command ${prefix}-upgrade-guard-postgres`,
    `command:local:Command ${prefix}-upgrade-guard-mongo`,
    ...redis,
    ...gitlab,
    `kytes:data:MongoReplicaSet ${prefix}-mongo`,
    `docker:index/remoteImage:RemoteImage ${prefix}-mongo-image`,
    `random:index/randomPassword:RandomPassword ${prefix}-mongo-keyfile`,
    ...mongo,
    `command:local:Command ${prefix}-mongo-initiate`,
    `kytes:app:RocketChat ${prefix}-rocketchat`,
    `docker:index/remoteImage:RemoteImage ${prefix}-rocketchat-image`,
    `docker:index/volume:Volume ${prefix}-rocketchat-uploads`,
    `docker:index/container:Container ${prefix}-rocketchat-container`,
    `kytes:edge:ReverseProxy ${prefix}-nginx`,
    `docker:index/remoteImage:RemoteImage ${prefix}-nginx-image`,
    `docker:index/volume:Volume ${prefix}-nginx-config`,
    `command:local:Command ${prefix}-nginx-apply-config`,
    `docker:index/container:Container ${prefix}-nginx-container`,
    ...(acme
      ? [
          `kytes:edge:TlsCertificates ${prefix}-tls`,
          `docker:index/volume:Volume ${prefix}-tls-volume`,
          `docker:index/volume:Volume ${prefix}-tls-acme-webroot`,
          `command:local:Command ${prefix}-tls-script`,
          `command:local:Command ${prefix}-tls-prepare`,
          `command:local:Command ${prefix}-tls-issue`,
          `command:local:Command ${prefix}-tls-renewal`,
        ]
      : []),
  ];
}

/**
 * Written down from Pulumi.<stack>.yaml, not derived: nginx's listen port (kytes:proxy.httpPort), and per
 * GitLab instance [waitTimeout s, start period, memory MB, /dev/shm MB] from kytes:gitlab.startTimeoutMinutes
 * (dev 30, prod 45) and kytes:memoryProfile (dev constrained: 4096/256, prod standard: 8192/512).
 */
const PER_STACK: Record<string, { nginxPort: number; gitlab: [number, string, number, number] }> = {
  dev: { nginxPort: 8080, gitlab: [1800, '1800s', 4096, 256] },
  prod: { nginxPort: 80, gitlab: [2700, '2700s', 8192, 512] },
};
/** Rocket.Chat's /livez on its PORT 3000, on both stacks. */
const ROCKETCHAT_PROBE = [
  'CMD',
  'node',
  '-e',
  "require('http').get('http://127.0.0.1:3000/livez', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))",
];

/** Ops resources are asserted in their own tests; here only the service stack. */
const services = (rs: RecordedResource[]) =>
  rs.filter((r) => !r.type.startsWith('kytes:ops:') && r.options.parent.indexOf('-ops') < 0);

describe.each([
  ['dev', 'kytes-dev', ['main'], 1, false],
  ['prod', 'kytes-prod', ['main', 'girofle'], 3, true],
])('Pulumi.%s.yaml', (stack, prefix, instances, members, acme) => {
  let run: StackRun;
  beforeAll(async () => {
    run = await runProgram(stack, stackConfig(stack));
  }, 60000);

  it('registers the complete resource set', () => {
    expect(summary(services(run.resources))).toEqual(expectedTree(prefix, instances, members, acme).sort());
  });

  it('stops every container (SIGTERM, then its stopTimeout) before removing it, never kills it outright', () => {
    const containers = run.resources.filter((r) => r.type === 'docker:index/container:Container');
    expect(containers.length).toBeGreaterThan(0);
    for (const c of containers) {
      const stop = Number(c.inputs.stopTimeout);
      expect([c.name, Number(c.inputs.destroyGraceSeconds) >= stop && stop > 0]).toEqual([c.name, true]);
    }
  });

  it('keeps every volume on destroy and labels it so policies can see it', () => {
    const volumes = run.resources.filter((r) => r.type === 'docker:index/volume:Volume');
    // Per instance: config, data, logs and its Redis; then the Mongo members, PostgreSQL, the uploads and
    // nginx's config, + the TLS volume and the ACME webroot with Let's Encrypt (prod).
    expect(volumes.length).toBe(instances.length * 4 + members + 3 + (acme ? 2 : 0));
    for (const v of volumes) {
      expect(v.options.retainOnDelete).toBe(true);
      expect(v.inputs.labels).toContainEqual({ label: 'kytes.retain-on-delete', value: 'true' });
    }
  });

  it('creates exactly the volumes the topology declares (what dev:reset and the name-length rule read)', () => {
    const t = topologyFromStackYaml(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), 'utf8'), stack);
    const created = run.resources.filter((r) => r.type === 'docker:index/volume:Volume').map((r) => r.inputs.name);
    expect(created.sort()).toEqual(
      declaredVolumes(t)
        .map((v) => v.name)
        .sort(),
    );
  });

  it('keeps every image locally and gives containers its id', () => {
    const images = run.resources.filter((r) => r.type === 'docker:index/remoteImage:RemoteImage');
    // One per GitLab instance and its Redis, then PostgreSQL, MongoDB, Rocket.Chat and nginx.
    expect(images).toHaveLength(instances.length * 2 + 4);
    expect(images.filter((i) => i.inputs.keepLocally !== true)).toEqual([]);
    const containers = run.resources.filter((r) => r.type === 'docker:index/container:Container');
    // Per instance GitLab and its Redis, then the Mongo members, PostgreSQL, Rocket.Chat and nginx.
    expect(containers).toHaveLength(instances.length * 2 + members + 3);
    for (const c of containers) {
      expect(c.inputs.image).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(c.inputs.healthcheck).toBeDefined();
      expect(c.options.deleteBeforeReplace).toBe(true);
      expect(c.options.replaceOnChanges).toEqual(['healthcheck']);
    }
  });

  it('probes and waits as written down for this stack (healthchecks, GitLab start timeout and memory)', () => {
    const c = (name: string) =>
      unwrap(run.resources.find((r) => r.name === `${prefix}-${name}`)!.inputs) as Record<string, unknown>;
    const e = PER_STACK[stack];
    expect((c('nginx-container').healthcheck as { tests: string[] }).tests).toEqual([
      'CMD',
      'curl',
      '-fsS',
      '-o',
      '/dev/null',
      `http://127.0.0.1:${e.nginxPort}/nginx-health`,
    ]);
    expect((c('rocketchat-container').healthcheck as { tests: string[] }).tests).toEqual(ROCKETCHAT_PROBE);
    const gitlab = instances.map((i) => {
      const g = c(`gitlab-${i}-container`);
      return [i, g.waitTimeout, (g.healthcheck as { startPeriod: string }).startPeriod, g.memory, g.shmSize];
    });
    expect(gitlab).toEqual(instances.map((i) => [i, ...e.gitlab]));
  });

  it('publishes only nginx and GitLab SSH, never a database', () => {
    const published = run.resources
      .filter((r) => r.type === 'docker:index/container:Container' && r.inputs.ports)
      .map((r) => r.name)
      .sort();
    expect(published).toEqual(
      [...instances.map((i) => `${prefix}-gitlab-${i}-container`), `${prefix}-nginx-container`].sort(),
    );
  });

  it('orders start-up: databases before GitLab, a writable primary before Rocket.Chat', () => {
    const deps = (name: string) => run.resources.find((r) => r.name === name)!.options.dependsOn;
    for (const i of instances) {
      expect(deps(`${prefix}-gitlab-${i}-container`)).toEqual(
        expect.arrayContaining([`${prefix}-postgres-setup`, `${prefix}-redis-${i}-container`]),
      );
      // Its own Redis only.
      expect(deps(`${prefix}-gitlab-${i}-container`).filter((d) => d.includes('-redis-'))).toEqual([
        `${prefix}-redis-${i}-container`,
      ]);
    }
    expect(deps(`${prefix}-postgres-setup`)).toEqual([`${prefix}-postgres-container`]);
    expect(deps(`${prefix}-rocketchat-container`)).toContain(`${prefix}-mongo-initiate`);
    expect(deps(`${prefix}-mongo-initiate`)).toEqual(Array.from({ length: members }, (_, i) => `${prefix}-mongo-${i}`));
  });

  it('takes the pre-destroy and decommission backups while nginx exists (its image reads the TLS volume)', () => {
    const deps = (name: string) => run.resources.find((r) => r.name === name)!.options.dependsOn;
    expect(deps(`${prefix}-ops-predestroy-backup`)).toContain(`${prefix}-nginx-container`);
    for (const i of instances)
      expect(deps(`${prefix}-ops-decommission-backup-${i}`)).toContain(`${prefix}-nginx-container`);
  });

  it('runs each upgrade guard before the containers whose image it guards', () => {
    const deps = (name: string) => run.resources.find((r) => r.name === name)!.options.dependsOn;
    for (const i of instances)
      expect(deps(`${prefix}-gitlab-${i}-container`)).toContain(`${prefix}-upgrade-guard-gitlab`);
    expect(deps(`${prefix}-postgres-container`)).toEqual([
      `${prefix}-network-bridge`,
      `${prefix}-postgres-data`,
      `${prefix}-postgres-image`,
      `${prefix}-upgrade-guard-postgres`,
    ]);
    for (let m = 0; m < members; m++) expect(deps(`${prefix}-mongo-${m}`)).toContain(`${prefix}-upgrade-guard-mongo`);
    for (const what of ['gitlab', 'postgres', 'mongo']) {
      const guard = run.resources.find((r) => r.name === `${prefix}-upgrade-guard-${what}`)!;
      expect(guard.options.parent).toBe(`${prefix}-upgrade-guard`);
      expect(guard.inputs.logging).toBe('stdoutAndStderr');
    }
  });

  it('exports URLs, clone hosts, names and secret admin credentials', () => {
    const o = run.outputs;
    expect(Object.keys(o).sort()).toEqual([
      'adminCredentials',
      'backups',
      'containers',
      'gitlabInstances',
      'networkName',
      'tls',
      'urls',
      'volumes',
    ]);
    expect((o.gitlabInstances as Array<{ name: string }>).map((g) => g.name)).toEqual(instances);
    const creds = o.adminCredentials as { gitlab: Record<string, { password: string }> };
    // The known answer for gitlab/main/root (test/secrets.test.ts), not recomputed with derivePassword.
    expect(creds.gitlab.main.password).toBe('3XkZ2V2XsCFUCAQ1npUbTw8Tb_-ROZ7g_DpFMgZe');
  });
});

describe('Pulumi.dev.yaml exact outputs', () => {
  it('derives the dev URLs and names', async () => {
    const { outputs } = await runProgram('dev', stackConfig('dev'));
    expect(outputs.urls).toEqual({
      gitlab: { main: 'http://gitlab.kytes.localhost:8080' },
      rocketchat: 'http://rocketchat.kytes.localhost:8080',
    });
    expect(outputs.gitlabInstances).toEqual([
      {
        name: 'main',
        url: 'http://gitlab.kytes.localhost:8080',
        sshClone: 'gitlab.kytes.localhost:2222',
        container: 'kytes-dev-gitlab-main',
      },
    ]);
    expect(outputs.volumes).toEqual({
      postgres: 'kytes-dev-postgres-data',
      redis: ['kytes-dev-redis-main-data'],
      gitlab: [['kytes-dev-gitlab-main-config', 'kytes-dev-gitlab-main-data', 'kytes-dev-gitlab-main-logs']],
      mongo: ['kytes-dev-mongo-0-data'],
      rocketchat: 'kytes-dev-rocketchat-uploads',
    });
  }, 60000);
});

describe('no spurious diffs', () => {
  it.each(['dev', 'prod'])(
    '%s: two runs give byte-identical inputs',
    async (stack) => {
      const a = await runProgram(stack, stackConfig(stack));
      const b = await runProgram(stack, stackConfig(stack));
      const inputs = (r: StackRun) => JSON.stringify(r.resources.map((x) => [x.type, x.name, x.inputs]).sort());
      expect(inputs(b)).toBe(inputs(a));
      // Two whole program runs: seconds each on a busy 2-core machine.
    },
    60_000,
  );
});

/** Every secret the program holds, as plain text, and where it may appear: only inside a secret wrapper. */
function secretValues(stack: string, run: StackRun): string[] {
  const purposes = ['postgres/superuser', 'mongo/root', 'mongo/rocketchat', 'rocketchat/admin'];
  const instances = (run.outputs.gitlabInstances as Array<{ name: string }>).map((g) => g.name);
  for (const i of instances) purposes.push(`gitlab/${i}/database`, `gitlab/${i}/root`, `redis/${i}`);
  return [
    TEST_MASTER_SECRET,
    `random-kytes-${stack}-mongo-keyfile`,
    ...purposes.map((p) => derivePassword(TEST_MASTER_SECRET, p)),
  ];
}

function leaks(value: unknown, secrets: string[], path: string): string[] {
  if (isSecretValue(value)) return [];
  if (typeof value === 'string') return secrets.filter((s) => value.includes(s)).map(() => path);
  if (Array.isArray(value)) return value.flatMap((v, i) => leaks(v, secrets, `${path}[${i}]`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => leaks(v, secrets, `${path}.${k}`));
  return [];
}

describe('secrets', () => {
  it.each(['dev', 'prod'])(
    '%s: no secret value appears in a non-secret input',
    async (stack) => {
      const run = await runProgram(stack, stackConfig(stack));
      const secrets = secretValues(stack, run);
      const found = run.resources.flatMap((r) => leaks(r.inputs, secrets, r.name));
      expect(found).toEqual([]);
      // And the secrets are really there, wrapped: the check above is not vacuous.
      const wrapped = run.resources.flatMap((r) => leaks(unwrap(r.inputs), secrets, r.name));
      expect(wrapped.length).toBeGreaterThan(5);
    },
    60000,
  );

  it('no secret in a command string, label or healthcheck, even unwrapped', async () => {
    const run = await runProgram('prod', stackConfig('prod'));
    const secrets = secretValues('prod', run);
    const places = run.resources.flatMap((r) => [
      ...leaks(unwrap(r.inputs.create), secrets, `${r.name}.create`),
      ...leaks(unwrap(r.inputs.delete), secrets, `${r.name}.delete`),
      ...leaks(unwrap(r.inputs.stdin), secrets, `${r.name}.stdin`),
      ...leaks(unwrap(r.inputs.labels), secrets, `${r.name}.labels`),
      ...leaks(unwrap(r.inputs.command), secrets, `${r.name}.command`),
      ...leaks(unwrap(r.inputs.healthcheck), secrets, `${r.name}.healthcheck`),
    ]);
    expect(places).toEqual([]);
  }, 60000);

  it('commands that carry secrets do not log', async () => {
    const run = await runProgram('dev', stackConfig('dev'));
    for (const name of ['kytes-dev-postgres-setup', 'kytes-dev-mongo-initiate']) {
      const cmd = run.resources.find((r) => r.name === name)!;
      expect(cmd.inputs.logging).toBe('none');
    }
  }, 60000);
});

describe('each GitLab instance has its own Redis (Pulumi.prod.yaml)', () => {
  it('its gitlab.rb names its own Redis, whose requirepass is its own password', async () => {
    const { resources } = await runProgram('prod', stackConfig('prod'));
    const byName = (n: string) => resources.find((r) => r.name === n)!;
    const env = (n: string) =>
      Object.fromEntries(
        (unwrap(byName(n).inputs.envs) as string[]).map((e) => [
          e.slice(0, e.indexOf('=')),
          e.slice(e.indexOf('=') + 1),
        ]),
      );
    // The known answers for redis/main and redis/girofle (test/secrets.test.ts).
    const passwords: Record<string, string> = {
      main: 'BBQUdPdcvR8gu4OqItxTv_yxoHsPzlu4xw71F6eq',
      girofle: '-8F1Jvl5A8UNvSo7D7m78pBwuJykwEOejQKd7Xdu',
    };
    for (const i of ['main', 'girofle']) {
      const gitlab = env(`kytes-prod-gitlab-${i}-container`);
      expect(gitlab.GITLAB_OMNIBUS_CONFIG).toContain(`gitlab_rails['redis_host'] = 'redis-${i}'`);
      expect(gitlab.GITLAB_OMNIBUS_CONFIG).not.toContain('redis_database');
      const password = passwords[i];
      expect(gitlab.KYTES_REDIS_PASSWORD).toBe(password);
      const redis = byName(`kytes-prod-redis-${i}-container`);
      expect(redis.inputs.networksAdvanced).toEqual([{ name: 'kytes-prod', aliases: [`redis-${i}`] }]);
      const [upload] = unwrap(redis.inputs.uploads) as Array<{ content: string }>;
      expect(upload.content).toContain(`requirepass ${password}\n`);
    }
  }, 60000);
});
