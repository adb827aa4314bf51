import { derivePassword } from '../lib/secrets';
import {
  isSecretValue,
  RecordedResource,
  runProgram,
  stackConfig,
  StackRun,
  TEST_MASTER_SECRET,
  unwrap,
} from './helpers/program';

const summary = (rs: RecordedResource[]) => rs.map((r) => `${r.type} ${r.name}`).sort();

function expectedTree(prefix: string, instances: string[], mongoMembers: number, acme: boolean): string[] {
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
    `kytes:data:Redis ${prefix}-redis`,
    `docker:index/remoteImage:RemoteImage ${prefix}-redis-image`,
    `docker:index/volume:Volume ${prefix}-redis-data`,
    `docker:index/container:Container ${prefix}-redis-container`,
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
    `docker:index/container:Container ${prefix}-nginx-container`,
    ...(acme
      ? [
          `kytes:edge:TlsCertificates ${prefix}-tls`,
          `docker:index/volume:Volume ${prefix}-tls-volume`,
          `docker:index/volume:Volume ${prefix}-tls-acme-webroot`,
          `command:remote:Command ${prefix}-tls-script`,
          `command:remote:Command ${prefix}-tls-prepare`,
          `command:remote:Command ${prefix}-tls-issue`,
          `command:remote:Command ${prefix}-tls-renewal`,
        ]
      : []),
  ];
}

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
  });

  it('registers the complete resource set', () => {
    expect(summary(services(run.resources))).toEqual(expectedTree(prefix, instances, members, acme).sort());
  });

  it('keeps every volume on destroy and labels it so policies can see it', () => {
    const volumes = run.resources.filter((r) => r.type === 'docker:index/volume:Volume');
    // + the TLS volume and the ACME webroot with Let's Encrypt (prod).
    expect(volumes.length).toBe(instances.length * 3 + members + 3 + (acme ? 2 : 0));
    for (const v of volumes) {
      expect(v.options.retainOnDelete).toBe(true);
      expect(v.inputs.labels).toContainEqual({ label: 'kytes.retain-on-delete', value: 'true' });
    }
  });

  it('keeps every image locally and gives containers its id', () => {
    const images = run.resources.filter((r) => r.type === 'docker:index/remoteImage:RemoteImage');
    for (const i of images) expect(i.inputs.keepLocally).toBe(true);
    for (const c of run.resources.filter((r) => r.type === 'docker:index/container:Container')) {
      expect(c.inputs.image).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(c.inputs.healthcheck).toBeDefined();
      expect(c.options.deleteBeforeReplace).toBe(true);
      expect(c.options.replaceOnChanges).toEqual(['healthcheck']);
    }
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
        expect.arrayContaining([`${prefix}-postgres-setup`, `${prefix}-redis-container`]),
      );
    }
    expect(deps(`${prefix}-postgres-setup`)).toEqual([`${prefix}-postgres-container`]);
    expect(deps(`${prefix}-rocketchat-container`)).toContain(`${prefix}-mongo-initiate`);
    expect(deps(`${prefix}-mongo-initiate`)).toEqual(Array.from({ length: members }, (_, i) => `${prefix}-mongo-${i}`));
  });

  it('exports URLs, clone hosts, names and secret admin credentials', () => {
    const o = run.outputs;
    expect(Object.keys(o).sort()).toEqual(
      [
        'adminCredentials',
        'containers',
        'gitlabInstances',
        'networkName',
        'tls',
        'urls',
        'volumes',
        ...(Object.keys(o).includes('backups') ? ['backups'] : []),
      ].sort(),
    );
    expect((o.gitlabInstances as Array<{ name: string }>).map((g) => g.name)).toEqual(instances);
    const creds = o.adminCredentials as { gitlab: Record<string, { password: string }> };
    expect(creds.gitlab[instances[0]].password).toBe(derivePassword(TEST_MASTER_SECRET, `gitlab/${instances[0]}/root`));
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
      redis: 'kytes-dev-redis-data',
      gitlab: [['kytes-dev-gitlab-main-config', 'kytes-dev-gitlab-main-data', 'kytes-dev-gitlab-main-logs']],
      mongo: ['kytes-dev-mongo-0-data'],
      rocketchat: 'kytes-dev-rocketchat-uploads',
    });
  });
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
  const purposes = ['postgres/superuser', 'redis', 'mongo/root', 'mongo/rocketchat', 'rocketchat/admin'];
  const instances = (run.outputs.gitlabInstances as Array<{ name: string }>).map((g) => g.name);
  for (const i of instances) purposes.push(`gitlab/${i}/database`, `gitlab/${i}/root`);
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
  it.each(['dev', 'prod'])('%s: no secret value appears in a non-secret input', async (stack) => {
    const run = await runProgram(stack, stackConfig(stack));
    const secrets = secretValues(stack, run);
    const found = run.resources.flatMap((r) => leaks(r.inputs, secrets, r.name));
    expect(found).toEqual([]);
    // And the secrets are really there, wrapped: the check above is not vacuous.
    const wrapped = run.resources.flatMap((r) => leaks(unwrap(r.inputs), secrets, r.name));
    expect(wrapped.length).toBeGreaterThan(5);
  });

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
  });

  it('commands that carry secrets do not log', async () => {
    const run = await runProgram('dev', stackConfig('dev'));
    for (const name of ['kytes-dev-postgres-setup', 'kytes-dev-mongo-initiate']) {
      const cmd = run.resources.find((r) => r.name === name)!;
      expect(cmd.inputs.logging).toBe('none');
    }
  });
});
