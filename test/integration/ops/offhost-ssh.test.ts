import { spawnSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configSchema } from '../../../lib/config';
import { deriveTopology } from '../../../lib/topology';
import { installResticPasswordScript } from '../../../ops/backupOps';
import type { Manifest } from '../../../ops/manifest';
import { renderOpsScripts } from '../../../ops/scripts';
import { IMAGES, requireImages, Sandbox } from '../helpers/docker';
import {
  buildFakeImages,
  FakeImages,
  FakeStack,
  invocationRecords,
  lastLine,
  liveState,
  psql,
  readManifest,
  removeFakeImages,
  runOps,
  seedData,
  startFakeStack,
} from './fake-stack';
import { requireSshTools, startSshd, ThrowawaySshd } from './sshd';

/**
 * The `user@host:/path` off-host copy for real: rsync over SSH to a throwaway sshd on 127.0.0.1
 * (test/integration/ops/sshd.ts), reached through KYTES_OFFHOST_SSH (its own port, key and
 * known_hosts), from a backup that the real kytes-backup took of a fake stack. Needs openssh-server
 * and rsync on the test host; without them the test fails and says which packages to install.
 */

jest.setTimeout(600_000);

const hex = randomBytes(3).toString('hex');
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-offhost-'));
const BIN = path.join(ROOT, 'bin');
const BACKUPS = path.join(ROOT, 'backups');
// Does not exist yet: the first copy creates it.
const REMOTE_DIR = path.join(ROOT, 'remote', 'kytes');
const USER = os.userInfo().username;
const OFFHOST = `${USER}@127.0.0.1:${REMOTE_DIR}`;
const t = deriveTopology(
  configSchema.parse({
    prefix: `kytes-itoff-${hex}`,
    rocketchat: { enabled: false },
    backup: { dir: BACKUPS, offHost: OFFHOST },
  }),
  'itoff',
);

const sandbox = new Sandbox();
let images: FakeImages | undefined;
let sshd: ThrowawaySshd | undefined;
let env: NodeJS.ProcessEnv;
let id: string;
let stack: FakeStack;

const manifestOf = (backup: string): Manifest => readManifest(BACKUPS, backup);
const localFiles = (backup: string) =>
  fs
    .readdirSync(path.join(BACKUPS, backup))
    .filter((f) => f !== 'verified')
    .sort();
const remoteCopy = (backup: string) => path.join(REMOTE_DIR, backup);
const lastInvocation = () => invocationRecords(BACKUPS).pop() as Record<string, unknown>;

/** `sha256sum -c` run on the SSH server's side, against sums the test takes from the manifest itself. */
function remoteSha256Check(backup: string): { status: number | null; stdout: string } {
  const m = manifestOf(backup);
  const manifestSum = createHash('sha256')
    .update(fs.readFileSync(path.join(BACKUPS, backup, 'manifest.json')))
    .digest('hex');
  const sums = [...m.artifacts.map((a) => `${a.sha256}  ${a.file}`), `${manifestSum}  manifest.json`].join('\n');
  const r = sshd!.ssh(`cd ${remoteCopy(backup)} && sha256sum -c -`, `${sums}\n`);
  return { status: r.status, stdout: r.stdout };
}
const allOk = (backup: string) =>
  [...manifestOf(backup).artifacts.map((a) => `${a.file}: OK`), 'manifest.json: OK'].join('\n') + '\n';

function expectIdenticalCopy(backup: string): void {
  expect(fs.readdirSync(remoteCopy(backup)).sort()).toEqual(localFiles(backup));
  for (const f of localFiles(backup)) {
    expect(
      fs.readFileSync(path.join(remoteCopy(backup), f)).equals(fs.readFileSync(path.join(BACKUPS, backup, f))),
    ).toBe(true);
  }
  expect(remoteSha256Check(backup)).toEqual({ status: 0, stdout: allOk(backup) });
  // Only final names at the destination: no `.tmp-<id>` left behind.
  expect(fs.readdirSync(REMOTE_DIR).filter((n) => n.startsWith('.'))).toEqual([]);
}

beforeAll(async () => {
  // First, so that a host without sshd/rsync fails at once with the packages to install.
  requireSshTools();
  await requireImages([IMAGES.base, IMAGES.postgres]);
  sshd = await startSshd(path.join(ROOT, 'sshd'));
  env = { KYTES_OFFHOST_SSH: sshd.sshCommand };
  images = await buildFakeImages(`off-${hex}`);
  fs.mkdirSync(BIN);
  const scripts = renderOpsScripts(t, {
    keepLast: 6,
    keepDaily: 7,
    keepWeekly: 4,
    offHost: OFFHOST,
    projectCommit: 'c0ffee2',
    projectDirty: false,
  });
  for (const [name, content] of Object.entries(scripts))
    fs.writeFileSync(path.join(BIN, name), content, { mode: 0o755 });
  stack = await startFakeStack(t, sandbox, images);
  await seedData(stack, 2_000);
  const backup = await runOps(BIN, 'kytes-backup', ['--no-offhost'], env);
  if (backup.status !== 0) throw new Error(`kytes-backup failed: ${backup.stderr}`);
  id = lastLine(backup.stdout);
}, 600_000);

afterAll(async () => {
  // Each step on its own, so that one failing does not leave the others' leftovers behind.
  await sshd?.stop().catch(() => undefined);
  await sandbox.cleanup().catch(() => undefined);
  if (images) await removeFakeImages(images);
  fs.rmSync(ROOT, { recursive: true, force: true });
}, 300_000);

describe('kytes-offhost-copy to user@host:/path (rsync over SSH, KYTES_OFFHOST_SSH)', () => {
  it('copies the backup under its final name, and sha256sum -c on the remote side verifies it', async () => {
    const run = await runOps(BIN, 'kytes-offhost-copy', [id], env);
    expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
      status: 0,
      stdout: '',
      stderr: `kytes-offhost-copy: copied ${id} to ${OFFHOST}/${id} and verified it there\n`,
    });
    expect(fs.readdirSync(REMOTE_DIR)).toEqual([id]);
    expectIdenticalCopy(id);
    // The invocation log records the variable's name, never its value (a key path, a port).
    expect(lastInvocation()).toEqual(
      expect.objectContaining({ operation: 'kytes-offhost-copy', arguments: [id], result: 'ok', status: 0 }),
    );
    expect((lastInvocation().envNames as string[]).includes('KYTES_OFFHOST_SSH')).toBe(true);
    expect(fs.readFileSync(path.join(BACKUPS, 'invocations.jsonl'), 'utf8')).not.toContain(sshd!.sshCommand);
  });

  it('leaves a copy that verifies in place', async () => {
    const inode = fs.statSync(remoteCopy(id)).ino;
    const run = await runOps(BIN, 'kytes-offhost-copy', [id], env);
    expect({ status: run.status, stderr: run.stderr }).toEqual({
      status: 0,
      stderr: `kytes-offhost-copy: ${OFFHOST}/${id} already holds a verified copy\n`,
    });
    expect(fs.statSync(remoteCopy(id)).ino).toBe(inode);
  });

  it.each<[string, string, (dir: string) => void]>([
    [
      'one byte flipped (same size and time: only a checksum sees it)',
      'gitlab-main.tar.zst: FAILED',
      (dir) => {
        const f = path.join(dir, 'gitlab-main.tar.zst');
        const { mtime } = fs.statSync(f);
        const b = fs.readFileSync(f);
        b[Math.floor(b.length / 2)] ^= 0xff;
        fs.writeFileSync(f, b);
        fs.utimesSync(f, mtime, mtime);
      },
    ],
    [
      'an artifact deleted',
      'postgres-globals.sql: FAILED open or read',
      (dir) => fs.rmSync(path.join(dir, 'postgres-globals.sql')),
    ],
  ])('detects a damaged remote copy (%s) and replaces it on the next run', async (_name, finding, damage) => {
    damage(remoteCopy(id));
    expect(remoteSha256Check(id).status).toBe(1);
    const run = await runOps(BIN, 'kytes-offhost-copy', [id], env);
    expect({ status: run.status, stderr: run.stderr }).toEqual({
      status: 0,
      stderr:
        `kytes-offhost-copy: the copy at ${OFFHOST}/${id} does not verify (${finding}); replacing it\n` +
        `kytes-offhost-copy: copied ${id} to ${OFFHOST}/${id} and verified it there\n`,
    });
    expectIdenticalCopy(id);
  });

  describe('to a restic repository over SFTP (restic:sftp:user@host:/path, same KYTES_OFFHOST_SSH)', () => {
    const repo = path.join(ROOT, 'remote', 'restic');
    const resticBin = path.join(ROOT, 'bin-restic');
    const password = randomBytes(24).toString('base64url');

    beforeAll(() => {
      if (spawnSync('sh', ['-c', 'command -v restic']).status !== 0)
        throw new Error('the restic SFTP test needs restic, which is not installed: apt-get install -y restic');
      fs.mkdirSync(resticBin);
      const scripts = renderOpsScripts(t, {
        keepLast: 6,
        keepDaily: 7,
        keepWeekly: 4,
        offHost: `restic:sftp:${USER}@127.0.0.1:${repo}`,
        projectCommit: 'c0ffee2',
        projectDirty: false,
      });
      for (const [name, content] of Object.entries(scripts))
        fs.writeFileSync(path.join(resticBin, name), content, { mode: 0o755 });
      const install = spawnSync('bash', ['-c', installResticPasswordScript(t)], { input: password, encoding: 'utf8' });
      expect(install.status).toBe(0);
    });
    afterAll(() => fs.rmSync(path.dirname(t.ops.resticPasswordFile), { recursive: true, force: true }));

    it('creates the repository on the SSH server, copies the backup as a snapshot, and kytes-verify reads it back', async () => {
      const run = await runOps(resticBin, 'kytes-offhost-copy', [id], env);
      expect({ status: run.status, stdout: run.stdout, last: lastLine(run.stderr) }).toEqual({
        status: 0,
        stdout: '',
        last: expect.stringMatching(
          new RegExp(
            `^kytes-offhost-copy: copied ${id} to restic repository sftp:${USER}@127\\.0\\.0\\.1:${repo} as snapshot [0-9a-f]{8}$`,
          ),
        ),
      });
      expect(fs.existsSync(path.join(repo, 'config'))).toBe(true);
      const verify = await runOps(resticBin, 'kytes-verify', [id], env);
      expect({ status: verify.status, last: lastLine(verify.stderr) }).toEqual({
        status: 0,
        last: `kytes-verify: off-host copy of ${id} verified in sftp:${USER}@127.0.0.1:${repo}: repository check passed, every file of its snapshot matches`,
      });
      const again = await runOps(resticBin, 'kytes-offhost-copy', [id], env);
      expect(lastLine(again.stderr)).toMatch(/already holds backup/);
      expect(
        [run.stdout, run.stderr, verify.stderr, fs.readFileSync(path.join(BACKUPS, 'invocations.jsonl'), 'utf8')].some(
          (x) => x.includes(password),
        ),
      ).toBe(false);
    });
  });

  describe('a new host: fetch back from the rsync copy, verify, restore', () => {
    it('kytes-offhost-fetch --list shows what the remote holds; ID brings it back, verified; the restore gives the data back', async () => {
      const list = await runOps(BIN, 'kytes-offhost-fetch', ['--list'], env);
      expect({ status: list.status, stdout: list.stdout }).toEqual({ status: 0, stdout: `${id}\t${OFFHOST}/${id}\n` });
      const state = await liveState(stack);
      // The new host has no local backup; the data is damaged.
      fs.rmSync(path.join(BACKUPS, id), { recursive: true });
      await psql(t, t.gitlab[0].database.name, 'DROP TABLE issues;\n');
      const fetched = await runOps(BIN, 'kytes-offhost-fetch', [id], env);
      expect({ status: fetched.status, stderr: fetched.stderr }).toEqual({
        status: 0,
        stderr:
          `kytes-offhost-fetch: fetching ${id} from ${OFFHOST}/${id}\n` +
          `kytes-offhost-fetch: fetched ${id} into ${BACKUPS}/${id} and verified it; restore it with kytes-restore ${id}\n`,
      });
      expect(fs.readdirSync(BACKUPS).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
      expect((await runOps(BIN, 'kytes-verify', [id], env)).status).toBe(0);
      const restore = await runOps(BIN, 'kytes-restore', [id, '--yes', '--no-safety-backup'], {
        ...env,
        KYTES_HEALTH_TIMEOUT: '60',
      });
      expect({ status: restore.status, last: lastLine(restore.stderr) }).toEqual({
        status: 0,
        last: `kytes-restore: stack itoff restored from backup ${id}`,
      });
      expect(await liveState(stack)).toEqual(state);
    });

    it('a backup the remote does not hold, and a damaged remote copy, are refused; nothing is written', async () => {
      const missing = await runOps(BIN, 'kytes-offhost-fetch', ['20200101T000000Z'], env);
      expect({ status: missing.status, stderr: missing.stderr }).toEqual({
        status: 1,
        stderr: `kytes-offhost-fetch: error: ${OFFHOST} holds no backup 20200101T000000Z (kytes-offhost-fetch --list shows what it holds); nothing was written to ${BACKUPS}\n`,
      });
      const local = path.join(ROOT, 'local-copy');
      fs.renameSync(path.join(BACKUPS, id), local);
      const f = path.join(remoteCopy(id), 'postgres-globals.sql');
      const original = fs.readFileSync(f);
      fs.appendFileSync(f, '-- altered\n');
      try {
        const damaged = await runOps(BIN, 'kytes-offhost-fetch', [id], env);
        expect({ status: damaged.status, last: lastLine(damaged.stderr) }).toEqual({
          status: 1,
          last: expect.stringMatching(
            new RegExp(
              `^kytes-offhost-fetch: error: the copy of ${id} fetched from ${OFFHOST} does not verify: postgres-globals\\.sql: [0-9]+ bytes, the manifest says [0-9]+ \\(truncated or altered\\); nothing was written to ${BACKUPS}$`,
            ),
          ),
        });
        expect(fs.readdirSync(BACKUPS).filter((n) => n === id || n.startsWith('.tmp-'))).toEqual([]);
      } finally {
        fs.writeFileSync(f, original);
        fs.renameSync(local, path.join(BACKUPS, id));
      }
    });
  });

  describe('with the SSH server down', () => {
    beforeAll(async () => {
      await sshd!.stop();
    });

    it('kytes-offhost-fetch says the remote cannot be reached; nothing is written', async () => {
      const run = await runOps(BIN, 'kytes-offhost-fetch', ['--list'], env);
      expect({ status: run.status, stdout: run.stdout, last: lastLine(run.stderr) }).toEqual({
        status: 1,
        stdout: '',
        last: `kytes-offhost-fetch: error: cannot reach ${USER}@127.0.0.1 with '${sshd!.sshCommand}' (status 255): check the host, its key and KYTES_OFFHOST_SSH; nothing was written to ${BACKUPS}`,
      });
    });

    it('kytes-offhost-copy fails with status 1 and the local backup stays valid', async () => {
      const run = await runOps(BIN, 'kytes-offhost-copy', [id], env);
      expect({ status: run.status, stdout: run.stdout, last: lastLine(run.stderr) }).toEqual({
        status: 1,
        stdout: '',
        last: `kytes-offhost-copy: error: cannot reach ${USER}@127.0.0.1 with '${sshd!.sshCommand}' (status 255); the local backup ${id} is unaffected and no verified copy was made (a partial one is replaced by the next copy)`,
      });
      expect(lastInvocation()).toEqual(
        expect.objectContaining({ operation: 'kytes-offhost-copy', result: 'error', status: 1 }),
      );
      const verify = await runOps(BIN, 'kytes-verify', [id], env);
      expect(verify.status).toBe(0);
    });

    it('kytes-backup still writes a verified backup, prints its id, and exits 1 for the failed copy', async () => {
      await new Promise((r) => setTimeout(r, 1100)); // a new id (ids have one-second resolution)
      const run = await runOps(BIN, 'kytes-backup', [], env);
      const newId = lastLine(run.stdout);
      expect(newId).toMatch(/^[0-9]{8}T[0-9]{6}Z$/);
      expect({ status: run.status, last: lastLine(run.stderr) }).toEqual({
        status: 1,
        last: `kytes-backup: error: the off-host copy to ${OFFHOST} failed (see above); backup ${newId} is complete and verified in ${BACKUPS}, only the copy is missing: run kytes-offhost-copy ${newId} once ${OFFHOST} is reachable`,
      });
      expect((await runOps(BIN, 'kytes-verify', [newId], env)).status).toBe(0);
      expect(fs.readdirSync(REMOTE_DIR)).toEqual([id]);
    });
  });
});
