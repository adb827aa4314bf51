import { spawn, spawnSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configSchema } from '../../../lib/config';
import { deriveTopology, Topology } from '../../../lib/topology';
import { parseVersion } from '../../../lib/versions';
import { gitlabGuardScript } from '../../../ops/upgradeGuard';
import { checkManifest, Manifest } from '../../../ops/manifest';
import { OpsOptions, renderOpsScripts } from '../../../ops/scripts';
import {
  containerHealth,
  containerStartedAt,
  docker,
  execIn,
  IMAGES,
  requireImages,
  Sandbox,
  waitFor,
} from '../helpers/docker';
import {
  buildFakeImages,
  calls,
  invocationRecords,
  lastLine,
  FakeImages,
  FakeStack,
  liveState,
  psql,
  readManifest,
  removeFakeImages,
  runOps,
  OpsRun,
  seedData,
  startFakeStack,
} from './fake-stack';

/**
 * The ops scripts, rendered from a real topology, run against a fake stack on a real Docker engine:
 * PostgreSQL is real; GitLab and MongoDB are stand-ins (GitLab and MongoDB binaries do not exist
 * here) whose fake binaries record the exact commands and move real data (see fake/README.md).
 */

jest.setTimeout(600_000);

const hex = randomBytes(3).toString('hex');
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-ops-'));
const BIN = path.join(ROOT, 'bin');
const BACKUPS = path.join(ROOT, 'backups');
const OFFHOST = path.join(ROOT, 'offhost');
const t: Topology = deriveTopology(
  configSchema.parse({
    prefix: `kytes-itops-${hex}`,
    gitlab: {
      instances: [
        { name: 'main', sshPort: 2222 },
        { name: 'team', sshPort: 2223 },
      ],
    },
    mongo: { members: 3, replicaSet: 'rs0' },
    backup: { dir: BACKUPS, offHost: OFFHOST },
  }),
  'itops',
);
const OPTIONS: OpsOptions = {
  keepLast: 6,
  keepDaily: 7,
  keepWeekly: 4,
  offHost: OFFHOST,
  projectCommit: 'c0ffee1',
  projectDirty: true,
  projectVersion: '0.1.0',
};
const ENV = { KYTES_HEALTH_TIMEOUT: '60', KYTES_IT_MARKER: 'visible-name-only' };
/** No terminal here: a restore needs --yes; most tests skip the safety backup, which its own tests cover. */
const YES = ['--yes', '--no-safety-backup'];
const [MAIN, TEAM] = t.gitlab;
const MONGO = t.mongo!;
const RC = t.rocketchat!;

const sandbox = new Sandbox();
let images: FakeImages;
let stack: FakeStack;

const manifestOf = (id: string): Manifest => readManifest(BACKUPS, id);
const invocations = () => invocationRecords(BACKUPS);

/** The collections (`db.collection`) in a fake MongoDB tree (`liveState(…).mongo`), sorted. */
const collectionsOf = (tree: string): string[] =>
  tree
    .split('\n')
    .flatMap((l) => {
      const m = /^\.\/([^/ ]+)\/([^/ ]+)\.bson f /.exec(l);
      return m ? [`${m[1]}.${m[2]}`] : [];
    })
    .sort();

function expectNoSecret(...texts: string[]): void {
  for (const s of stack.secrets) for (const text of texts) expect(text.includes(s)).toBe(false);
}

beforeAll(async () => {
  await requireImages([IMAGES.base, IMAGES.postgres]);
  images = await buildFakeImages(hex);
  fs.mkdirSync(BIN);
  for (const [name, content] of Object.entries(renderOpsScripts(t, OPTIONS)))
    fs.writeFileSync(path.join(BIN, name), content, { mode: 0o755 });
  stack = await startFakeStack(t, sandbox, images, { mongoPrimaryIndex: 1 });
  await seedData(stack);
}, 600_000);

afterAll(async () => {
  await sandbox.cleanup();
  if (images) await removeFakeImages(images);
  fs.rmSync(ROOT, { recursive: true, force: true });
}, 300_000);

describe('kytes-backup on a running stack', () => {
  let id: string;
  let before: Record<string, string>;
  let run: OpsRun;

  beforeAll(async () => {
    before = await liveState(stack);
    const started = { main: await containerStartedAt(MAIN.container), rc: await containerStartedAt(RC.container) };
    run = await runOps(BIN, 'kytes-backup', [], ENV);
    id = lastLine(run.stdout);
    // Hot: no container was restarted.
    expect({ main: await containerStartedAt(MAIN.container), rc: await containerStartedAt(RC.container) }).toEqual(
      started,
    );
  }, 300_000);

  it('exits 0 and prints the new id last', () => {
    expect({ status: run.status, stderr: run.stderr.includes('error') ? run.stderr : '' }).toEqual({
      status: 0,
      stderr: '',
    });
    expect(id).toMatch(/^[0-9]{8}T[0-9]{6}Z$/);
    expect(run.stdout).toBe(`${id}\n`);
  });

  it('writes exactly the artifacts, a valid manifest and a verified marker, under the final name only', () => {
    expect(fs.readdirSync(BACKUPS).sort()).toEqual(['.lock', id, 'invocations.jsonl']);
    expect(fs.readdirSync(path.join(BACKUPS, id)).sort()).toEqual([
      'gitlab-main-etc.tar',
      'gitlab-main.tail.tar',
      'gitlab-main.tar.zst',
      'gitlab-team-etc.tar',
      'gitlab-team.tail.tar',
      'gitlab-team.tar.zst',
      'manifest.json',
      'mongo-rocketchat.archive.zst',
      'postgres-globals.sql',
      'rocketchat-uploads.tar',
      'verified',
    ]);
    const text = fs.readFileSync(path.join(BACKUPS, id, 'manifest.json'), 'utf8');
    expect(checkManifest(text)).toEqual({ ok: true, manifest: JSON.parse(text) });
    const m = manifestOf(id);
    expect({
      id: m.id,
      stack: m.stack,
      prefix: m.prefix,
      project: m.project,
      iac: m.iac,
      format: m.format,
      formatVersion: m.formatVersion,
    }).toEqual({
      id,
      stack: 'itops',
      prefix: t.prefix,
      project: 'kytes',
      iac: { commit: 'c0ffee1', dirty: true, version: '0.1.0' },
      format: 'kytes-backup',
      formatVersion: 2,
    });
    expect(m.host).toEqual({
      hostname: os.hostname(),
      machineId: fs.existsSync('/etc/machine-id') ? fs.readFileSync('/etc/machine-id', 'utf8').trim() : '',
    });
    expect(m.gitlab).toEqual([
      {
        instance: 'main',
        container: MAIN.container,
        version: '19.3.0',
        archive: 'gitlab-main.tar.zst',
        archiveTail: 'gitlab-main.tail.tar',
        config: 'gitlab-main-etc.tar',
        archiveCompression: 'zstd',
        innerCompression: 'none',
      },
      {
        instance: 'team',
        container: TEAM.container,
        version: '19.3.0',
        archive: 'gitlab-team.tar.zst',
        archiveTail: 'gitlab-team.tail.tar',
        config: 'gitlab-team-etc.tar',
        archiveCompression: 'zstd',
        innerCompression: 'none',
      },
    ]);
    expect(m.mongo).toEqual({
      replicaSet: 'rs0',
      primary: MONGO.members[1].container,
      database: 'rocketchat',
      archive: 'mongo-rocketchat.archive.zst',
      compression: 'zstd',
    });
    expect(m.rocketchatUploads).toEqual({ volume: RC.uploads.name, archive: 'rocketchat-uploads.tar' });
    expect(m.postgres).toEqual({ container: t.postgres.container, globals: 'postgres-globals.sql' });
    expect(m.images.map((i) => [i.component, i.container, i.image])).toEqual([
      ['postgres', t.postgres.container, IMAGES.postgres],
      ['gitlab-main', MAIN.container, images.gitlab],
      ['gitlab-team', TEAM.container, images.gitlab],
      ...MONGO.members.map((mm) => [`mongo-${mm.index}`, mm.container, images.mongo]),
      ['rocketchat', RC.container, IMAGES.base],
    ]);
    expect(m.images.every((i) => /^sha256:[0-9a-f]{64}$/.test(i.imageId))).toBe(true);
    expect(m.artifacts.map((a) => a.file).sort()).toEqual([
      'gitlab-main-etc.tar',
      'gitlab-main.tail.tar',
      'gitlab-main.tar.zst',
      'gitlab-team-etc.tar',
      'gitlab-team.tail.tar',
      'gitlab-team.tar.zst',
      'mongo-rocketchat.archive.zst',
      'postgres-globals.sql',
      'rocketchat-uploads.tar',
    ]);
    for (const a of m.artifacts) expect(fs.statSync(path.join(BACKUPS, id, a.file)).size).toBe(a.size);
    expect(m.invocation).toEqual({
      operation: 'kytes-backup',
      arguments: [],
      user: os.userInfo().username,
      host: os.hostname(),
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      envNames: expect.arrayContaining(['KYTES_HEALTH_TIMEOUT', 'KYTES_IT_MARKER']),
    });
    expect(m.invocation.startedAt <= m.createdAt && m.createdAt <= m.completedAt).toBe(true);
    expect(fs.readFileSync(path.join(BACKUPS, id, 'postgres-globals.sql'), 'utf8')).toContain(
      `CREATE ROLE ${MAIN.database.user};`,
    );
  });

  it('runs the exact GitLab commands, and only on the instances, with GitLab left serving', async () => {
    for (const g of t.gitlab) {
      expect(await calls(g.container, 'gitlab')).toEqual([
        'container start',
        `gitlab-backup create BACKUP=${id}-${g.name} STRATEGY=copy SKIP=tar CRON=1 | GITLAB_ASSUME_YES= COMPRESS_CMD=tee DECOMPRESS_CMD=`,
      ]);
      // The archive copied out is removed from GitLab's backup directory.
      expect(await execIn(g.container, ['ls', '-A', '/var/opt/gitlab/backups'])).toBe('');
      expect(await containerHealth(g.container)).toBe('healthy');
    }
  });

  it('finds the MongoDB primary with hello, then dumps from it with the login its container holds', async () => {
    const hello = `mongosh --quiet --norc mongodb://127.0.0.1:27017/?directConnection=true&serverSelectionTimeoutMS=5000 --eval const h = db.hello(); print(h.isWritablePrimary === true && h.setName === process.env.KYTES_REPLICA_SET) | KYTES_REPLICA_SET=rs0`;
    expect(await calls(MONGO.members[0].container, 'mongo')).toEqual([hello]);
    expect(await calls(MONGO.members[1].container, 'mongo')).toEqual([
      hello,
      'mongodump --host=127.0.0.1 --port=27017 --username=root --password=<root password> --authenticationDatabase=admin --readPreference=primary --db=rocketchat --archive --quiet',
    ]);
    expect(await calls(MONGO.members[2].container, 'mongo')).toEqual([]);
  });

  it('changes nothing in the live stack and leaks no secret', async () => {
    expect(await liveState(stack)).toEqual(before);
    const log = fs.readFileSync(path.join(BACKUPS, 'invocations.jsonl'), 'utf8');
    expectNoSecret(run.stdout, run.stderr, log, fs.readFileSync(path.join(BACKUPS, id, 'manifest.json'), 'utf8'));
    expect(log).not.toContain('visible-name-only');
    const entry = invocations().pop()!;
    expect({
      operation: entry.operation,
      result: entry.result,
      stack: entry.stack,
      commit: entry.commit,
      dirty: entry.dirty,
    }).toEqual({
      operation: 'kytes-backup',
      result: 'ok',
      stack: 'itops',
      commit: 'c0ffee1',
      dirty: true,
    });
    expect(entry.duration_s).toBeGreaterThan(0);
  });

  it('copies it off-host to the configured path, verified there', async () => {
    expect(fs.readdirSync(OFFHOST)).toEqual([id]);
    const verify = await runOps(BIN, 'kytes-verify', [id], ENV);
    expect(verify.status).toBe(0);
    const copied = fs.readdirSync(path.join(BACKUPS, id)).filter((f) => f !== 'verified');
    expect(copied).toHaveLength(10); // the nine artifacts and manifest.json
    for (const f of copied) {
      expect(fs.readFileSync(path.join(OFFHOST, id, f)).equals(fs.readFileSync(path.join(BACKUPS, id, f)))).toBe(true);
    }
    expect(fs.existsSync(path.join(OFFHOST, id, 'verified'))).toBe(true);
    // A damaged copy at the destination is detected and replaced by a verified one.
    fs.appendFileSync(path.join(OFFHOST, id, 'gitlab-main.tar.zst'), 'x');
    const size = manifestOf(id).artifacts.find((a) => a.file === 'gitlab-main.tar.zst')!.size;
    const again = await runOps(BIN, 'kytes-offhost-copy', [id], ENV);
    expect({ status: again.status, stderr: again.stderr }).toEqual({
      status: 0,
      stderr:
        `kytes-offhost-copy: the copy at ${OFFHOST}/${id} does not verify (gitlab-main.tar.zst: ${size + 1} bytes, the manifest says ${size} (truncated or altered)); replacing it\n` +
        `kytes-offhost-copy: copied ${id} to ${OFFHOST}/${id} and verified it there\n`,
    });
    expect(
      fs
        .readFileSync(path.join(OFFHOST, id, 'gitlab-main.tar.zst'))
        .equals(fs.readFileSync(path.join(BACKUPS, id, 'gitlab-main.tar.zst'))),
    ).toBe(true);
    const same = await runOps(BIN, 'kytes-offhost-copy', [id], ENV);
    expect({ status: same.status, stderr: same.stderr }).toEqual({
      status: 0,
      stderr: `kytes-offhost-copy: ${OFFHOST}/${id} already holds a verified copy\n`,
    });
  });

  it('is listed by kytes-backups as verified, with its versions', async () => {
    const list = await runOps(BIN, 'kytes-backups', ['--json'], ENV);
    const entries = JSON.parse(list.stdout).backups;
    expect(
      entries.map((e: { id: string; status: string; restoredFrom: boolean }) => [e.id, e.status, e.restoredFrom]),
    ).toEqual([[id, 'verified', false]]);
    const table = await runOps(BIN, 'kytes-backups', [], ENV);
    expect(table.stdout.split('\n').find((l) => l.startsWith(id))).toMatch(
      new RegExp(
        `^${id} +${manifestOf(id).createdAt} +[0-9.]+ (KiB|MiB) +verified +gitlab-main 19\\.3\\.0, gitlab-team 19\\.3\\.0, ${IMAGES.postgres}, `,
      ),
    );
  });

  describe('restore', () => {
    let wiped: Record<string, string>;
    let mainRole: string;
    const role = async () =>
      (
        await psql(
          t,
          'postgres',
          `SELECT rolpassword || ' ' || rolconnlimit FROM pg_authid WHERE rolname = '${MAIN.database.user}';\n`,
        )
      ).trim();

    beforeAll(async () => {
      // Wipe: rows deleted and changed, a table added, secrets and keys changed, files gone,
      // Mongo and uploads altered, a role dropped, a role altered after the backup.
      await psql(
        t,
        MAIN.database.name,
        'DELETE FROM issues WHERE id % 3 = 0;\nUPDATE projects SET name = upper(name);\nCREATE TABLE intruder (x int);\n',
      );
      await psql(t, TEAM.database.name, 'DROP TABLE issues;\n');
      await psql(
        t,
        'postgres',
        `DROP ROLE kytes_it_reader;\nALTER ROLE "${MAIN.database.user}" CONNECTION LIMIT 50;\n`,
      );
      await execIn(MAIN.container, [
        'bash',
        '-c',
        'echo "{}" >/etc/gitlab/gitlab-secrets.json && rm /etc/gitlab/ssh_host_ed25519_key && rm -r /var/opt/gitlab/git-data/repositories/group && touch /var/opt/gitlab/git-data/stray',
      ]);
      await execIn(TEAM.container, [
        'bash',
        '-c',
        'echo "# edited by hand" >>/etc/gitlab/gitlab.rb && echo stray >/var/opt/gitlab/git-data/stray',
      ]);
      await execIn(stack.mongoPrimary!, [
        'bash',
        '-c',
        // After the backup: a collection changed, one dropped, one created (fake/README.md: a file each).
        'echo corrupted >/data/db/fake/rocketchat/rocketchat_message.bson && rm /data/db/fake/rocketchat/rocketchat_uploads.chunks.bson && head -c 4000 /dev/urandom >/data/db/fake/rocketchat/rocketchat_created_after_backup.bson',
      ]);
      await execIn(RC.container, [
        'bash',
        '-c',
        `rm ${RC.uploads.containerPath}/notes.txt && echo new >${RC.uploads.containerPath}/new.txt && chmod 0777 ${RC.uploads.containerPath}/2026`,
      ]);
      wiped = await liveState(stack);
      mainRole = await role();
    }, 120_000);

    it('the wipe really changed every part', () => {
      const changed = Object.keys(before).filter((k) => before[k] !== wiped[k]);
      expect(changed.sort()).toEqual(Object.keys(before).sort());
    });

    let restore: OpsRun;
    it('backup → wipe → restore returns identical data', async () => {
      const rcStarted = await containerStartedAt(RC.container);
      const mainStarted = await containerStartedAt(MAIN.container);
      restore = await runOps(BIN, 'kytes-restore', [id, ...YES], ENV);
      expect({ status: restore.status, tail: restore.stderr.trim().split('\n').slice(-1) }).toEqual({
        status: 0,
        tail: [`kytes-restore: stack itops restored from backup ${id}`],
      });
      expect(await liveState(stack)).toEqual(before);
      // The existing role keeps what pulumi up gave it (its password, here a connection limit set
      // after the backup); only the missing role came back.
      expect(await role()).toBe(mainRole);
      expect(mainRole).toMatch(/^SCRAM-SHA-256\$.* 50$/);
      expect(restore.stderr).toContain('kytes-restore: PostgreSQL: recreated roles kytes_it_reader \n');
      // GitLab and Rocket.Chat were restarted and are healthy again.
      expect(await containerStartedAt(MAIN.container)).not.toBe(mainStarted);
      expect(await containerStartedAt(RC.container)).not.toBe(rcStarted);
      expect([
        await containerHealth(MAIN.container),
        await containerHealth(TEAM.container),
        await containerHealth(RC.container),
      ]).toEqual(['healthy', 'healthy', 'running']);
      expectNoSecret(restore.stdout, restore.stderr, fs.readFileSync(path.join(BACKUPS, 'invocations.jsonl'), 'utf8'));
    });

    it('brings the Rocket.Chat database back to exactly its backed-up collections: the one created after the backup is gone, the changed and the dropped ones are back, the admin database (users) untouched', async () => {
      expect(collectionsOf(before.mongo)).toEqual([
        'admin.system.users',
        'rocketchat.rocketchat_message',
        'rocketchat.rocketchat_uploads.chunks',
      ]);
      expect(collectionsOf(wiped.mongo)).toEqual([
        'admin.system.users',
        'rocketchat.rocketchat_created_after_backup',
        'rocketchat.rocketchat_message',
      ]);
      const restored = (await liveState(stack)).mongo;
      expect(collectionsOf(restored)).toEqual(collectionsOf(before.mongo));
      expect(restored).toBe(before.mongo);
    });

    it('follows GitLab documented restore procedure, in order', async () => {
      for (const g of t.gitlab) {
        expect((await calls(g.container, 'gitlab')).slice(2)).toEqual([
          'gitlab-ctl reconfigure',
          'gitlab-ctl stop puma',
          'gitlab-ctl stop sidekiq',
          'gitlab-ctl status',
          `gitlab-backup restore BACKUP=${id}-${g.name} | GITLAB_ASSUME_YES=1 COMPRESS_CMD= DECOMPRESS_CMD=tee`,
          'container start',
          'gitlab-rake gitlab:check SANITIZE=true',
        ]);
        expect(await execIn(g.container, ['ls', '-A', '/var/opt/gitlab/backups'])).toBe('');
      }
      // The database is dropped first (mongorestore --drop leaves collections that are not in the archive).
      expect((await calls(MONGO.members[1].container, 'mongo')).slice(-2)).toEqual([
        'mongosh --quiet --norc --host=127.0.0.1 --port=27017 --username=root --password=<root password> --authenticationDatabase=admin --eval db.getSiblingDB(process.env.KYTES_MONGO_DB).dropDatabase() | KYTES_MONGO_DB=rocketchat',
        'mongorestore --host=127.0.0.1 --port=27017 --username=root --password=<root password> --authenticationDatabase=admin --drop --archive --nsInclude=rocketchat.* --quiet',
      ]);
    });

    it('records which backup the stack was restored from', async () => {
      expect(JSON.parse(fs.readFileSync(path.join(BACKUPS, 'restored-from'), 'utf8'))).toEqual({
        id,
        restoredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        user: os.userInfo().username,
        whole: true,
        parts: ['gitlab:main', 'gitlab:team', 'rocketchat'],
        safetyBackup: null,
      });
      const entries = JSON.parse((await runOps(BIN, 'kytes-backups', ['--json'], ENV)).stdout).backups;
      expect(entries[0].restoredFrom).toBe(true);
    });

    it('restoring the same backup again leaves the same state', async () => {
      const second = await runOps(BIN, 'kytes-restore', [id, ...YES], ENV);
      expect(second.status).toBe(0);
      expect(second.stderr).toContain('kytes-restore: PostgreSQL: every recorded role exists; left unchanged\n');
      expect(await liveState(stack)).toEqual(before);
    });

    it("backs up and restores through docker exec when this host cannot see GitLab's volume", async () => {
      const exec = { ...ENV, KYTES_VOLUME_ACCESS: 'exec' };
      await new Promise((r) => setTimeout(r, 1100)); // a new id (ids have one-second resolution)
      const backup = await runOps(BIN, 'kytes-backup', ['--no-offhost', '--no-prune'], exec);
      expect(backup.status).toBe(0);
      const streamed = lastLine(backup.stdout);
      expect((await runOps(BIN, 'kytes-verify', [streamed], ENV)).status).toBe(0);
      await psql(t, MAIN.database.name, 'DELETE FROM issues WHERE id % 2 = 0;\n');
      const restore = await runOps(BIN, 'kytes-restore', [streamed, ...YES], exec);
      expect({ status: restore.status, last: lastLine(restore.stderr) }).toEqual({
        status: 0,
        last: `kytes-restore: stack itops restored from backup ${streamed}`,
      });
      expect(await liveState(stack)).toEqual(before);
      for (const g of t.gitlab) expect(await execIn(g.container, ['ls', '-A', '/var/opt/gitlab/backups'])).toBe('');
      fs.rmSync(path.join(BACKUPS, streamed), { recursive: true });
    });

    it("still restores a format-1 backup (gzip inside GitLab's archive, mongodump --gzip)", async () => {
      // Made the way Kytes made backups before format 2: GitLab's defaults and mongodump's own --gzip.
      await new Promise((r) => setTimeout(r, 1100));
      const createdAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const old = `${createdAt.replace(/[-:]/g, '')}-formatone`;
      const dir = path.join(BACKUPS, old);
      fs.mkdirSync(dir, { mode: 0o700 });
      const v2 = manifestOf(id);
      for (const f of [
        'postgres-globals.sql',
        'rocketchat-uploads.tar',
        ...t.gitlab.map((g) => `gitlab-${g.name}-etc.tar`),
      ])
        fs.copyFileSync(path.join(BACKUPS, id, f), path.join(dir, f));
      for (const g of t.gitlab) {
        const inside = `/var/opt/gitlab/backups/${old}-${g.name}_gitlab_backup.tar`;
        await execIn(g.container, ['gitlab-backup', 'create', `BACKUP=${old}-${g.name}`, 'STRATEGY=copy', 'CRON=1']);
        await docker(['cp', `${g.container}:${inside}`, path.join(dir, `gitlab-${g.name}.tar`)]);
        await execIn(g.container, ['rm', '-f', inside]);
      }
      const gz = await new Promise<Buffer>((resolve, reject) => {
        const child = spawn('docker', [
          'exec',
          stack.mongoPrimary!,
          'sh',
          '-c',
          'mongodump --username="$KYTES_MONGO_ROOT_USERNAME" --password="$KYTES_MONGO_ROOT_PASSWORD" --db=rocketchat --archive --gzip',
        ]);
        const chunks: Buffer[] = [];
        child.stdout.on('data', (d: Buffer) => chunks.push(d));
        child.on('close', (code) =>
          code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`mongodump ${code}`)),
        );
      });
      fs.writeFileSync(path.join(dir, 'mongo-rocketchat.archive.gz'), gz);
      const files = fs.readdirSync(dir).sort();
      const manifest = {
        ...v2,
        formatVersion: 1,
        id: old,
        createdAt,
        completedAt: createdAt,
        gitlab: v2.gitlab.map((g) => ({
          instance: g.instance,
          container: g.container,
          version: g.version,
          archive: `gitlab-${g.instance}.tar`,
          config: g.config,
        })),
        mongo: { ...v2.mongo!, archive: 'mongo-rocketchat.archive.gz', compression: undefined },
        artifacts: files.map((f) => ({
          file: f,
          size: fs.statSync(path.join(dir, f)).size,
          sha256: createHash('sha256')
            .update(fs.readFileSync(path.join(dir, f)))
            .digest('hex'),
        })),
      };
      fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
      expect((await runOps(BIN, 'kytes-verify', [old], ENV)).status).toBe(0);
      await psql(t, TEAM.database.name, 'DROP TABLE issues;\n');
      await execIn(stack.mongoPrimary!, ['bash', '-c', 'echo lost >/data/db/fake/rocketchat/rocketchat_message.bson']);
      const callsBefore = await calls(MAIN.container, 'gitlab');
      const restore = await runOps(BIN, 'kytes-restore', [old, ...YES], ENV);
      expect({ status: restore.status, last: lastLine(restore.stderr) }).toEqual({
        status: 0,
        last: `kytes-restore: stack itops restored from backup ${old}`,
      });
      expect(await liveState(stack)).toEqual(before);
      // GitLab's default decompression (no DECOMPRESS_CMD), and mongorestore --gzip.
      expect((await calls(MAIN.container, 'gitlab')).slice(callsBefore.length)).toContain(
        `gitlab-backup restore BACKUP=${old}-main | GITLAB_ASSUME_YES=1 COMPRESS_CMD= DECOMPRESS_CMD=`,
      );
      expect((await calls(stack.mongoPrimary!, 'mongo')).slice(-1)[0]).toContain(' --drop --archive --gzip ');
      fs.rmSync(dir, { recursive: true });
    });

    describe('refusals: a bad backup or a wrong target changes nothing', () => {
      const pristine = path.join(ROOT, 'pristine');
      const dir = () => path.join(BACKUPS, id);
      const editManifest = (edit: (m: Record<string, unknown>) => void) => {
        const m = JSON.parse(fs.readFileSync(path.join(dir(), 'manifest.json'), 'utf8'));
        edit(m);
        fs.writeFileSync(path.join(dir(), 'manifest.json'), JSON.stringify(m));
      };
      beforeAll(() => fs.cpSync(dir(), pristine, { recursive: true }));
      afterEach(() => {
        fs.rmSync(dir(), { recursive: true, force: true });
        fs.cpSync(pristine, dir(), { recursive: true });
      });

      const CASES: [string, () => Promise<void>, () => string, () => Promise<void>][] = [
        [
          'tampered artifact (one byte flipped, same size)',
          async () => {
            const f = path.join(dir(), 'gitlab-main.tar.zst');
            const b = fs.readFileSync(f);
            b[Math.floor(b.length / 2)] ^= 0xff;
            fs.writeFileSync(f, b);
          },
          () =>
            `refusing to restore ${id}: the backup does not verify: gitlab-main.tar.zst: sha256 differs from the manifest (altered)`,
          async () => undefined,
        ],
        [
          'truncated artifact',
          async () => {
            const f = path.join(dir(), 'mongo-rocketchat.archive.zst');
            fs.truncateSync(f, fs.statSync(f).size - 100);
          },
          () => {
            const size = manifestOf(id).artifacts.find((a) => a.file === 'mongo-rocketchat.archive.zst')!.size;
            return `refusing to restore ${id}: the backup does not verify: mongo-rocketchat.archive.zst: ${size - 100} bytes, the manifest says ${size} (truncated or altered)`;
          },
          async () => undefined,
        ],
        [
          'missing artifact',
          async () => fs.rmSync(path.join(dir(), 'gitlab-team-etc.tar')),
          () => `refusing to restore ${id}: the backup does not verify: gitlab-team-etc.tar: missing`,
          async () => undefined,
        ],
        [
          'invalid manifest (format version 3)',
          async () => editManifest((m) => (m.formatVersion = 3)),
          () =>
            `refusing to restore ${id}: the backup does not verify: formatVersion: must be 1 or 2, the formats this Kytes reads`,
          async () => undefined,
        ],
        [
          'manifest that is not JSON',
          async () => fs.writeFileSync(path.join(dir(), 'manifest.json'), '{"format": "kytes-backup", '),
          () => `refusing to restore ${id}: the backup does not verify: manifest.json: not valid JSON`,
          async () => undefined,
        ],
        [
          'manifest of another backup',
          async () => editManifest((m) => (m.id = '20200101T000000Z')),
          () =>
            `refusing to restore ${id}: the backup does not verify: id: 20200101T000000Z does not start with createdAt ` +
            manifestOf(id).createdAt,
          async () => undefined,
        ],
        [
          'wrong GitLab version running',
          async () => {
            await execIn(TEAM.container, [
              'bash',
              '-c',
              'echo 19.4.0 >/opt/gitlab/embedded/service/gitlab-rails/VERSION',
            ]);
          },
          () =>
            `refusing to restore ${id}: ` +
            'GitLab instance team runs 19.4.0 but the backup was made by 19.3.0; GitLab restores only onto exactly the same version (set kytes:images.gitlab to the 19.3.0 image)',
          async () => {
            await execIn(TEAM.container, [
              'bash',
              '-c',
              'echo 19.3.0 >/opt/gitlab/embedded/service/gitlab-rails/VERSION',
            ]);
          },
        ],
        [
          'a recorded GitLab instance not running',
          async () => {
            await docker(['stop', MAIN.container]);
          },
          () =>
            `GitLab instance main: container ${MAIN.container} is not running (exited): start it (docker start ${MAIN.container}) or run pulumi up, then run again`,
          async () => {
            await docker(['start', MAIN.container]);
            await waitFor(async () => (await containerHealth(MAIN.container)) === 'healthy', {
              timeoutMs: 60_000,
              what: 'fake GitLab healthy',
            });
          },
        ],
        [
          'no reachable MongoDB primary',
          async () => {
            await execIn(MONGO.members[1].container, ['rm', '/data/db/PRIMARY']);
          },
          () =>
            `refusing to restore ${id}: no MongoDB member of replica set rs0 answers as writable primary (${MONGO.members.map((m) => m.container).join(' ')})`,
          async () => {
            await execIn(MONGO.members[1].container, ['touch', '/data/db/PRIMARY']);
          },
        ],
      ];

      it.each(CASES)('%s', async (_name, spoil, reason, repair) => {
        const live = await liveState(stack);
        const gitlabCalls = await Promise.all(t.gitlab.map((g) => calls(g.container, 'gitlab')));
        const writesToMongo = async () =>
          (await calls(MONGO.members[1].container, 'mongo')).filter(
            (l) => l.startsWith('mongorestore') || l.includes('dropDatabase'),
          ).length;
        const restoresBefore = await writesToMongo();
        const restoredFrom = fs.readFileSync(path.join(BACKUPS, 'restored-from'), 'utf8');
        await spoil();
        try {
          const r = await runOps(BIN, 'kytes-restore', [id, '--yes'], ENV);
          expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
            status: 1,
            stdout: '',
            stderr: `kytes-restore: error: ${reason()}; nothing was changed\n`,
          });
        } finally {
          await repair();
        }
        expect(await liveState(stack)).toEqual(live);
        expect(await writesToMongo()).toBe(restoresBefore);
        expect(fs.readFileSync(path.join(BACKUPS, 'restored-from'), 'utf8')).toBe(restoredFrom);
        const after = await Promise.all(t.gitlab.map((g) => calls(g.container, 'gitlab')));
        // Nothing was called on GitLab (a stopped-and-started container only logs its own start).
        expect(after.map((c, i) => c.slice(gitlabCalls[i].length).filter((l) => l !== 'container start'))).toEqual([
          [],
          [],
        ]);
        expect(invocations().pop()).toEqual(
          expect.objectContaining({ operation: 'kytes-restore', arguments: [id, '--yes'], result: 'error', status: 1 }),
        );
      });

      it('a backup id that does not exist', async () => {
        const r = await runOps(BIN, 'kytes-restore', ['20200101T000000Z', '--yes'], ENV);
        expect({ status: r.status, stderr: r.stderr }).toEqual({
          status: 1,
          stderr: `kytes-restore: error: refusing to restore 20200101T000000Z: no backup 20200101T000000Z in ${BACKUPS} (list them with kytes-backups); nothing was changed\n`,
        });
      });
    });
  });

  describe('a backup killed mid-way', () => {
    const listing = () =>
      fs
        .readdirSync(BACKUPS)
        .filter((n) => /^\d{8}T/.test(n))
        .sort();
    /** SIGKILL to the run's process group; ESRCH (already over) is left to the wait to explain. */
    function killGroup(pid: number): void {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
    async function killWhen(ready: () => Promise<boolean>, what: string): Promise<void> {
      const run = runOps(BIN, 'kytes-backup', ['--no-offhost', '--no-prune'], ENV);
      try {
        await waitFor(
          async () =>
            (await ready()) ||
            (run.child.exitCode !== null ? Promise.reject(new Error('backup ended before the kill point')) : false),
          {
            timeoutMs: 120_000,
            intervalMs: 100,
            what,
          },
        );
      } finally {
        killGroup(run.child.pid!);
        const ended = await run;
        if (ended.signal !== 'SIGKILL')
          console.error(`kytes-backup ended before the kill: ${ended.status}\n${ended.stderr}`);
      }
    }
    async function expectNothingNewVerifies(finalsBefore: string[]): Promise<void> {
      expect(listing()).toEqual(finalsBefore);
      const tmp = fs.readdirSync(BACKUPS).filter((n) => n.startsWith('.tmp-'));
      expect(tmp.length).toBeLessThanOrEqual(1);
      const entries = JSON.parse((await runOps(BIN, 'kytes-backups', ['--json'], ENV)).stdout).backups as {
        id: string;
        status: string;
      }[];
      expect(entries.filter((e) => !finalsBefore.includes(e.id)).map((e) => e.status)).toEqual(
        tmp.map(() => 'incomplete'),
      );
    }

    it('while GitLab is writing its archive, or while MongoDB is dumping: nothing verifies; the next backup succeeds', async () => {
      const finals = listing();
      await execIn(MAIN.container, ['touch', '/tmp/fake-slow-backup']);
      try {
        await killWhen(
          async () => (await calls(MAIN.container, 'gitlab')).includes('gitlab-backup paused'),
          'gitlab-backup running',
        );
      } finally {
        await execIn(MAIN.container, ['rm', '-f', '/tmp/fake-slow-backup']);
      }
      await expectNothingNewVerifies(finals);
      // Killing Kytes leaves its gitlab-backup running inside the container.
      const orphans = () => execIn(MAIN.container, ['sh', '-c', 'pgrep -f "gitlab-backup create BACKU[P]=" || true']);
      expect(await orphans()).not.toBe('');

      await execIn(stack.mongoPrimary!, ['touch', '/tmp/fake-slow-dump']);
      try {
        await killWhen(
          async () => (await calls(stack.mongoPrimary!, 'mongo')).includes('mongodump paused'),
          'mongodump running',
        );
      } finally {
        await execIn(stack.mongoPrimary!, ['rm', '-f', '/tmp/fake-slow-dump']);
      }
      await expectNothingNewVerifies(finals);

      // The next backup stops the killed runs' gitlab-backup first (it would write into the same backup
      // directory), then succeeds.
      const next = await runOps(BIN, 'kytes-backup', ['--no-offhost', '--no-prune'], ENV);
      expect(next.status).toBe(0);
      expect(await orphans()).toBe('');
      const nextId = lastLine(next.stdout);
      expect(listing()).toEqual([...finals, nextId].sort());
      expect(fs.readdirSync(BACKUPS).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
      expect(next.stderr).toMatch(/removed incomplete \.tmp-/);
      expect((await runOps(BIN, 'kytes-verify', [nextId], ENV)).status).toBe(0);
    });

    it.each([0.2, 0.5, 0.8])(
      'at %s of a backup run: what is left is either a complete verified backup or an incomplete .tmp-*',
      async (fraction) => {
        const t0 = Date.now();
        const full = await runOps(BIN, 'kytes-backup', ['--no-offhost', '--no-prune'], ENV);
        expect({ status: full.status, stderr: full.status === 0 ? '' : full.stderr }).toEqual({
          status: 0,
          stderr: '',
        });
        const duration = Date.now() - t0;
        await new Promise((r) => setTimeout(r, 1100)); // a new id (ids have one-second resolution)
        const finals = listing();
        const run = runOps(BIN, 'kytes-backup', ['--no-offhost', '--no-prune'], ENV);
        await new Promise((r) => setTimeout(r, Math.floor(duration * fraction)));
        // A run faster than the first may already be over (ESRCH): then it must have succeeded.
        if (run.child.exitCode === null) {
          try {
            process.kill(-run.child.pid!, 'SIGKILL');
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
          }
        }
        const killed = await run;
        const added = listing().filter((n) => !finals.includes(n));
        // One new backup when the run ended before the kill; none or (killed right after its rename) one otherwise.
        expect(killed.status === 0 ? added.length === 1 : added.length <= 1).toBe(true);
        for (const n of added) expect((await runOps(BIN, 'kytes-verify', [n], ENV)).status).toBe(0);
        const entries = JSON.parse((await runOps(BIN, 'kytes-backups', ['--json'], ENV)).stdout).backups as {
          id: string;
          status: string;
        }[];
        expect(
          entries
            .filter((e) => !finals.includes(e.id) && !added.includes(e.id))
            .every((e) => e.status === 'incomplete'),
        ).toBe(true);
        expect(killed.signal === 'SIGKILL' || killed.status === 0).toBe(true);
      },
    );
  });
});

describe('safe restores', () => {
  let base: string;
  let state0: Record<string, string>;
  const restoreCalls = async () =>
    (await calls(MAIN.container, 'gitlab')).filter((l) => l.startsWith('gitlab-backup restore')).length;
  const ids = () => fs.readdirSync(BACKUPS).filter((n) => /^\d{8}T/.test(n));

  beforeAll(async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const b = await runOps(BIN, 'kytes-backup', ['--no-offhost', '--no-prune'], ENV);
    expect(b.status).toBe(0);
    base = lastLine(b.stdout);
    state0 = await liveState(stack);
  }, 300_000);

  it('without a terminal and without --yes: refused before anything changes', async () => {
    await psql(t, MAIN.database.name, 'DELETE FROM issues WHERE id % 7 = 0;\n');
    const changed = await liveState(stack);
    const [before, restores] = [ids(), await restoreCalls()];
    const r = await runOps(BIN, 'kytes-restore', [base], ENV);
    expect({ status: r.status, stdout: r.stdout, last: lastLine(r.stderr) }).toEqual({
      status: 1,
      stdout: '',
      last: 'kytes-restore: error: restoring replaces live data and nobody can confirm it here (no terminal): run again with --yes (or on a terminal); nothing was changed',
    });
    expect([ids(), await restoreCalls(), await liveState(stack)]).toEqual([before, restores, changed]);
  });

  it('--check: every check, then what would be replaced, on stdout; nothing changed', async () => {
    const changed = await liveState(stack);
    const r = await runOps(BIN, 'kytes-restore', [base, '--check', '--only', 'gitlab:team'], ENV);
    expect({ status: r.status, stdout: r.stdout.split('\n'), last: lastLine(r.stderr) }).toEqual({
      status: 0,
      stdout: [
        `backup ${base} (made ${manifestOf(base).createdAt} on ${os.hostname()} by commit c0ffee1) replaces, in stack itops:`,
        `  GitLab team (19.3.0): its database, repositories, uploads and /etc/gitlab (container ${TEAM.container})`,
        '  left as they are: GitLab main',
        '  left as it is: Rocket.Chat',
        'a safety backup of the current state is taken and verified first (--no-safety-backup skips it)',
        '',
      ],
      last: `kytes-restore: all checks passed for backup ${base}; nothing was changed (--check)`,
    });
    expect(await liveState(stack)).toEqual(changed);
  });

  it('--yes: a verified safety backup of what it replaces comes first, recorded; restoring it undoes the restore', async () => {
    const changed = await liveState(stack);
    const r = await runOps(BIN, 'kytes-restore', [base, '--yes'], ENV);
    expect({ status: r.status, last: lastLine(r.stderr) }).toEqual({
      status: 0,
      last: `kytes-restore: stack itops restored from backup ${base}`,
    });
    const safety = /safety backup (\S+-prerestore) taken and verified; to undo this restore: kytes-restore \1\n/.exec(
      r.stderr,
    )![1];
    expect(await liveState(stack)).toEqual(state0);
    expect(invocations().pop()).toEqual(
      expect.objectContaining({
        operation: 'kytes-restore',
        arguments: [base, '--yes'],
        result: 'ok',
        safetyBackup: safety,
      }),
    );
    // Verified, and no retention ran: the backup being restored is still there.
    expect((await runOps(BIN, 'kytes-verify', [safety], ENV)).status).toBe(0);
    expect(ids()).toEqual(expect.arrayContaining([base, safety]));
    // Undo: the safety backup holds exactly the state the restore replaced.
    const undo = await runOps(BIN, 'kytes-restore', [safety, ...YES], ENV);
    expect(undo.status).toBe(0);
    expect(await liveState(stack)).toEqual(changed);
    expect(invocations().pop()).toEqual(
      expect.objectContaining({ arguments: [safety, ...YES], safetyBackup: 'skipped (--no-safety-backup)' }),
    );
    fs.rmSync(path.join(BACKUPS, safety), { recursive: true });
  });

  it('a restore that fails part-way says what it left and how to finish it, or go back; the command it gives works', async () => {
    await psql(t, TEAM.database.name, 'DELETE FROM issues WHERE id % 9 = 0;\n');
    await execIn(TEAM.container, ['touch', '/tmp/fake-reconfigure-fails']);
    let r: OpsRun;
    try {
      r = await runOps(BIN, 'kytes-restore', [base, '--yes'], ENV);
    } finally {
      await execIn(TEAM.container, ['rm', '-f', '/tmp/fake-reconfigure-fails']);
    }
    const safety = /safety backup (\S+-prerestore) taken and verified/.exec(r.stderr)![1];
    expect({ status: r.status, last: lastLine(r.stderr) }).toEqual({
      status: 1,
      last: `kytes-restore: error: restoring ${base}: GitLab team: gitlab-ctl reconfigure failed (a command exited with status 1); the stack may be partly restored: run kytes-restore ${base} --yes --no-safety-backup to restore it whole, or kytes-restore ${safety} --yes --no-safety-backup to go back to the state before`,
    });
    expect(invocations().pop()).toEqual(
      expect.objectContaining({ operation: 'kytes-restore', result: 'error', safetyBackup: safety }),
    );
    // GitLab team was left running (the restore had not stopped it yet); the command the line gives finishes the job.
    expect(await containerHealth(TEAM.container)).toBe('healthy');
    const again = await runOps(BIN, 'kytes-restore', [base, '--yes', '--no-safety-backup'], ENV);
    expect(again.status).toBe(0);
    expect(await liveState(stack)).toEqual(state0);
    fs.rmSync(path.join(BACKUPS, safety), { recursive: true });
  });

  it('a safety backup that fails stops the restore before anything changes', async () => {
    const changed = await liveState(stack);
    const restores = await restoreCalls();
    // Restoring GitLab main alone needs no MongoDB; the safety backup (the whole stack) does.
    await execIn(MONGO.members[1].container, ['rm', '/data/db/PRIMARY']);
    try {
      const r = await runOps(BIN, 'kytes-restore', [base, '--yes', '--only', 'gitlab:main'], ENV);
      expect({ status: r.status, last: lastLine(r.stderr) }).toEqual({
        status: 1,
        last: 'kytes-restore: error: the safety backup of the current state failed (see above), so the restore did not start: fix what it reports, or run again with --no-safety-backup to restore without one; nothing was changed',
      });
      expect(r.stderr).toContain(
        'kytes-backup: error: no MongoDB member of replica set rs0 answers as writable primary',
      );
    } finally {
      await execIn(MONGO.members[1].container, ['touch', '/data/db/PRIMARY']);
    }
    expect([await restoreCalls(), await liveState(stack)]).toEqual([restores, changed]);
  });

  it('--once (kytes:restore.from): restores once, remembered in the backup dir; the same id again does nothing and says so', async () => {
    const applied = path.join(BACKUPS, 'restores-from-config.jsonl');
    const first = await runOps(BIN, 'kytes-restore', [base, '--yes', '--once', '--no-safety-backup'], ENV);
    expect(first.status).toBe(0);
    expect(await liveState(stack)).toEqual(state0);
    expect(
      fs
        .readFileSync(applied, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual([base]);
    // Later changes survive a later `pulumi up` (even after destroy: scripts re-installed, the backup dir kept).
    await psql(t, TEAM.database.name, 'DELETE FROM issues WHERE id % 4 = 0;\n');
    const changed = await liveState(stack);
    const restores = await restoreCalls();
    const fresh = path.join(ROOT, 'bin-after-destroy');
    fs.mkdirSync(fresh);
    for (const [name, content] of Object.entries(renderOpsScripts(t, OPTIONS)))
      fs.writeFileSync(path.join(fresh, name), content, { mode: 0o755 });
    const again = await runOps(fresh, 'kytes-restore', [base, '--yes', '--once'], ENV);
    const at = JSON.parse(fs.readFileSync(applied, 'utf8').trim()).restoredAt;
    expect({ status: again.status, stderr: again.stderr }).toEqual({
      status: 0,
      stderr: `kytes-restore: kytes:restore.from is ${base}, which was already restored here at ${at}: nothing to do (remove it with: npm run pulumi -- config rm --path kytes:restore.from; to restore it again: npm run restore -- ${base})\n`,
    });
    expect([await restoreCalls(), await liveState(stack)]).toEqual([restores, changed]);
    expect(invocations().pop()).toEqual(expect.objectContaining({ result: 'ok', alreadyRestored: at }));
    fs.rmSync(fresh, { recursive: true });
  });
});

describe('watched backups', () => {
  it('a scheduled backup that succeeds writes its own output to cron.log, and sends no alert', async () => {
    const r = await runOps(BIN, 'kytes-backup', ['--scheduled', '--no-offhost', '--no-prune'], ENV);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
    const log = fs.readFileSync(path.join(BACKUPS, 'cron.log'), 'utf8').trimEnd().split('\n');
    const id = log[log.length - 1];
    expect(id).toMatch(/^\d{8}T\d{6}Z$/);
    expect(log[log.length - 2]).toMatch(new RegExp(`^kytes-backup: backup ${id} complete and verified \\(.*\\)$`));
    expect(invocations().pop()).not.toHaveProperty('alert');
    fs.rmSync(path.join(BACKUPS, id), { recursive: true });
  });

  it('refuses to start when the backup dir has less free space than the last backup took, and npm run backups shows the failure', async () => {
    // A newer verified "backup" of 1 TiB (a sparse file: du -b counts its apparent size), more than this disk has.
    const huge = path.join(BACKUPS, '20991231T000000Z');
    fs.mkdirSync(huge);
    fs.writeFileSync(path.join(huge, 'verified'), '{}');
    expect(spawnSync('truncate', ['-s', '1T', path.join(huge, 'gitlab-main.tar.zst')]).status).toBe(0);
    const before = fs.readdirSync(BACKUPS).sort();
    try {
      const r = await runOps(BIN, 'kytes-backup', ['--no-offhost', '--no-prune'], ENV);
      expect({ status: r.status, stdout: r.stdout, last: lastLine(r.stderr) }).toEqual({
        status: 1,
        stdout: '',
        last: expect.stringMatching(
          new RegExp(
            `^kytes-backup: error: not enough free space in ${BACKUPS}: [0-9.]+[KMGT]iB free, and the last backup \\(20991231T000000Z\\) took 1\\.0TiB, so this one needs about 1\\.1TiB: make room \\(kytes-prune, or a larger disk or kytes:backup\\.dir\\) and run again; nothing was changed \\(no backup was written\\)$`,
          ),
        ),
      });
      expect(fs.readdirSync(BACKUPS).sort()).toEqual(before);
    } finally {
      fs.rmSync(huge, { recursive: true });
    }
    const report = JSON.parse((await runOps(BIN, 'kytes-backups', ['--json'], ENV)).stdout);
    expect(report.lastVerified.id).toBe(report.backups.find((b: { status: string }) => b.status === 'verified').id);
    expect(report.failedSince.count).toBeGreaterThanOrEqual(1);
    expect(report.failedSince.last.message).toMatch(/^not enough free space in /);
    expect(report.freeBytes).toBeGreaterThan(0);
  });
});

describe('a pre-upgrade backup when the same pulumi up also adds a GitLab instance', () => {
  // The scripts of the new config know instance "lab", whose container and volumes the `up` has not created yet.
  const withLab = deriveTopology(
    configSchema.parse({
      prefix: t.prefix,
      gitlab: {
        instances: [
          { name: 'main', sshPort: 2222 },
          { name: 'team', sshPort: 2223 },
          { name: 'lab', sshPort: 2224 },
        ],
      },
      mongo: { members: 3, replicaSet: 'rs0' },
      backup: { dir: BACKUPS, offHost: OFFHOST },
    }),
    'itops',
  );
  const NEW_BIN = path.join(ROOT, 'bin-with-lab');
  const NEXT_IMAGE = `kytes-it-ops/fake-gitlab-next:${hex}`;

  beforeAll(async () => {
    fs.mkdirSync(NEW_BIN);
    for (const [name, content] of Object.entries(renderOpsScripts(withLab, OPTIONS)))
      fs.writeFileSync(path.join(NEW_BIN, name), content, { mode: 0o755 });
    // The "next" GitLab image: what GitLab's own start-up check reads, a newer patch release.
    await docker(['build', '-q', '-t', NEXT_IMAGE, '-'], {
      stdin: `FROM ${images.gitlab}\nRUN mkdir -p /opt/gitlab && printf 'gitlab-ce 19.3.1\\ngitlab-rails 0123abc\\n' >/opt/gitlab/version-manifest.txt\n`,
      timeoutMs: 300_000,
    });
    // What the data volumes say is installed (gitlab-rails/VERSION, as GitLab writes it there).
    for (const g of t.gitlab)
      await execIn(g.container, [
        'sh',
        '-c',
        'mkdir -p /var/opt/gitlab/gitlab-rails && echo 19.3.0 >/var/opt/gitlab/gitlab-rails/VERSION',
      ]);
  }, 300_000);
  afterAll(async () => {
    await docker(['rmi', '-f', NEXT_IMAGE]).catch(() => undefined);
  });

  it('the new scripts alone fail on the instance not created yet (what issue 8 saw); with --skip-uncreated they back up the rest', async () => {
    const plain = await runOps(NEW_BIN, 'kytes-backup', ['--label', 'preupgrade', '--no-offhost', '--no-prune'], ENV);
    const lab = withLab.gitlab[2].container;
    expect({ status: plain.status, last: lastLine(plain.stderr) }).toEqual({
      status: 1,
      last: `kytes-backup: error: GitLab instance lab: container ${lab} does not exist on ${os.hostname()}: run pulumi up (it creates it); nothing was changed (no backup was written)`,
    });
    const skip = await runOps(
      NEW_BIN,
      'kytes-backup',
      ['--label', 'preupgrade', '--skip-uncreated', '--no-offhost', '--no-prune'],
      ENV,
    );
    expect({ status: skip.status, stderr: skip.stderr }).toEqual({
      status: 0,
      stderr: expect.stringContaining(
        'kytes-backup: GitLab instance lab has neither a container nor a data volume yet: nothing of it to back up\n',
      ),
    });
    const id = lastLine(skip.stdout);
    expect(manifestOf(id).gitlab.map((g) => g.instance)).toEqual(['main', 'team']);
    fs.rmSync(path.join(BACKUPS, id), { recursive: true });
  });

  it('the real GitLab upgrade guard, with those scripts installed, takes its pre-upgrade backup without the new instance', async () => {
    const v = parseVersion('19.3.1')!;
    const guarded: Topology = {
      ...withLab,
      ops: { ...withLab.ops, scriptsDir: NEW_BIN },
      versions: { ...withLab.versions, gitlab: v },
      gitlab: withLab.gitlab.map((g) => ({ ...g, image: NEXT_IMAGE, version: v })),
    };
    const r = spawnSync('bash', ['-c', gitlabGuardScript(guarded)], {
      encoding: 'utf8',
      env: { ...process.env, ...ENV },
      timeout: 300_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(
      `kytes: GitLab lab: no volume ${withLab.gitlab[2].volumes.data.name} yet (a new instance)\n`,
    );
    const id = /pre-upgrade backup (\S+) taken and verified/.exec(r.stdout)![1];
    expect(id).toMatch(/-preupgrade$/);
    expect(manifestOf(id).gitlab.map((g) => g.instance)).toEqual(['main', 'team']);
    expect(fs.existsSync(path.join(BACKUPS, id, 'verified'))).toBe(true);
    fs.rmSync(path.join(BACKUPS, id), { recursive: true });
  });
});
