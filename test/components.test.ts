import { derivePassword } from '../lib/secrets';
import { RecordedResource, runProgram, stackConfig, StackRun, TEST_MASTER_SECRET, unwrap } from './helpers/program';

/** Exact children and inputs of each component, on the dev stack (`Pulumi.dev.yaml`). */
let run: StackRun;
beforeAll(async () => {
  run = await runProgram('dev', stackConfig('dev'));
}, 60000);

const byName = (name: string): RecordedResource => {
  const r = run.resources.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name}`);
  return r;
};
const inputs = (name: string) => unwrap(byName(name).inputs) as Record<string, unknown>;
const children = (parent: string) =>
  run.resources
    .filter((r) => r.options.parent === parent)
    .map((r) => `${r.type} ${r.name}`)
    .sort();
const pw = (purpose: string) => derivePassword(TEST_MASTER_SECRET, purpose);
const labels = (service: string, extra: Record<string, string> = {}, secretEnv: string[] = []) =>
  Object.entries({
    'kytes.prefix': 'kytes-dev',
    'kytes.service': service,
    ...extra,
    ...(secretEnv.length ? { 'kytes.secret-env': secretEnv.join(',') } : {}),
  })
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, value]) => ({ label, value }));
const volumeLabels = [
  { label: 'kytes.prefix', value: 'kytes-dev' },
  { label: 'kytes.retain-on-delete', value: 'true' },
];
const net = (alias: string) => [{ name: 'kytes-dev', aliases: [alias] }];
const logging = { logDriver: 'json-file', logOpts: { 'max-size': '10m', 'max-file': '5' } };

describe('components are parented under the stack with type tokens kytes:<area>:<Name>', () => {
  it('top level', () => {
    expect(children('')).toEqual([
      'kytes:app:GitlabInstance kytes-dev-gitlab-main',
      'kytes:app:RocketChat kytes-dev-rocketchat',
      'kytes:data:MongoReplicaSet kytes-dev-mongo',
      'kytes:data:Postgres kytes-dev-postgres',
      'kytes:data:Redis kytes-dev-redis-main',
      'kytes:edge:ReverseProxy kytes-dev-nginx',
      'kytes:network:StackNetwork kytes-dev-network',
      'kytes:ops:BackupOps kytes-dev-ops',
      'kytes:ops:UpgradeGuard kytes-dev-upgrade-guard',
      'pulumi:providers:docker kytes-dev-docker',
    ]);
  });
});

describe('StackNetwork', () => {
  it('one bridge network with a stable name and subnet', () => {
    expect(children('kytes-dev-network')).toEqual(['docker:index/network:Network kytes-dev-network-bridge']);
    expect(inputs('kytes-dev-network-bridge')).toEqual({
      name: 'kytes-dev',
      driver: 'bridge',
      ipamConfigs: [{ subnet: '172.16.188.0/24' }],
      labels: [{ label: 'kytes.prefix', value: 'kytes-dev' }],
    });
  });
});

describe('Postgres', () => {
  it('children', () => {
    expect(children('kytes-dev-postgres')).toEqual([
      'command:local:Command kytes-dev-postgres-setup',
      'docker:index/container:Container kytes-dev-postgres-container',
      'docker:index/remoteImage:RemoteImage kytes-dev-postgres-image',
      'docker:index/volume:Volume kytes-dev-postgres-data',
    ]);
    expect(inputs('kytes-dev-postgres-image')).toEqual({ name: 'postgres:17.11-bookworm', keepLocally: true });
    expect(inputs('kytes-dev-postgres-data')).toEqual({ name: 'kytes-dev-postgres-data', labels: volumeLabels });
  });

  it('container', () => {
    const c = inputs('kytes-dev-postgres-container');
    expect({ ...c, image: undefined }).toEqual({
      name: 'kytes-dev-postgres',
      image: undefined,
      hostname: 'postgres',
      networksAdvanced: net('postgres'),
      // One constrained instance: a budget of 70 + 3, so GitLab's minimum; PostgreSQL's own 128 MB.
      command: ['postgres', '-c', 'max_connections=400', '-c', 'shared_buffers=128MB'],
      envs: [`POSTGRES_PASSWORD=${pw('postgres/superuser')}`, 'TZ=UTC'],
      volumes: [{ volumeName: 'kytes-dev-postgres-data', containerPath: '/var/lib/postgresql/data' }],
      healthcheck: {
        tests: ['CMD', 'pg_isready', '-h', '127.0.0.1', '-p', '5432', '-U', 'postgres', '-d', 'postgres'],
        interval: '10s',
        timeout: '5s',
        retries: 6,
        startPeriod: '60s',
        startInterval: '2s',
      },
      wait: true,
      waitTimeout: 300,
      restart: 'unless-stopped',
      shmSize: 256,
      stopTimeout: 60,
      destroyGraceSeconds: 90,
      ...logging,
      labels: labels('postgres', {}, ['POSTGRES_PASSWORD']),
    });
  });

  it('setup step: passwords in environment only, no logging, re-run when the container is replaced', () => {
    const s = inputs('kytes-dev-postgres-setup');
    expect(s.create).toBe(
      "DOCKER_HOST='unix:///var/run/docker.sock' exec docker exec -i -e KYTES_PG_PASSWORD_MAIN 'kytes-dev-postgres' 'psql' '-v' 'ON_ERROR_STOP=1' '-q' '-U' 'postgres' '-d' 'postgres'",
    );
    expect(s.environment).toEqual({
      KYTES_PG_PASSWORD_MAIN: pw('gitlab/main/database'),
    });
    expect(s.interpreter).toEqual(['/bin/bash', '-c']);
    expect(s.logging).toBe('none');
    expect(s.triggers).toEqual(['kytes-dev-postgres-container-id']);
    expect(s.stdin).toContain('CREATE EXTENSION IF NOT EXISTS');
  });
});

describe('Redis (one per GitLab instance)', () => {
  it('children and container, all named from the instance', () => {
    expect(children('kytes-dev-redis-main')).toEqual([
      'docker:index/container:Container kytes-dev-redis-main-container',
      'docker:index/remoteImage:RemoteImage kytes-dev-redis-main-image',
      'docker:index/volume:Volume kytes-dev-redis-main-data',
    ]);
    expect(inputs('kytes-dev-redis-main-image')).toEqual({ name: 'redis:7.4.11-bookworm', keepLocally: true });
    expect(inputs('kytes-dev-redis-main-data')).toEqual({ name: 'kytes-dev-redis-main-data', labels: volumeLabels });
    const c = inputs('kytes-dev-redis-main-container');
    expect(c.name).toBe('kytes-dev-redis-main');
    expect(c.hostname).toBe('redis-main');
    expect(c.command).toEqual(['redis-server', '/usr/local/etc/redis/redis.conf']);
    expect(c.envs).toEqual([`REDISCLI_AUTH=${pw('redis/main')}`, 'TZ=UTC']);
    expect(c.volumes).toEqual([{ volumeName: 'kytes-dev-redis-main-data', containerPath: '/data' }]);
    expect(c.networksAdvanced).toEqual(net('redis-main'));
    expect(c.ports).toBeUndefined();
    expect(c.labels).toEqual(labels('redis', { 'kytes.instance': 'main' }, ['REDISCLI_AUTH']));
    const [upload] = c.uploads as Array<{ file: string; content: string }>;
    expect(upload.file).toBe('/usr/local/etc/redis/redis.conf');
    expect(upload.content.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      'bind 0.0.0.0',
      'port 6379',
      'protected-mode yes',
      'dir /data',
      'appendonly yes',
      'appendfsync everysec',
      'save 3600 1 300 100 60 10000',
      `requirepass ${pw('redis/main')}`,
    ]);
  });
});

describe('GitlabInstance', () => {
  it('children', () => {
    expect(children('kytes-dev-gitlab-main')).toEqual([
      'docker:index/container:Container kytes-dev-gitlab-main-container',
      'docker:index/remoteImage:RemoteImage kytes-dev-gitlab-main-image',
      'docker:index/volume:Volume kytes-dev-gitlab-main-config',
      'docker:index/volume:Volume kytes-dev-gitlab-main-data',
      'docker:index/volume:Volume kytes-dev-gitlab-main-logs',
    ]);
  });

  it('container', () => {
    const c = inputs('kytes-dev-gitlab-main-container');
    const env = c.envs as string[];
    expect(env.map((e) => e.slice(0, e.indexOf('=')))).toEqual([
      'GITLAB_OMNIBUS_CONFIG',
      'GITLAB_ROOT_PASSWORD',
      'KYTES_DB_PASSWORD',
      'KYTES_REDIS_PASSWORD',
      'TZ',
    ]);
    expect(env.slice(1)).toEqual([
      `GITLAB_ROOT_PASSWORD=${pw('gitlab/main/root')}`,
      `KYTES_DB_PASSWORD=${pw('gitlab/main/database')}`,
      `KYTES_REDIS_PASSWORD=${pw('redis/main')}`,
      'TZ=UTC',
    ]);
    expect({ ...c, envs: undefined, image: undefined }).toEqual({
      name: 'kytes-dev-gitlab-main',
      image: undefined,
      envs: undefined,
      hostname: 'gitlab.kytes.localhost',
      networksAdvanced: net('gitlab-main'),
      ports: [{ internal: 22, external: 2222, ip: '127.0.0.1', protocol: 'tcp' }],
      volumes: [
        { volumeName: 'kytes-dev-gitlab-main-config', containerPath: '/etc/gitlab' },
        { volumeName: 'kytes-dev-gitlab-main-data', containerPath: '/var/opt/gitlab' },
        { volumeName: 'kytes-dev-gitlab-main-logs', containerPath: '/var/log/gitlab' },
      ],
      healthcheck: {
        tests: ['CMD', '/opt/gitlab/bin/gitlab-healthcheck', '--fail', '--max-time', '10'],
        interval: '60s',
        timeout: '30s',
        retries: 5,
        startPeriod: '1800s',
        startInterval: '15s',
      },
      wait: true,
      waitTimeout: 1800,
      restart: 'unless-stopped',
      shmSize: 256,
      memory: 4096,
      stopTimeout: 120,
      destroyGraceSeconds: 180,
      ...logging,
      labels: labels('gitlab', { 'kytes.instance': 'main' }, [
        'GITLAB_ROOT_PASSWORD',
        'KYTES_DB_PASSWORD',
        'KYTES_REDIS_PASSWORD',
      ]),
    });
  });
});

describe('MongoReplicaSet', () => {
  it('children', () => {
    expect(children('kytes-dev-mongo')).toEqual([
      'command:local:Command kytes-dev-mongo-initiate',
      'docker:index/container:Container kytes-dev-mongo-0',
      'docker:index/remoteImage:RemoteImage kytes-dev-mongo-image',
      'docker:index/volume:Volume kytes-dev-mongo-0-data',
      'random:index/randomPassword:RandomPassword kytes-dev-mongo-keyfile',
    ]);
  });

  it('member: keyfile auth, replica set, never published, not waited on before initiation', () => {
    const c = inputs('kytes-dev-mongo-0');
    expect(c.command).toEqual([
      'mongod',
      '--replSet',
      'rs0',
      '--bind_ip_all',
      '--port',
      '27017',
      '--keyFile',
      '/etc/mongo-keyfile/keyfile',
    ]);
    expect(c.uploads).toEqual([
      {
        file: '/etc/mongo-keyfile/keyfile',
        content: 'random-kytes-dev-mongo-keyfile',
        owner: '999',
        group: '999',
        permissions: '0400',
      },
    ]);
    expect(c.ports).toBeUndefined();
    // MongoDB's recommended open-files limit.
    expect(c.ulimits).toEqual([{ name: 'nofile', soft: 64000, hard: 64000 }]);
    expect(c.wait).toBe(false);
    expect(c.networksAdvanced).toEqual(net('mongo-0'));
    expect(c.envs).toEqual([
      `KYTES_MONGO_ROOT_PASSWORD=${pw('mongo/root')}`,
      'KYTES_MONGO_ROOT_USERNAME=root',
      'TZ=UTC',
    ]);
    expect((c.healthcheck as { tests: string[] }).tests).toEqual([
      'CMD',
      'mongosh',
      '--quiet',
      '--port',
      '27017',
      '--eval',
      'const h = db.hello(); quit(h.setName === "rs0" && (h.isWritablePrimary || h.secondary) ? 0 : 1)',
    ]);
  });

  it('initiation step', () => {
    const s = inputs('kytes-dev-mongo-initiate');
    expect(s.create).toBe(
      `DOCKER_HOST='unix:///var/run/docker.sock' exec docker exec -i -e KYTES_MONGO_APP_PASSWORD -e KYTES_MONGO_ROOT_PASSWORD 'kytes-dev-mongo-0' 'sh' '-c' 'exec mongosh --quiet --nodb --eval "$(cat)"'`,
    );
    expect(s.environment).toEqual({
      KYTES_MONGO_ROOT_PASSWORD: pw('mongo/root'),
      KYTES_MONGO_APP_PASSWORD: pw('mongo/rocketchat'),
    });
    expect(s.logging).toBe('none');
    expect(s.triggers).toEqual(['kytes-dev-mongo-0-id']);
  });
});

describe('RocketChat', () => {
  it('children and container', () => {
    expect(children('kytes-dev-rocketchat')).toEqual([
      'docker:index/container:Container kytes-dev-rocketchat-container',
      'docker:index/remoteImage:RemoteImage kytes-dev-rocketchat-image',
      'docker:index/volume:Volume kytes-dev-rocketchat-uploads',
    ]);
    const c = inputs('kytes-dev-rocketchat-container');
    expect(c.envs).toEqual([
      'ADMIN_EMAIL=admin@kytes.localhost',
      'ADMIN_NAME=Kytes Admin',
      `ADMIN_PASS=${pw('rocketchat/admin')}`,
      'ADMIN_USERNAME=kytes-admin',
      'DEPLOY_METHOD=docker',
      'EVENT_LOOP_LAG_MS=10000',
      'HEAP_USAGE_PERCENT=1',
      `MONGO_URL=mongodb://rocketchat:${pw('mongo/rocketchat')}@mongo-0:27017/rocketchat?replicaSet=rs0&authSource=admin`,
      'OVERWRITE_SETTING_Show_Setup_Wizard=completed',
      'OVERWRITE_SETTING_Site_Url=http://rocketchat.kytes.localhost:8080',
      'PORT=3000',
      'ROOT_URL=http://rocketchat.kytes.localhost:8080',
      'TZ=UTC',
    ]);
    expect(c.volumes).toEqual([{ volumeName: 'kytes-dev-rocketchat-uploads', containerPath: '/app/uploads' }]);
    expect(c.memory).toBe(1536);
    expect(c.ports).toBeUndefined();
    // /livez on 3000, the PORT above: written down here, not read from the topology.
    expect(c.healthcheck).toEqual({
      tests: [
        'CMD',
        'node',
        '-e',
        "require('http').get('http://127.0.0.1:3000/livez', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))",
      ],
      interval: '30s',
      // The lag threshold (EVENT_LOOP_LAG_MS above) is the probe's own timeout: /livez fails only what the timeout would.
      timeout: '10s',
      retries: 5,
      startPeriod: '300s',
      startInterval: '5s',
    });
    expect((c.envs as string[]).some((e) => e.startsWith('INITIAL_USER='))).toBe(false);
  });
});

describe('ReverseProxy', () => {
  it('children and container: nginx runs the config in its own volume, read-only', () => {
    expect(children('kytes-dev-nginx')).toEqual([
      'command:local:Command kytes-dev-nginx-apply-config',
      'docker:index/container:Container kytes-dev-nginx-container',
      'docker:index/remoteImage:RemoteImage kytes-dev-nginx-image',
      'docker:index/volume:Volume kytes-dev-nginx-config',
    ]);
    const c = inputs('kytes-dev-nginx-container');
    expect(c.ports).toEqual([{ internal: 8080, external: 8080, ip: '127.0.0.1', protocol: 'tcp' }]);
    expect(c.networksAdvanced).toEqual(net('nginx'));
    expect(c.command).toEqual(['nginx', '-c', '/etc/nginx/kytes/nginx.conf', '-g', 'daemon off;']);
    expect(c.volumes).toEqual([
      { volumeName: 'kytes-dev-nginx-config', containerPath: '/etc/nginx/kytes', readOnly: true },
    ]);
    expect(c.uploads).toEqual([]);
    expect((c.healthcheck as { tests: string[] }).tests).toEqual([
      'CMD',
      'curl',
      '-fsS',
      '-o',
      '/dev/null',
      'http://127.0.0.1:8080/nginx-health',
    ]);
    expect(byName('kytes-dev-nginx-container').options.dependsOn).toContain('kytes-dev-nginx-apply-config');
  });

  it('the config step writes the rendered config from stdin, checks it with the running nginx, reloads it', () => {
    const step = inputs('kytes-dev-nginx-apply-config');
    expect(step.stdin).toContain('server_name gitlab.kytes.localhost;');
    expect(step.stdin).toContain('server_name rocketchat.kytes.localhost;');
    const script = String(step.create);
    expect(script).toContain("docker exec 'kytes-dev-nginx' 'nginx' '-t' '-q' '-c' '/etc/nginx/kytes/.nginx.conf.new'");
    expect(script).toContain("docker exec 'kytes-dev-nginx' 'nginx' '-c' '/etc/nginx/kytes/nginx.conf' '-s' 'reload'");
    expect(script.indexOf("'nginx' '-t'")).toBeLessThan(script.indexOf('mv -f'));
    expect(step.logging).toBe('stdoutAndStderr');
  });

  it('a config change updates the step in place and leaves the container as it is (no restart)', async () => {
    const other = await runProgram('dev', { ...stackConfig('dev'), 'kytes:domain': 'other.localhost' });
    const of = (r: StackRun, name: string) => r.resources.find((x) => x.name === name)!.inputs;
    expect(of(other, 'kytes-dev-nginx-apply-config').stdin).not.toEqual(of(run, 'kytes-dev-nginx-apply-config').stdin);
    expect(of(other, 'kytes-dev-nginx-apply-config').create).toEqual(of(run, 'kytes-dev-nginx-apply-config').create);
    expect(JSON.stringify(of(other, 'kytes-dev-nginx-container'))).toBe(
      JSON.stringify(of(run, 'kytes-dev-nginx-container')),
    );
  });
});

describe('UpgradeGuard', () => {
  it('children: one guard per versioned data service, run on the Docker host', () => {
    expect(children('kytes-dev-upgrade-guard')).toEqual([
      'command:local:Command kytes-dev-upgrade-guard-gitlab',
      'command:local:Command kytes-dev-upgrade-guard-mongo',
      'command:local:Command kytes-dev-upgrade-guard-postgres',
    ]);
  });

  it('each is keyed on its image and the version read from it, and logs (no secret in it)', () => {
    expect(
      ['gitlab', 'postgres', 'mongo'].map((w) => {
        const c = inputs(`kytes-dev-upgrade-guard-${w}`);
        return [c.triggers, c.logging, c.interpreter, c.environment];
      }),
    ).toEqual([
      [['gitlab/gitlab-ce:19.3.0-ce.0', '19.3.0'], 'stdoutAndStderr', ['/bin/bash', '-c'], undefined],
      [['postgres:17.11-bookworm', '17.11'], 'stdoutAndStderr', ['/bin/bash', '-c'], undefined],
      [['mongo:8.0.29-noble', '8.0.29'], 'stdoutAndStderr', ['/bin/bash', '-c'], undefined],
    ]);
    expect(String(inputs('kytes-dev-upgrade-guard-gitlab').create)).toContain("volumes=('kytes-dev-gitlab-main-data')");
  });
});

describe('the memory profile, from the topology alone', () => {
  const MEMORY_CONSTRAINED = "prometheus_monitoring['enable'] = false";
  const containers = async (stack: string) => {
    const run = await runProgram(stack, stackConfig(stack));
    const c = (name: string) =>
      unwrap(run.resources.find((r) => r.name === `kytes-${stack}-${name}-container`)!.inputs) as Record<
        string,
        unknown
      >;
    const omnibus = (c('gitlab-main').envs as string[]).find((e) => e.startsWith('GITLAB_OMNIBUS_CONFIG='))!;
    return {
      gitlab: c('gitlab-main'),
      rocketchat: c('rocketchat'),
      constrainedRb: omnibus.includes(MEMORY_CONSTRAINED),
    };
  };

  it('standard (Pulumi.prod.yaml): 512 MB of /dev/shm, 8 GB for GitLab without the constrained settings, 4 GB for Rocket.Chat', async () => {
    const { gitlab, rocketchat, constrainedRb } = await containers('prod');
    expect([gitlab.shmSize, gitlab.memory, constrainedRb, rocketchat.memory]).toEqual([512, 8192, false, 4096]);
  }, 60000);

  it('constrained (Pulumi.dev.yaml): 256 MB of /dev/shm, 4 GB for GitLab with the constrained settings, 1.5 GB for Rocket.Chat', async () => {
    const { gitlab, rocketchat, constrainedRb } = await containers('dev');
    expect([gitlab.shmSize, gitlab.memory, constrainedRb, rocketchat.memory]).toEqual([256, 4096, true, 1536]);
  }, 60000);
});
