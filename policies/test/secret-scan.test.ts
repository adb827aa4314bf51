import { findInlineSecrets, isLiteral, looksSecret, wordsOf } from '../rules/secret-scan';

describe('secret-looking names', () => {
  test('splits names into words', () => {
    expect(wordsOf('MONGO_INITDB_ROOT_PASSWORD')).toEqual(['MONGO', 'INITDB', 'ROOT', 'PASSWORD']);
    expect(wordsOf('dbPassword')).toEqual(['DB', 'PASSWORD']);
    expect(wordsOf('--requirepass')).toEqual(['REQUIREPASS']);
  });

  test.each([
    'POSTGRES_PASSWORD',
    'ADMIN_PASS',
    'GITLAB_ROOT_PASSWORD',
    'SECRET_KEY_BASE',
    'REG_TOKEN',
    'db_password',
    'apiKey',
    'REDISCLI_AUTH',
    '--requirepass',
    'AWS_CREDENTIALS',
    'PGPASSWORD',
    'clientSecret',
  ])('%s looks secret', (name) => {
    expect(looksSecret(name)).toBe(true);
  });

  test.each([
    'POSTGRES_PASSWORD_FILE',
    '--keyFile',
    'SSH_PUBLIC_KEY',
    'POSTGRES_HOST_AUTH_METHOD',
    'PASSENGER_MAX_POOL',
    'MONGO_INITDB_ROOT_USERNAME',
    'PWD',
    '--authenticationDatabase',
    'KEYFILE',
    'PGPASSFILE',
    'TOKEN_URL',
    'PASSWORD_MIN_LENGTH',
    'AWS_ACCESS_KEY_ID',
  ])('%s does not', (name) => {
    expect(looksSecret(name)).toBe(false);
  });
});

describe('literal values', () => {
  test.each(['s3cret', '"s3cret"', "'x y'", '12345'])('%s is written out', (v) => expect(isLiteral(v)).toBe(true));
  test.each(['', '""', '$PASSWORD', '"${PASSWORD}"', '"$(cat /run/secrets/pg)"', '--other', 'true', 'None'])(
    '%s is not',
    (v) => expect(isLiteral(v)).toBe(false),
  );
});

describe('inline secrets in text', () => {
  test.each([
    ['PGPASSWORD=hunter2 psql -h postgres', [{ kind: 'assignment', key: 'PGPASSWORD' }]],
    ['export GITLAB_TOKEN="glpat-abc"', [{ kind: 'assignment', key: 'GITLAB_TOKEN' }]],
    ["gitlab_rails['db_password'] = 'hunter2'", [{ kind: 'assignment', key: 'db_password' }]],
    ['{"password": "hunter2"}', [{ kind: 'assignment', key: 'password' }]],
    ['mongodump --username root --password hunter2 --out /b', [{ kind: 'option', key: '--password' }]],
    ['redis-server --requirepass=hunter2', [{ kind: 'option', key: '--requirepass' }]],
    ['mongosh -u root -p hunter2 --eval "rs.status()"', [{ kind: 'option', key: '-p of mongosh' }]],
    ['redis-cli -a hunter2 ping', [{ kind: 'option', key: '-a of redis-cli' }]],
    ['mongodb://rocketchat:hunter2@mongo-0:27017/rocketchat?replicaSet=rs0', [{ kind: 'url' }]],
    [
      'PGPASSWORD=x pg_dump "postgresql://gitlab:y@postgres/db" --password z',
      [{ kind: 'assignment', key: 'PGPASSWORD' }, { kind: 'option', key: '--password' }, { kind: 'url' }],
    ],
  ])('finds %s', (text, findings) => {
    expect(findInlineSecrets(text)).toEqual(findings);
  });

  test.each([
    'PGPASSWORD="$PGPASSWORD" psql -h postgres',
    'mongodump --password "$MONGO_ROOT_PASSWORD" --authenticationDatabase admin',
    'mongod --replSet rs0 --keyFile /etc/mongo-keyfile/keyfile --bind_ip_all',
    "gitlab_rails['db_password'] = ENV['KYTES_DB_PASSWORD']",
    'mongosh "mongodb://root:${MONGO_ROOT_PASSWORD}@mongo-0:27017/admin" --quiet',
    'pg_isready -h postgres -p 5432 && mkdir -p /var/backups/kytes',
    'redis-cli -p 6379 ping',
    'curl -fsS http://localhost:3000/health',
    "password=''",
  ])('finds nothing in %s', (text) => {
    expect(findInlineSecrets(text)).toEqual([]);
  });
});
