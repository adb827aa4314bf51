import * as pulumi from '@pulumi/pulumi';
import {
  ConfigError,
  configSchema,
  DEFAULT_IMAGES,
  isPinnedImage,
  parseConfig,
  SECRET_FIELDS,
  SecretField,
  secretValues,
} from '../lib/config';
import { flattenConfig, ProgramError, promiseOf, runProgram, TEST_MASTER_SECRET } from './helpers/program';

const SECRET = { 'kytes:masterSecret': TEST_MASTER_SECRET };
const isSecret = (k: string) => k === 'kytes:masterSecret';

describe('parseConfig', () => {
  it('fills every default from an otherwise empty stack', () => {
    expect(parseConfig(SECRET, isSecret)).toEqual({
      domain: 'kytes.localhost',
      timezone: 'UTC',
      memoryProfile: 'standard',
      docker: { host: 'unix:///var/run/docker.sock', sshOpts: [] },
      network: { allowDockerPools: false },
      proxy: { httpPort: 80, httpsPort: 443, bindAddress: '0.0.0.0' },
      tls: { mode: 'off', certificates: [], minValidDays: 14, hsts: false, hstsMaxAge: 63072000 },
      gitlab: {
        instances: [{ name: 'main', sshPort: 2222 }],
        sshBindAddress: '0.0.0.0',
        startTimeoutMinutes: 30,
        puma: {},
        sidekiq: {},
      },
      postgres: {},
      rocketchat: { enabled: true },
      mongo: { replicaSet: 'rs0', members: 1 },
      // The pins of lib/config/images.ts, written down: a changed default shows here (and in docs/versions.md).
      images: {
        gitlab: 'gitlab/gitlab-ce:19.3.0-ce.0',
        postgres: 'postgres:17.11-bookworm',
        redis: 'redis:7.4.11-bookworm',
        mongo: 'mongo:8.0.29-noble',
        rocketchat: 'rocketchat/rocket.chat:8.6.2',
        nginx: 'nginx:1.30.4-trixie',
        versions: {},
      },
      admin: { username: 'kytes-admin', name: 'Kytes Admin' },
      backup: { schedule: '0 */4 * * *', keepLast: 6, keepDaily: 7, keepWeekly: 4, alertFormat: 'rocketchat' },
      restore: {},
      logs: { maxSize: '10m', maxFiles: 5 },
    });
  });

  it('pins every default image', () => {
    expect(Object.entries(DEFAULT_IMAGES).map(([key, ref]) => [key, isPinnedImage(ref)])).toEqual([
      ['gitlab', true],
      ['postgres', true],
      ['redis', true],
      ['mongo', true],
      ['rocketchat', true],
      ['nginx', true],
    ]);
  });

  it.each([
    ['postgres:17.10-bookworm', true],
    ['registry.example.com:5000/team/app:1.2', true],
    [`mongo@sha256:${'a'.repeat(64)}`, true],
    ['postgres', false],
    ['postgres:latest', false],
    ['registry.example.com:5000/app', false],
    ['Postgres:17', false],
  ])('isPinnedImage(%s) is %s', (ref, pinned) => {
    expect(isPinnedImage(ref)).toBe(pinned);
  });

  it('lists every problem at once, with key path, value received and what is allowed', () => {
    const all = flattenConfig({
      'kytes:domain': 'Not A Domain',
      'kytes:proxy': { httpPort: 70000 },
      'kytes:memoryProfile': 'huge',
    });
    let error: unknown;
    try {
      parseConfig({ ...all, ...SECRET }, isSecret);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'kytes:domain: received "Not A Domain"; allowed: a lower-case DNS name with at least one dot, such as gitlab.example.com',
      'kytes:memoryProfile: received "huge"; allowed: one of constrained, standard',
      'kytes:proxy.httpPort: received 70000; allowed: a whole number from 1 to 65535 (the host port nginx is published on)',
    ]);
  });

  it('never shows the master secret in an error', () => {
    const short = 'short-but-secret';
    expect(() => parseConfig({ 'kytes:masterSecret': short }, isSecret)).toThrow(
      'kytes:masterSecret: received a secret of 16 characters; allowed: at least 32',
    );
    try {
      parseConfig({ 'kytes:masterSecret': short }, isSecret);
    } catch (e) {
      expect(String(e)).not.toContain(short);
    }
  });
});

/** [what, flat config additions, expected problem prefix (key path and value)]. */
const INVALID: Array<[string, Record<string, unknown>, string]> = [
  ['domain not a DNS name', { 'kytes:domain': 'kytes' }, 'kytes:domain: received "kytes"'],
  ['domain upper case', { 'kytes:domain': 'Kytes.IO' }, 'kytes:domain: received "Kytes.IO"'],
  ['prefix not a DNS label', { 'kytes:prefix': '9lives' }, 'kytes:prefix: received "9lives"'],
  ['unknown time zone', { 'kytes:timezone': 'Mars/Olympus' }, 'kytes:timezone: received "Mars/Olympus"'],
  ['unknown memory profile', { 'kytes:memoryProfile': 'tiny' }, 'kytes:memoryProfile: received "tiny"'],
  [
    'unknown top-level key',
    { 'kytes:gitlabb': { instances: [] } },
    'kytes:gitlabb: received {"instances":[]}; allowed: no such key',
  ],
  [
    'docker host over tcp',
    { 'kytes:docker': { host: 'tcp://1.2.3.4:2375' } },
    'kytes:docker.host: received "tcp://1.2.3.4:2375"',
  ],
  ['network name with dot', { 'kytes:network': { name: 'a.b' } }, 'kytes:network.name: received "a.b"'],
  [
    'network subnet public',
    { 'kytes:network': { subnet: '8.8.8.0/24' } },
    'kytes:network.subnet: received "8.8.8.0/24"',
  ],
  ['proxy port zero', { 'kytes:proxy': { httpPort: 0 } }, 'kytes:proxy.httpPort: received 0'],
  ['proxy port text', { 'kytes:proxy': { httpPort: '80' } }, 'kytes:proxy.httpPort: received "80"'],
  ['proxy port fractional', { 'kytes:proxy': { httpPort: 80.5 } }, 'kytes:proxy.httpPort: received 80.5'],
  [
    'bind address hostname',
    { 'kytes:proxy': { bindAddress: 'localhost' } },
    'kytes:proxy.bindAddress: received "localhost"',
  ],
  [
    'bind address out of range',
    { 'kytes:proxy': { bindAddress: '256.0.0.1' } },
    'kytes:proxy.bindAddress: received "256.0.0.1"',
  ],
  ['public scheme ftp', { 'kytes:proxy': { publicScheme: 'ftp' } }, 'kytes:proxy.publicScheme: received "ftp"'],
  ['proxy unknown key', { 'kytes:proxy': { port: 80 } }, 'kytes:proxy.port: received 80; allowed: no such key'],
  ['no GitLab instance', { 'kytes:gitlab': { instances: [] } }, 'kytes:gitlab.instances: received []'],
  [
    'instance name with underscore',
    { 'kytes:gitlab': { instances: [{ name: 'my_lab', sshPort: 2222 }] } },
    'kytes:gitlab.instances[0].name: received "my_lab"',
  ],
  [
    'instance name upper case',
    { 'kytes:gitlab': { instances: [{ name: 'Main', sshPort: 2222 }] } },
    'kytes:gitlab.instances[0].name: received "Main"',
  ],
  [
    'instance without ssh port',
    { 'kytes:gitlab': { instances: [{ name: 'main' }] } },
    'kytes:gitlab.instances[0].sshPort: received nothing',
  ],
  [
    'instance ssh port too high',
    { 'kytes:gitlab': { instances: [{ name: 'main', sshPort: 65536 }] } },
    'kytes:gitlab.instances[0].sshPort: received 65536',
  ],
  [
    'instance hostname bare',
    { 'kytes:gitlab': { instances: [{ name: 'main', hostname: 'gitlab', sshPort: 2222 }] } },
    'kytes:gitlab.instances[0].hostname: received "gitlab"',
  ],
  [
    'instance unknown key',
    { 'kytes:gitlab': { instances: [{ name: 'main', sshPort: 2222, port: 1 }] } },
    'kytes:gitlab.instances[0].port: received 1; allowed: no such key',
  ],
  [
    'start timeout too short',
    { 'kytes:gitlab': { startTimeoutMinutes: 1 } },
    'kytes:gitlab.startTimeoutMinutes: received 1',
  ],
  [
    'rocketchat enabled as text',
    { 'kytes:rocketchat': { enabled: 'yes' } },
    'kytes:rocketchat.enabled: received "yes"',
  ],
  [
    'rocketchat hostname with scheme',
    { 'kytes:rocketchat': { hostname: 'https://chat.kytes.io' } },
    'kytes:rocketchat.hostname: received "https://chat.kytes.io"',
  ],
  ['even replica-set size', { 'kytes:mongo': { members: 2 } }, 'kytes:mongo.members: received 2'],
  ['replica-set name with space', { 'kytes:mongo': { replicaSet: 'rs 0' } }, 'kytes:mongo.replicaSet: received "rs 0"'],
  [
    'image latest',
    { 'kytes:images': { gitlab: 'gitlab/gitlab-ce:latest' } },
    'kytes:images.gitlab: received "gitlab/gitlab-ce:latest"',
  ],
  ['image untagged', { 'kytes:images': { postgres: 'postgres' } }, 'kytes:images.postgres: received "postgres"'],
  [
    'admin user name with space',
    { 'kytes:admin': { username: 'kytes admin' } },
    'kytes:admin.username: received "kytes admin"',
  ],
  ['admin email invalid', { 'kytes:admin': { email: 'ops-at-kytes' } }, 'kytes:admin.email: received "ops-at-kytes"'],
  [
    'cron every minute typo',
    { 'kytes:backup': { schedule: '* */4 * *' } },
    'kytes:backup.schedule: received "* */4 * *"',
  ],
  ['backup dir relative', { 'kytes:backup': { dir: 'backups' } }, 'kytes:backup.dir: received "backups"'],
  ['keepLast zero', { 'kytes:backup': { keepLast: 0 } }, 'kytes:backup.keepLast: received 0'],
  [
    'off-host copy over http',
    { 'kytes:backup': { offHost: 'http://vault/backups' } },
    'kytes:backup.offHost: received "http://vault/backups"',
  ],
  ['restore from a name', { 'kytes:restore': { from: 'latest' } }, 'kytes:restore.from: received "latest"'],
  // Cross-field rules, found by the topology derivation.
  [
    'duplicate instance names',
    {
      'kytes:gitlab': {
        instances: [
          { name: 'a', sshPort: 2222 },
          { name: 'a', sshPort: 2223 },
        ],
      },
    },
    'kytes:gitlab.instances[1].name: "a" is already the name of instances[0]',
  ],
  [
    'duplicate ssh ports',
    {
      'kytes:gitlab': {
        instances: [
          { name: 'a', sshPort: 2222 },
          { name: 'b', sshPort: 2222 },
        ],
      },
    },
    'kytes:gitlab.instances[1].sshPort: host port 2222 is already published by kytes:gitlab.instances[0].sshPort',
  ],
  [
    'ssh port equals proxy port',
    { 'kytes:proxy': { httpPort: 2222 } },
    'kytes:gitlab.instances[0].sshPort: host port 2222 is already published by kytes:proxy.httpPort',
  ],
  [
    'duplicate hostnames',
    { 'kytes:rocketchat': { hostname: 'gitlab.kytes.localhost' } },
    'kytes:rocketchat.hostname: hostname "gitlab.kytes.localhost" is already used by kytes:gitlab.instances[0].hostname',
  ],
  [
    'postgres too new for GitLab 19',
    { 'kytes:images': { postgres: 'postgres:18.1' } },
    'kytes:images.postgres: PostgreSQL 18.1 with GitLab 19.3.0; GitLab 19 supports PostgreSQL 17.0 to 17.x',
  ],
  [
    'mongo too old for Rocket.Chat 8',
    { 'kytes:images': { mongo: 'mongo:7.0.12' } },
    'kytes:images.mongo: MongoDB 7.0.12 with Rocket.Chat 8.6.2; Rocket.Chat 8 supports MongoDB 8.0',
  ],
  // Version rules on digest-pinned images (issue 13 item 7): a digest is never read as a version.
  [
    'postgres pinned by a digest starting with digits, no version given',
    { 'kytes:images': { postgres: `postgres@sha256:16aa${'0'.repeat(60)}` } },
    `kytes:images.postgres: "postgres@sha256:16aa${'0'.repeat(60)}" names no version (pinned by digest, or by a tag without one), and the version rules need it; set the version the image contains: pulumi config set --path kytes:images.versions.postgres 17.11`,
  ],
  [
    'mongo pinned by a digest starting with a letter, no version given',
    { 'kytes:images': { mongo: `mongo@sha256:ab${'0'.repeat(62)}` } },
    `kytes:images.mongo: "mongo@sha256:ab${'0'.repeat(62)}" names no version`,
  ],
  [
    'digest-pinned postgres whose stated version breaks the rule',
    { 'kytes:images': { postgres: `postgres@sha256:ab${'0'.repeat(62)}`, versions: { postgres: '18.1' } } },
    'kytes:images.postgres: PostgreSQL 18.1 with GitLab 19.3.0',
  ],
  [
    'digest-pinned mongo (letter first) whose stated version breaks the rule',
    { 'kytes:images': { mongo: `mongo@sha256:fe${'0'.repeat(62)}`, versions: { mongo: '7.0.12' } } },
    'kytes:images.mongo: MongoDB 7.0.12 with Rocket.Chat 8.6.2',
  ],
  [
    'tag and stated version disagree',
    { 'kytes:images': { postgres: 'postgres:17.11-bookworm', versions: { postgres: '16.9' } } },
    'kytes:images.versions.postgres: "16.9", but the tag of kytes:images.postgres ("postgres:17.11-bookworm") says 17.11',
  ],
  [
    'a tag without a version',
    { 'kytes:images': { postgres: 'postgres:bookworm' } },
    'kytes:images.postgres: "postgres:bookworm" names no version',
  ],
  [
    'a mongo tag with the major only',
    { 'kytes:images': { mongo: 'mongo:8' } },
    'kytes:images.mongo: "mongo:8" names only the major version 8; the version rules need major.minor',
  ],
  [
    'a stated version that is not one',
    { 'kytes:images': { versions: { gitlab: 'nineteen' } } },
    'kytes:images.versions.gitlab: received "nineteen"',
  ],
  [
    'mongo 8.2 (a rapid release) with Rocket.Chat 8',
    { 'kytes:images': { mongo: 'mongo:8.2.1-noble' } },
    'kytes:images.mongo: MongoDB 8.2.1 with Rocket.Chat 8.6.2; Rocket.Chat 8 supports MongoDB 8.0: use a mongo:8.0.x image',
  ],
  [
    'GitLab 18 with a PostgreSQL below its 16.5 minimum',
    { 'kytes:images': { gitlab: 'gitlab/gitlab-ce:18.11.3-ce.0', postgres: 'postgres:16.4' } },
    'kytes:images.postgres: PostgreSQL 16.4 with GitLab 18.11.3; GitLab 18 supports PostgreSQL 16.5 to 17.x',
  ],
  [
    'a GitLab whose rules Kytes does not know',
    { 'kytes:images': { gitlab: 'gitlab/gitlab-ce:16.11.10-ce.0' } },
    'kytes:images.gitlab: GitLab 16.11.10; Kytes knows the rules of GitLab 17 to 19',
  ],
  [
    'max_connections below GitLab minimum',
    { 'kytes:postgres': { maxConnections: 399 } },
    "kytes:postgres.maxConnections: received 399; allowed: a whole number from 400 (GitLab's documented minimum) to 10000",
  ],
  [
    'max_connections below the connection budget',
    { 'kytes:gitlab': { puma: { workers: 16 } }, 'kytes:postgres': { maxConnections: 400 } },
    'kytes:postgres.maxConnections: 400 is below the connection budget of 513 (GitLab main 510, plus 3 superuser slots); set it to at least 513',
  ],
  ['puma workers too many', { 'kytes:gitlab': { puma: { workers: 65 } } }, 'kytes:gitlab.puma.workers: received 65'],
  ['puma threads zero', { 'kytes:gitlab': { puma: { threads: 0 } } }, 'kytes:gitlab.puma.threads: received 0'],
  [
    'sidekiq concurrency fractional',
    { 'kytes:gitlab': { sidekiq: { concurrency: 2.5 } } },
    'kytes:gitlab.sidekiq.concurrency: received 2.5',
  ],
  [
    'instance name too long for an alias',
    { 'kytes:gitlab': { instances: [{ name: `a${'b'.repeat(56)}`, sshPort: 2222 }] } },
    `kytes:gitlab.instances[0].name: the network alias gitlab-a${'b'.repeat(56)} of GitLab instance a${'b'.repeat(56)} has 64 characters; a DNS label has at most 63: shorten the name by 1`,
  ],
];

describe(`invalid configs stop the program before any resource (${INVALID.length} cases)`, () => {
  it.each(INVALID)('%s', async (_what, extra, expected) => {
    const error = await runProgram('dev', flattenConfig(extra)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProgramError);
    expect((error as ProgramError).message).toContain(expected);
    expect((error as ProgramError).resources).toEqual([]);
  });

  it('a missing master secret is an error, not a generated value', async () => {
    await expect(runProgram('dev', {}, { masterSecret: null })).rejects.toThrow(
      'kytes:masterSecret: received nothing; allowed: a secret of at least 32 characters',
    );
  });

  it('a master secret set in plain text is refused', async () => {
    await expect(
      runProgram('dev', { 'kytes:masterSecret': TEST_MASTER_SECRET }, { masterSecret: null }),
    ).rejects.toThrow('kytes:masterSecret: received a plain-text value; allowed: a secret only');
  });
});

describe('secret fields (lib/config/secretFields.ts)', () => {
  const all = { ...SECRET, 'kytes:backup': JSON.stringify({ trigger: 'nested-secret-value', keepLast: 3 }) };
  const secretBackup = (k: string) => k === 'kytes:masterSecret' || k === 'kytes:backup';

  it('a key set with --secret that holds no secret field is refused, its value never shown', () => {
    const network = { ...SECRET, 'kytes:network': JSON.stringify({ name: 'nested-secret-value' }) };
    const secretNetwork = (k: string) => k === 'kytes:masterSecret' || k === 'kytes:network';
    expect(() => parseConfig(network, secretNetwork)).toThrow(
      'kytes:network: received a secret value; allowed: plain text — nothing in kytes:network is a secret',
    );
    try {
      parseConfig(network, secretNetwork);
    } catch (e) {
      expect(String(e)).not.toContain('nested-secret-value');
    }
  });

  it('a nested path added to the list becomes a secret Output, out of the plain config', async () => {
    const fields = SECRET_FIELDS as SecretField[];
    fields.push({ path: 'backup.trigger', required: false, minLength: 8, howToSet: 'set it with --secret --path' });
    try {
      const config = parseConfig(all, secretBackup);
      expect(config.backup.trigger).toBeUndefined();
      expect(config.backup.keepLast).toBe(3);
      const secrets = secretValues(all, secretBackup);
      expect(Object.keys(secrets).sort()).toEqual(['backup.trigger', 'masterSecret']);
      expect(await pulumi.isSecret(secrets['backup.trigger'])).toBe(true);
      expect(await promiseOf(secrets['backup.trigger'])).toBe('nested-secret-value');
      // The same key in plain text is refused: a listed secret must be set with --secret.
      expect(() => parseConfig(all, isSecret)).toThrow(
        'kytes:backup.trigger: received a plain-text value; allowed: a secret only (set it with --secret --path)',
      );
    } finally {
      fields.pop();
    }
  });
});

describe('kytes:backup.schedule off and kytes:backup.alertFormat', () => {
  it('off is a schedule: no scheduled backups', () => {
    expect(configSchema.parse({ backup: { schedule: 'off' } }).backup.schedule).toBe('off');
  });

  it.each(['Off', 'false', 'none', ''])('refuses %j, saying off is the word', (schedule) => {
    const r = configSchema.safeParse({ backup: { schedule } });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0].message).toMatch(/, or off \(no scheduled backups\)$/);
  });

  it('alertFormat: rocketchat by default, or json; nothing else', () => {
    expect(configSchema.parse({}).backup.alertFormat).toBe('rocketchat');
    expect(configSchema.parse({ backup: { alertFormat: 'json' } }).backup.alertFormat).toBe('json');
    expect(configSchema.safeParse({ backup: { alertFormat: 'slack' } }).error?.issues[0].message).toBe(
      'one of rocketchat, json',
    );
  });
});
