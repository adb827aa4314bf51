import { LABELS } from '../../lib/labels';
import { declaredSecretEnv, noPlainSecrets } from '../rules/plain-secrets';
import { TYPES } from '../rules/view';
import { command, container, labels, volume } from './fixtures';

const DECLARE = (name: string) =>
  `declare ${name} in the label kytes.secret-env and give it a Pulumi secret, or pass a file path in ${name}_FILE`;
const NEVER_IN_LABEL = 'labels are shown to anyone who can list containers and volumes: never put a secret in one';
const NEVER_IN_COMMAND =
  'pass secrets through environment with logging off, never in the command string, which a failure prints in full';

describe('no-plain-secrets: containers', () => {
  test('accepts declared secret env vars, *_FILE paths, references and plain settings', () => {
    const rocketchat = container('kytes-dev-rocketchat', {
      envs: [
        'ADMIN_PASS=generated-by-kytes',
        'MONGO_URL=mongodb://rocketchat:generated@mongo-0:27017/rocketchat?replicaSet=rs0',
        'MONGO_INITDB_ROOT_PASSWORD_FILE=/run/secrets/mongo-root',
        'ROOT_URL=http://rocketchat.kytes.localhost:8080',
        'PORT=3000',
        'EMPTY_TOKEN=',
      ],
      labels: labels({ [LABELS.service]: 'rocketchat', [LABELS.secretEnv]: 'ADMIN_PASS,MONGO_URL' }),
      command: ['mongod', '--replSet', 'rs0', '--keyFile', '/etc/mongo-keyfile/keyfile'],
      healthcheck: { tests: ['CMD-SHELL', 'redis-cli -a "$REDISCLI_AUTH" ping'] },
    });
    expect(noPlainSecrets(rocketchat)).toEqual([]);
  });

  test('refuses an undeclared secret-looking env var', () => {
    const pg = container('kytes-dev-postgres', { envs: ['POSTGRES_PASSWORD=hunter2', 'TZ=UTC'] });
    expect(noPlainSecrets(pg)).toEqual([
      `container "kytes-dev-postgres": env var POSTGRES_PASSWORD looks secret but is not declared as a Pulumi secret; ${DECLARE('POSTGRES_PASSWORD')}`,
    ]);
  });

  test('refuses a URL with an inline password, and a secret inside a config blob, in undeclared env vars', () => {
    const chat = container('kytes-dev-rocketchat', {
      envs: [
        'MONGO_URL=mongodb://rocketchat:hunter2@mongo-0:27017/rocketchat',
        "GITLAB_OMNIBUS_CONFIG=gitlab_rails['db_password'] = 'hunter2'",
      ],
      labels: labels({ [LABELS.secretEnv]: 'ADMIN_PASS' }),
    });
    expect(noPlainSecrets(chat)).toEqual([
      `container "kytes-dev-rocketchat": env var MONGO_URL holds a URL with an inline password; ${DECLARE('MONGO_URL')}`,
      `container "kytes-dev-rocketchat": env var GITLAB_OMNIBUS_CONFIG sets db_password to an inline value; ${DECLARE('GITLAB_OMNIBUS_CONFIG')}`,
    ]);
  });

  test('refuses a malformed kytes.secret-env label, which declares nothing', () => {
    const pg = container('kytes-dev-postgres', {
      envs: ['POSTGRES_PASSWORD=hunter2'],
      labels: labels({ [LABELS.secretEnv]: 'POSTGRES_PASSWORD=hunter2' }),
    });
    expect(noPlainSecrets(pg)).toEqual([
      'container "kytes-dev-postgres": label kytes.secret-env must list env var names separated by commas (NAME,OTHER_NAME)',
      `container "kytes-dev-postgres": env var POSTGRES_PASSWORD looks secret but is not declared as a Pulumi secret; ${DECLARE('POSTGRES_PASSWORD')}`,
    ]);
  });

  test('refuses secrets in labels, declared or not', () => {
    const gitlab = container('kytes-dev-gitlab-main', {
      labels: labels({
        'kytes.root-password': 'hunter2',
        'kytes.db': 'postgresql://gitlab:hunter2@postgres/gitlabhq',
        [LABELS.secretEnv]: 'kytes.db',
      }),
    });
    expect(noPlainSecrets(gitlab)).toEqual([
      'container "kytes-dev-gitlab-main": label kytes.secret-env must list env var names separated by commas (NAME,OTHER_NAME)',
      `container "kytes-dev-gitlab-main": label kytes.root-password looks secret; ${NEVER_IN_LABEL}`,
      `container "kytes-dev-gitlab-main": label kytes.db holds a URL with an inline password; ${NEVER_IN_LABEL}`,
    ]);
  });

  test('refuses secrets in the command, entrypoint and healthcheck, which docker inspect shows', () => {
    const redis = container('kytes-dev-redis', {
      command: ['redis-server', '--requirepass', 'hunter2'],
      entrypoints: ['sh', '-c', 'REDIS_PASSWORD=hunter2 exec docker-entrypoint.sh "$@"'],
      healthcheck: { tests: ['CMD', 'redis-cli', '-a', 'hunter2', 'ping'] },
    });
    const inspect = (what: string) =>
      `read it from a declared secret env var or a file instead (docker inspect shows the ${what})`;
    expect(noPlainSecrets(redis)).toEqual([
      `container "kytes-dev-redis": command passes --requirepass an inline value; ${inspect('command')}`,
      `container "kytes-dev-redis": entrypoint sets REDIS_PASSWORD to an inline value; ${inspect('entrypoint')}`,
      `container "kytes-dev-redis": healthcheck passes -a of redis-cli an inline value; ${inspect('healthcheck')}`,
    ]);
  });
});

describe('no-plain-secrets: commands, volumes, networks', () => {
  test('accepts a command that takes its secrets from environment', () => {
    const setup = command('kytes-dev-postgres-setup', {
      create: 'docker exec -i -e PGPASSWORD kytes-dev-postgres psql -v ON_ERROR_STOP=1 -U postgres',
      environment: { PGPASSWORD: 'hunter2' },
      logging: 'none',
    });
    expect(noPlainSecrets(setup)).toEqual([]);
  });

  test('refuses a secret in create, update or delete, local or remote', () => {
    const local = command('kytes-dev-postgres-setup', {
      create: 'PGPASSWORD=hunter2 psql -h 127.0.0.1',
      delete: 'mongosh -u root -p hunter2 --eval "db.dropDatabase()"',
    });
    expect(noPlainSecrets(local)).toEqual([
      `command "kytes-dev-postgres-setup": create sets PGPASSWORD to an inline value; ${NEVER_IN_COMMAND}`,
      `command "kytes-dev-postgres-setup": delete passes -p of mongosh an inline value; ${NEVER_IN_COMMAND}`,
    ]);
    const remote = command(
      'kytes-prod-backup-on-demand',
      { update: 'restic -r sftp://backup:hunter2@vault/srv backup /b' },
      TYPES.remoteCommand,
    );
    expect(noPlainSecrets(remote)).toEqual([
      `command "kytes-prod-backup-on-demand": update holds a URL with an inline password; ${NEVER_IN_COMMAND}`,
    ]);
  });

  test('checks volume and network labels too', () => {
    expect(noPlainSecrets(volume('kytes-dev-postgres-data'))).toEqual([]);
    expect(
      noPlainSecrets(volume('kytes-dev-postgres-data', { [LABELS.retainOnDelete]: 'true', 'backup.token': 'abc' })),
    ).toEqual([`volume "kytes-dev-postgres-data": label backup.token looks secret; ${NEVER_IN_LABEL}`]);
    const network = {
      type: TYPES.network,
      name: 'net',
      props: { name: 'kytes-dev', labels: labels({ 'kytes.secret': 'abc' }) },
    };
    expect(noPlainSecrets(network)).toEqual([
      `network "kytes-dev": label kytes.secret looks secret; ${NEVER_IN_LABEL}`,
    ]);
  });
});

describe('the kytes.secret-env declaration', () => {
  test('parses a comma list of env var names, and refuses anything else', () => {
    expect(declaredSecretEnv(new Map([[LABELS.secretEnv, 'ADMIN_PASS,MONGO_URL']]))).toEqual(
      new Set(['ADMIN_PASS', 'MONGO_URL']),
    );
    expect(declaredSecretEnv(new Map())).toEqual(new Set());
    expect(declaredSecretEnv(new Map([[LABELS.secretEnv, 'ADMIN_PASS, MONGO_URL']]))).toBeUndefined();
  });
});

describe('no-plain-secrets messages', () => {
  test('name what holds the secret and never repeat its value', () => {
    const leaky = container('leaky', {
      envs: ['ADMIN_PASS=hunter2', 'MONGO_URL=mongodb://u:hunter2@m/db', "CONFIG=secret: 'hunter2'"],
      labels: labels({ 'x.token': 'hunter2', note: 'PGPASSWORD=hunter2' }),
      command: ['sh', '-c', 'mongosh -u root -p hunter2'],
      healthcheck: { tests: ['CMD-SHELL', 'curl https://u:hunter2@localhost/'] },
    });
    const messages = noPlainSecrets(leaky);
    expect(messages.length).toBe(7);
    expect(messages.filter((m) => m.includes('hunter2'))).toEqual([]);
  });
});
