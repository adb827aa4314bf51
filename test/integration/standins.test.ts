import { randomBytes } from 'crypto';
import { parseConfig } from '../../lib/config';
import { GITLAB_SECRET_ENV, renderGitlabConfig } from '../../lib/gitlab-rb';
import {
  mongodCommand,
  mongoHealthcheck,
  renderMongoInit,
  rocketchatHealthcheck,
  rocketchatMongoUrl,
} from '../../lib/mongo';
import { renderPostgresSetup, postgresPasswordEnv } from '../../lib/postgres-setup';
import { deriveTopology, Topology } from '../../lib/topology';
import { STANDINS } from '../rehearsal/standins';
import { docker, execIn, GiveUp, IMAGES, requireImages, Sandbox, uniqueName, waitFor } from './helpers/docker';

/**
 * The stand-ins can fail: each one is started the way the program starts the real image (its exact
 * environment, command and health check, from lib/), and must be unhealthy or refuse when what Kytes
 * wires is wrong — a wrong database or Redis password, a missing extension, a keyfile others can read,
 * a member alias that does not resolve, a changed root password on kept data, a wrong Mongo URL.
 */
jest.setTimeout(300_000);

const hex = randomBytes(3).toString('hex');
const sandbox = new Sandbox();
const images = {
  gitlab: `kytes-it-standin/gitlab:${hex}`,
  mongo: `kytes-it-standin/mongo:${hex}`,
  rocketchat: `kytes-it-standin/rocketchat:${hex}`,
};
let t: Topology;
const pw = (what: string) => `${what}-${randomBytes(9).toString('base64url')}`;
const passwords = {
  postgres: pw('pg'),
  gitlab: pw('gl'),
  redis: pw('redis'),
  root: pw('root'),
  mongoRoot: pw('mroot'),
  mongoApp: pw('mapp'),
};

async function build(service: 'gitlab' | 'mongo' | 'rocketchat'): Promise<void> {
  const b = STANDINS[service].build!;
  await docker(['build', '-q', '-t', images[service], ...(b.dockerfile ? ['-f', b.dockerfile] : []), b.context], {
    timeoutMs: 300_000,
  });
}

/** stdout and stderr of a container. */
const logs = async (name: string) => {
  const { execFile } = await import('child_process');
  return new Promise<string>((resolve) =>
    execFile('docker', ['logs', name], (_e, out, err) => resolve(`${out}${err}`)),
  );
};

/** Whether a health check command (["CMD", …]) passes inside the container, right now. */
const passes = (container: string, check: string[]) =>
  execIn(container, check.slice(1)).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  await requireImages([IMAGES.postgres, IMAGES.redis, 'kytes-test/node:bookworm']);
  await Promise.all([build('gitlab'), build('mongo'), build('rocketchat')]);
  const prefix = uniqueName('si').slice(0, 40).replace(/\.+/g, '-');
  t = deriveTopology(
    parseConfig(
      {
        'kytes:prefix': prefix,
        'kytes:masterSecret': 'x'.repeat(40),
        'kytes:memoryProfile': 'constrained',
        'kytes:mongo': JSON.stringify({ members: 3 }),
        'kytes:network': JSON.stringify({ subnet: `10.${230 + (randomBytes(1)[0] % 20)}.${randomBytes(1)[0]}.0/24` }),
      },
      (k) => k === 'kytes:masterSecret',
    ),
    'si',
  );
  await sandbox.network(t.network.name);
}, 600_000);
afterAll(async () => {
  await sandbox.cleanup();
  await docker(['rmi', ...Object.values(images)]).catch(() => undefined);
});

describe('GitLab stand-in', () => {
  const g = () => t.gitlab[0];
  const healthcheck = ['CMD', '/opt/gitlab/bin/gitlab-healthcheck', '--fail', '--max-time', '10'];
  const start = (suffix: string, env: Record<string, string>) =>
    sandbox.run({
      name: `${g().container}-${suffix}`,
      image: images.gitlab,
      network: t.network.name,
      aliases: [`${g().alias}-${suffix}`],
      env: { GITLAB_OMNIBUS_CONFIG: renderGitlabConfig(t, g()), ...env },
    });
  const good = () => ({
    [GITLAB_SECRET_ENV.dbPassword]: passwords.gitlab,
    [GITLAB_SECRET_ENV.redisPassword]: passwords.redis,
    [GITLAB_SECRET_ENV.rootPassword]: passwords.root,
  });

  beforeAll(async () => {
    await sandbox.run({
      name: t.postgres.container,
      image: IMAGES.postgres,
      network: t.network.name,
      aliases: [t.postgres.alias],
      env: { POSTGRES_PASSWORD: passwords.postgres },
    });
    await waitFor(
      () => execIn(t.postgres.container, ['pg_isready', '-h', '127.0.0.1', '-U', 'postgres']).then(() => true),
      {
        timeoutMs: 60_000,
        what: 'PostgreSQL',
      },
    );
  });

  it('is healthy only once its database has the role, the extensions GitLab needs, and the Redis password works', async () => {
    await start('ok', good());
    await start('badredis', { ...good(), [GITLAB_SECRET_ENV.redisPassword]: 'wrong' });
    // The Redis its GITLAB_OMNIBUS_CONFIG names, as the stand-in reads it.
    const settings = JSON.parse(await execIn(`${g().container}-ok`, ['gitlab-standin', 'settings', '--json'])) as {
      redis: { host: string; port: number };
    };
    await sandbox.run({
      name: uniqueName('redis'),
      image: IMAGES.redis,
      network: t.network.name,
      aliases: [settings.redis.host],
      cmd: ['redis-server', '--port', String(settings.redis.port), '--requirepass', passwords.redis],
    });
    // Before the setup step: no role, no database.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await passes(`${g().container}-ok`, healthcheck)).toBe(false);
    // The role and database, but no extensions yet: GitLab's migrations would fail.
    await execIn(t.postgres.container, ['psql', '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q'], {
      stdin: `CREATE ROLE "${g().database.user}" LOGIN PASSWORD '${passwords.gitlab}'; CREATE DATABASE "${g().database.name}" OWNER "${g().database.user}";`,
    });
    await new Promise((r) => setTimeout(r, 3000));
    expect(await passes(`${g().container}-ok`, healthcheck)).toBe(false);
    expect(await logs(`${g().container}-ok`)).toContain('lacks extensions pg_trgm, btree_gist, amcheck');
    // The program's own setup step.
    await execIn(t.postgres.container, ['psql', '-v', 'ON_ERROR_STOP=1', '-q', '-U', 'postgres', '-d', 'postgres'], {
      stdin: renderPostgresSetup(t),
      env: Object.fromEntries(t.gitlab.map((x) => [postgresPasswordEnv(x.name), passwords.gitlab])),
    });
    await waitFor(() => passes(`${g().container}-ok`, healthcheck), {
      timeoutMs: 30_000,
      what: 'the GitLab stand-in healthy',
    });
    expect(await passes(`${g().container}-badredis`, healthcheck)).toBe(false);
    expect(await logs(`${g().container}-badredis`)).toMatch(/Redis .*: AUTH: -(WRONGPASS|ERR)/);
  });

  it('is unhealthy with a wrong database password, and keeps the root password of its first boot', async () => {
    await start('badpg', { ...good(), [GITLAB_SECRET_ENV.dbPassword]: 'wrong' });
    await start('second', { ...good(), [GITLAB_SECRET_ENV.rootPassword]: 'another' });
    await waitFor(() => passes(`${g().container}-second`, healthcheck), {
      timeoutMs: 30_000,
      what: 'a second GitLab stand-in on the seeded database',
    });
    expect(await passes(`${g().container}-badpg`, healthcheck)).toBe(false);
    expect(await logs(`${g().container}-badpg`)).toContain('password authentication failed');
    const signIn = (password: string) =>
      execIn(`${g().container}-second`, [
        'curl',
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--data-urlencode',
        'grant_type=password',
        '--data-urlencode',
        'username=root',
        '--data-urlencode',
        `password=${password}`,
        `http://127.0.0.1:${g().httpPort}/oauth/token`,
      ]);
    expect([await signIn(passwords.root), await signIn('another')]).toEqual(['200', '400']);
  });

  it('refuses a config without the external database', async () => {
    const name = `${g().container}-nodb`;
    await sandbox.run({
      name,
      image: images.gitlab,
      network: t.network.name,
      env: { GITLAB_OMNIBUS_CONFIG: "external_url 'http://x.example'\n" },
    });
    await waitFor(async () => (await docker(['inspect', '-f', '{{.State.Running}}', name])).trim() === 'false', {
      timeoutMs: 20_000,
      what: 'the stand-in to exit',
    });
    expect(await logs(name)).toContain('the stand-in has no bundled PostgreSQL');
  });
});

describe('MongoDB stand-in', () => {
  const m = () => t.mongo!;
  const keyfile = randomBytes(300)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 200);
  it('refuses a keyfile others can read', async () => {
    const name = uniqueName('mongo-open');
    await sandbox.run({
      name,
      image: images.mongo,
      network: t.network.name,
      cmd: [
        'sh',
        '-c',
        `mkdir -p /etc/mongo-keyfile && printf %s '${keyfile}' > ${m().keyfilePath} && chown 999:999 ${m().keyfilePath} && chmod 0644 ${m().keyfilePath} && exec mongo-entrypoint ${mongodCommand(m()).join(' ')}`,
      ],
    });
    await waitFor(async () => (await docker(['inspect', '-f', '{{.State.Running}}', name])).trim() === 'false', {
      timeoutMs: 20_000,
      what: 'mongod to exit',
    });
    expect(await logs(name)).toContain(`permissions on ${m().keyfilePath} are too open`);
  });

  it('runs the initiation script to a healthy replica set: it waits for a member still starting, stops on an alias that never answers, and on a changed root password', async () => {
    const memberName = (index: number, alias?: string) => `${m().members[index].container}${alias ? '-bad' : ''}`;
    const run = (index: number, alias?: string) =>
      sandbox.run({
        name: memberName(index, alias),
        image: images.mongo,
        network: t.network.name,
        aliases: [alias ?? m().members[index].alias],
        env: { KYTES_MONGO_ROOT_USERNAME: m().rootUser, KYTES_MONGO_ROOT_PASSWORD: passwords.mongoRoot },
        cmd: [
          'sh',
          '-c',
          `mkdir -p /etc/mongo-keyfile && printf %s '${keyfile}' > ${m().keyfilePath} && chown 999:999 ${m().keyfilePath} && chmod 0400 ${m().keyfilePath} && exec mongo-entrypoint ${mongodCommand(m()).join(' ')}`,
        ],
      });
    const mongosh = (container: string, js: string) =>
      execIn(container, ['mongosh', '--quiet', '--port', String(m().port), '--eval', js]);
    const start = async (index: number, alias?: string) => {
      await run(index, alias);
      await waitFor(() => mongosh(memberName(index, alias), 'db.runCommand({ ping: 1 })').then(() => true), {
        timeoutMs: 20_000,
        what: `${memberName(index, alias)} answering`,
      });
    };
    const initiate = (rootPassword: string, timeoutSeconds: number) =>
      docker(
        [
          'exec',
          '-i',
          '-e',
          `KYTES_MONGO_ROOT_PASSWORD=${rootPassword}`,
          '-e',
          `KYTES_MONGO_APP_PASSWORD=${passwords.mongoApp}`,
          m().members[0].container,
          'sh',
          '-c',
          'exec mongosh --quiet --nodb --eval "$(cat)"',
        ],
        { stdin: renderMongoInit(m(), timeoutSeconds), timeoutMs: (timeoutSeconds + 30) * 1000 },
      );
    const setName = async () => (await mongosh(m().members[0].container, 'print(db.hello().setName ?? "")')).trim();
    await start(0);
    await start(1);
    await start(2, 'mongo-two');
    // What the script guards against, as mongod does it: replSetInitiate's quorum check gives up at once
    // on a member that does not answer (here: its alias does not resolve).
    const members = m().members.map((x, i) => ({ _id: i, host: x.host }));
    await expect(
      mongosh(
        m().members[0].container,
        `db.adminCommand({ replSetInitiate: { _id: '${m().replicaSet}', members: ${JSON.stringify(members)} } })`,
      ),
    ).rejects.toThrow(
      /quorum check failed because not all proposed set members responded affirmatively: mongo-2:27017/,
    );
    // The script waits for every member before initiating, and stops without initiating if one never answers.
    await expect(initiate(passwords.mongoRoot, 8)).rejects.toThrow(/timed out waiting for mongo-2:27017 to answer/);
    expect(await setName()).toBe('');
    await docker(['rm', '-f', '-v', memberName(2, 'mongo-two')]);
    // Member 2 starts only after the script is already waiting for it: the initiation succeeds.
    const initiated = initiate(passwords.mongoRoot, 60);
    await new Promise((r) => setTimeout(r, 3000));
    await run(2);
    const out = await initiated;
    expect(out).toContain(
      `initiating ${m().replicaSet} with ${m()
        .members.map((x) => x.host)
        .join(', ')}`,
    );
    expect(out).toContain(`ready: ${m().replicaSet} primary ${m().members[0].host}`);
    expect(await setName()).toBe(m().replicaSet);
    for (const mb of m().members) {
      await waitFor(() => passes(mb.container, mongoHealthcheck(m())), {
        timeoutMs: 20_000,
        what: `${mb.container} healthy`,
      });
    }
    // Kept data, another root password: the script stops before touching users.
    await expect(initiate('changed', 20)).rejects.toThrow(/cannot authenticate as root on kept data/);
  });

  it('Rocket.Chat answers /livez only with the right MONGO_URL, and keeps a stored Site URL unless told to overwrite it', async () => {
    const rc = t.rocketchat!;
    const run = (name: string, url: string, env: Record<string, string> = {}) =>
      sandbox.run({
        name,
        image: images.rocketchat,
        network: t.network.name,
        env: {
          MONGO_URL: url,
          ROOT_URL: rc.rootUrl,
          PORT: String(rc.port),
          ADMIN_USERNAME: 'admin',
          ADMIN_PASS: 'admin-pass',
          ...env,
        },
      });
    const healthy = (name: string) =>
      waitFor(
        async () => {
          if ((await docker(['inspect', '-f', '{{.State.Running}}', name])).trim() !== 'true')
            throw new GiveUp(await logs(name));
          return passes(name, rocketchatHealthcheck(rc));
        },
        { timeoutMs: 30_000, what: `the Rocket.Chat stand-in ${name} healthy` },
      );
    /** The URL the server uses (its echo of any other path). */
    const siteUrl = async (name: string) =>
      (
        JSON.parse(await execIn(name, ['curl', '-fsS', `http://127.0.0.1:${rc.port}/kytes/site`])) as {
          rootUrl: string;
        }
      ).rootUrl;
    const good = `${rc.container}-ok`;
    const bad = `${rc.container}-badpw`;
    const wrongSet = `${rc.container}-badset`;
    await run(good, rocketchatMongoUrl(m(), passwords.mongoApp));
    await run(bad, rocketchatMongoUrl(m(), 'wrong'));
    await run(
      wrongSet,
      rocketchatMongoUrl(m(), passwords.mongoApp).replace(`replicaSet=${m().replicaSet}`, 'replicaSet=other'),
    );
    await healthy(good);
    expect([await passes(bad, rocketchatHealthcheck(rc)), await passes(wrongSet, rocketchatHealthcheck(rc))]).toEqual([
      false,
      false,
    ]);
    expect(await siteUrl(good)).toBe(rc.rootUrl);
    // The URL changes (HTTPS): ROOT_URL alone does not change the stored Site_Url; OVERWRITE_SETTING_Site_Url does.
    const moved = rc.rootUrl.replace(/^http:/, 'https:');
    const stale = `${rc.container}-moved`;
    const pinned = `${rc.container}-pinned`;
    await run(stale, rocketchatMongoUrl(m(), passwords.mongoApp), { ROOT_URL: moved });
    await healthy(stale);
    expect(await siteUrl(stale)).toBe(rc.rootUrl);
    await run(pinned, rocketchatMongoUrl(m(), passwords.mongoApp), {
      ROOT_URL: moved,
      OVERWRITE_SETTING_Site_Url: moved,
    });
    await healthy(pinned);
    expect(await siteUrl(pinned)).toBe(moved);
  });

  // What the MongoDB Database Tools document, which Kytes' restore relies on (fake/README.md):
  // "--drop does not drop collections that are not in the backup", --nsInclude selects namespaces,
  // --db with --archive is deprecated (use --nsInclude), mongodump --db dumps that database alone, and
  // without --drop mongorestore inserts only, keeping a document whose _id exists. dropDatabase keeps users.
  it('mongodump --db dumps one database; mongorestore --drop replaces only the collections of the archive that --nsInclude / --db select and leaves every other collection; without --drop an existing _id is kept; dropDatabase keeps the users', async () => {
    const primary = m().members[0].container;
    const login = `--port=${m().port} --username="$KYTES_MONGO_ROOT_USERNAME" --password="$KYTES_MONGO_ROOT_PASSWORD" --authenticationDatabase=admin`;
    const sh = (script: string, env: Record<string, string> = {}) => execIn(primary, ['sh', '-c', script], { env });
    const js = (code: string, env: Record<string, string> = {}) =>
      sh(`exec mongosh --quiet ${login} --eval "$KYTES_JS"`, { ...env, KYTES_JS: code });
    const restore = (options: string) => sh(`mongorestore ${login} --archive ${options} </tmp/standin_a.archive 2>&1`);
    /** Every collection of the two test databases, each as its sorted `_id=v` documents. */
    const state = async () =>
      JSON.parse(
        await js(`const out = {};
for (const name of ['standin_a', 'standin_b']) {
  const d = db.getSiblingDB(name);
  out[name] = Object.fromEntries(d.getCollectionNames().sort().map((c) => [c, d.getCollection(c).find().toArray().map((x) => x._id + '=' + x.v).sort()]));
}
print(JSON.stringify(out));`),
      ) as Record<string, Record<string, string[]>>;

    await js(`const a = db.getSiblingDB('standin_a');
a.msgs.insertMany([{ _id: 'm1', v: 1 }, { _id: 'm2', v: 1 }]);
a.notes.insertOne({ _id: 'n1', v: 1 });
db.getSiblingDB('standin_b').x.insertOne({ _id: 'b1', v: 1 });`);
    await sh(`mongodump ${login} --db=standin_a --archive >/tmp/standin_a.archive`);
    const archive = JSON.parse(await sh('cat /tmp/standin_a.archive')) as {
      namespaces: { db: string; collection: string }[];
    };
    expect(archive.namespaces.map((n) => `${n.db}.${n.collection}`).sort()).toEqual([
      'standin_a.msgs',
      'standin_a.notes',
    ]);
    // After the dump: documents changed, deleted and added, a collection created, another database written.
    await js(`const a = db.getSiblingDB('standin_a');
a.msgs.updateOne({ _id: 'm1' }, { $set: { v: 2 } });
a.msgs.deleteMany({ _id: 'm2' });
a.msgs.insertOne({ _id: 'm3', v: 2 });
a.notes.insertOne({ _id: 'n2', v: 2 });
a.later.insertOne({ _id: 'l1', v: 2 });
db.getSiblingDB('standin_b').x.insertOne({ _id: 'b2', v: 2 });`);
    const otherDb = { x: ['b1=1', 'b2=2'] };
    expect(await state()).toEqual({
      standin_a: { later: ['l1=2'], msgs: ['m1=2', 'm3=2'], notes: ['n1=1', 'n2=2'] },
      standin_b: otherDb,
    });

    // --nsInclude selects one collection: only it is dropped and restored.
    await restore('--drop --nsInclude=standin_a.msgs --quiet');
    expect(await state()).toEqual({
      standin_a: { later: ['l1=2'], msgs: ['m1=1', 'm2=1'], notes: ['n1=1', 'n2=2'] },
      standin_b: otherDb,
    });
    // A pattern that matches nothing in the archive restores nothing.
    await restore("--drop --nsInclude='standin_b.*' --quiet");
    expect((await state()).standin_a.notes).toEqual(['n1=1', 'n2=2']);
    // --db (deprecated with --archive) restores that database's collections; --drop leaves `later`,
    // which is not in the archive, and the other database.
    expect(await restore('--drop --db=standin_a')).toContain(
      'The --db and --collection flags are deprecated for this use-case; please use --nsInclude instead',
    );
    expect(await state()).toEqual({
      standin_a: { later: ['l1=2'], msgs: ['m1=1', 'm2=1'], notes: ['n1=1'] },
      standin_b: otherDb,
    });
    // Without --drop: inserts only; an existing _id keeps its document (duplicate key errors, reported).
    await js(`const a = db.getSiblingDB('standin_a');
a.msgs.updateOne({ _id: 'm1' }, { $set: { v: 3 } });
a.msgs.deleteMany({ _id: 'm2' });`);
    const merged = await restore("--nsInclude='standin_a.*'");
    expect(merged).toContain(
      'E11000 duplicate key error collection: standin_a.msgs index: _id_ dup key: { _id: "m1" }',
    );
    expect(merged).toContain(
      'E11000 duplicate key error collection: standin_a.notes index: _id_ dup key: { _id: "n1" }',
    );
    expect(merged).toContain('1 document(s) restored successfully. 2 document(s) failed to restore.');
    expect((await state()).standin_a).toEqual({ later: ['l1=2'], msgs: ['m1=3', 'm2=1'], notes: ['n1=1'] });
    // What Kytes' restore runs first: the whole database goes, collections created after the dump too;
    // the users (in admin) stay.
    await js('db.getSiblingDB(process.env.KYTES_MONGO_DB).dropDatabase()', { KYTES_MONGO_DB: 'standin_a' });
    await restore("--drop --nsInclude='standin_a.*' --quiet");
    expect(await state()).toEqual({ standin_a: { msgs: ['m1=1', 'm2=1'], notes: ['n1=1'] }, standin_b: otherDb });
    expect((await js(`print(db.getSiblingDB('admin').getUser('${m().appUser}') !== null)`)).trim()).toBe('true');
  });

  it("the ops tests' bash fakes (FAKE_REPLICA_SET) honour the same: mongodump --db, mongorestore --drop / --nsInclude / --db / no --drop, the restore's dropDatabase", async () => {
    const name = uniqueName('mongo-fake');
    const rootPassword = pw('fake');
    await sandbox.run({
      name,
      image: images.mongo,
      env: { FAKE_REPLICA_SET: 'rs0', KYTES_MONGO_ROOT_USERNAME: 'root', KYTES_MONGO_ROOT_PASSWORD: rootPassword },
    });
    const sh = (script: string, env: Record<string, string> = {}) => execIn(name, ['bash', '-c', script], { env });
    const login = '--username="$KYTES_MONGO_ROOT_USERNAME" --password="$KYTES_MONGO_ROOT_PASSWORD"';
    const restore = (options: string) => sh(`mongorestore ${login} --archive ${options} </tmp/a.tar 2>&1`);
    /** Each collection file as `db.collection=content`. */
    const state = async () =>
      (await sh('cd /data/db/fake && for f in */*.bson; do printf "%s=%s\\n" "${f%.bson}" "$(cat "$f")"; done'))
        .trim()
        .split('\n')
        .map((l) => l.replace('/', '.'))
        .sort();
    await sh(`touch /data/db/PRIMARY && mkdir -p /data/db/fake/a /data/db/fake/b /data/db/fake/admin
echo m1 >/data/db/fake/a/msgs.bson && echo n1 >/data/db/fake/a/notes.bson && echo b1 >/data/db/fake/b/x.bson
echo users >/data/db/fake/admin/system.users.bson`);
    await sh(`mongodump ${login} --db=a --archive >/tmp/a.tar`);
    expect((await sh('tar -tf /tmp/a.tar')).trim().split('\n').sort()).toEqual(['a/', 'a/msgs.bson', 'a/notes.bson']);
    await sh(`echo m2 >/data/db/fake/a/msgs.bson && echo n2 >/data/db/fake/a/notes.bson
echo l1 >/data/db/fake/a/later.bson && echo b2 >/data/db/fake/b/x.bson`);
    const otherDbs = ['admin.system.users=users', 'b.x=b2'];

    await restore('--drop --nsInclude=a.msgs --quiet');
    expect(await state()).toEqual(['a.later=l1', 'a.msgs=m1', 'a.notes=n2', ...otherDbs]);
    await restore("--drop --nsInclude='b.*' --quiet");
    expect(await state()).toEqual(['a.later=l1', 'a.msgs=m1', 'a.notes=n2', ...otherDbs]);
    expect(await restore('--drop --db=a')).toContain('The --db and --collection flags are deprecated');
    expect(await state()).toEqual(['a.later=l1', 'a.msgs=m1', 'a.notes=n1', ...otherDbs]);
    // Without --drop a collection that exists is kept (its documents count as already there).
    await sh('echo m3 >/data/db/fake/a/msgs.bson && rm /data/db/fake/a/notes.bson');
    expect(await restore("--nsInclude='a.*'")).toContain('E11000 duplicate key error collection: a.msgs');
    expect(await state()).toEqual(['a.later=l1', 'a.msgs=m3', 'a.notes=n1', ...otherDbs]);
    // The restore's dropDatabase: root login and primary only, then the database is gone, admin stays.
    const drop = `mongosh --quiet --norc --host=127.0.0.1 --port=27017 ${login} --authenticationDatabase=admin --eval "db.getSiblingDB(process.env.KYTES_MONGO_DB).dropDatabase()"`;
    await expect(sh(drop.replace('"$KYTES_MONGO_ROOT_PASSWORD"', 'wrong'), { KYTES_MONGO_DB: 'a' })).rejects.toThrow(
      /Authentication failed/,
    );
    expect((await sh(drop, { KYTES_MONGO_DB: 'a' })).trim()).toBe("{ ok: 1, dropped: 'a' }");
    await restore("--drop --nsInclude='a.*' --quiet");
    expect(await state()).toEqual(['a.msgs=m1', 'a.notes=n1', ...otherDbs]);
  });
});
