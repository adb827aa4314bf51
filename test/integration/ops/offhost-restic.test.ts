import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configSchema } from '../../../lib/config';
import { deriveTopology } from '../../../lib/topology';
import { installResticPasswordScript } from '../../../ops/backupOps';
import type { Manifest } from '../../../ops/manifest';
import { renderOpsScripts } from '../../../ops/scripts';
import { execIn, IMAGES, requireImages, Sandbox } from '../helpers/docker';
import {
  buildFakeImages,
  FakeImages,
  FakeStack,
  lastLine,
  liveState,
  psql,
  readManifest,
  removeFakeImages,
  runOps,
  seedData,
  startFakeStack,
} from './fake-stack';

/**
 * `kytes:backup.offHost: restic:<path>` for real: the real kytes-backup of a fake stack (real
 * PostgreSQL) copied into a real restic repository (Debian's restic) with the password file written by
 * the real BackupOps script; then deduplication, verification, retention, a corrupted pack, and the
 * procedure for a new host: local backups gone, fetched back from the repository, restored, identical.
 * Needs the restic package on the test host; without it the test fails and says so.
 */

jest.setTimeout(600_000);

const hex = randomBytes(3).toString('hex');
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-restic-'));
const BIN = path.join(ROOT, 'bin');
const BACKUPS = path.join(ROOT, 'backups');
const REPO = path.join(ROOT, 'repo');
const t = deriveTopology(
  configSchema.parse({
    prefix: `kytes-itrestic-${hex}`,
    backup: { dir: BACKUPS, offHost: `restic:${REPO}` },
  }),
  'itrestic',
);
const PASSWORD = randomBytes(24).toString('base64url');
const ENV = { KYTES_HEALTH_TIMEOUT: '60' };
/**
 * Data for the dedup figure: a second backup of unchanged data still differs in a few places — GitLab's
 * backup_information.yml (kept in its own small file), and the random `\restrict` key pg_dump 17.6+ writes
 * at both ends of every plain dump — and restic stores each changed chunk of a file whole (0.5 to 8 MiB of
 * compressed bytes, ~1.5 MiB on average). So the share only means something for a backup of some size:
 * 160 MiB of random bytes in a repository pack (git packs do not compress), plus a table of md5 text.
 */
const BULK_ROWS = 200_000;
const PACK_MIB = 160;

const sandbox = new Sandbox();
let images: FakeImages | undefined;
let stack: FakeStack;
const outputs: string[] = [];

const manifestOf = (id: string): Manifest => readManifest(BACKUPS, id);
const backupBytes = (id: string) =>
  manifestOf(id).artifacts.reduce((n, a) => n + a.size, 0) + fs.statSync(path.join(BACKUPS, id, 'manifest.json')).size;

function restic(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('restic', ['--repo', REPO, ...args], {
    encoding: 'utf8',
    env: { ...process.env, RESTIC_PASSWORD_FILE: t.ops.resticPasswordFile, TZ: 'UTC' },
    maxBuffer: 64 * 2 ** 20,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
interface Snapshot {
  id: string;
  short_id: string;
  time: string;
  tags: string[];
}
const snapshots = (): Snapshot[] => JSON.parse(restic(['snapshots', '--json']).stdout);
interface TreeNode {
  name: string;
  type: string;
  size?: number;
  content?: string[];
  subtree?: string;
}
/** Where the middle chunk of the largest file of a backup's snapshot lies: pack, offset, length. */
function blobOfSnapshot(id: string): { pack: string; offset: number; length: number } {
  const snap = snapshots().find((s) => s.tags.includes(`kytes-id=${id}`));
  if (!snap) throw new Error(`no snapshot of backup ${id} in ${REPO}`);
  const cat = (...args: string[]) => {
    const r = restic(['cat', ...args]);
    if (r.status !== 0) throw new Error(`restic cat ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const files: TreeNode[] = [];
  const walkTree = (tree: string) => {
    for (const node of cat('blob', tree).nodes as TreeNode[]) {
      if (node.type === 'dir' && node.subtree) walkTree(node.subtree);
      else if (node.type === 'file' && node.content?.length) files.push(node);
    }
  };
  walkTree(cat('snapshot', snap.id).tree);
  const largest = files.sort((a, b) => (b.size ?? 0) - (a.size ?? 0))[0];
  const blob = largest.content![Math.floor(largest.content!.length / 2)];
  for (const index of restic(['list', 'index']).stdout.trim().split('\n')) {
    const packs = cat('index', index).packs as {
      id: string;
      blobs: { id: string; offset: number; length: number }[];
    }[];
    for (const pack of packs) {
      const found = pack.blobs.find((b) => b.id === blob);
      if (found) return { pack: pack.id, offset: found.offset, length: found.length };
    }
  }
  throw new Error(`blob ${blob} of ${largest.name} is in no index of ${REPO}`);
}
function repoBytes(): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else total += fs.statSync(p).size;
    }
  };
  walk(REPO);
  return total;
}
async function backup(): Promise<string> {
  await new Promise((r) => setTimeout(r, 1100)); // a new id (ids have one-second resolution)
  const run = await runOps(BIN, 'kytes-backup', [], ENV);
  outputs.push(run.stdout, run.stderr);
  expect({ status: run.status, error: run.stderr.includes('error') ? run.stderr : '' }).toEqual({
    status: 0,
    error: '',
  });
  return lastLine(run.stdout);
}

beforeAll(async () => {
  if (spawnSync('sh', ['-c', 'command -v restic']).status !== 0)
    throw new Error('the restic off-host test needs restic, which is not installed: apt-get install -y restic');
  await requireImages([IMAGES.base, IMAGES.postgres]);
  images = await buildFakeImages(`restic-${hex}`);
  fs.mkdirSync(BIN);
  const scripts = renderOpsScripts(t, {
    keepLast: 6,
    keepDaily: 7,
    keepWeekly: 4,
    offHost: `restic:${REPO}`,
    projectCommit: 'c0ffee3',
    projectDirty: false,
  });
  for (const [name, content] of Object.entries(scripts))
    fs.writeFileSync(path.join(BIN, name), content, { mode: 0o755 });
  // The password file, written by the very script BackupOps gives pulumi-command, the secret on stdin.
  const install = spawnSync('bash', ['-c', installResticPasswordScript(t)], { input: PASSWORD, encoding: 'utf8' });
  expect({ status: install.status, stdout: install.stdout, stderr: install.stderr }).toEqual({
    status: 0,
    stdout: '',
    stderr: '',
  });
  stack = await startFakeStack(t, sandbox, images);
  await seedData(stack, 20_000);
  const g = t.gitlab[0];
  await execIn(g.container, [
    'bash',
    '-c',
    `head -c ${PACK_MIB}M /dev/urandom >/var/opt/gitlab/git-data/repositories/group/project.git/objects/pack-2.pack`,
  ]);
  await execIn(
    g.container,
    ['bash', '-c', 'psql -h "$FAKE_DB_HOST" -U "$FAKE_DB_USER" -d "$FAKE_DB_NAME" -XAtq -v ON_ERROR_STOP=1'],
    {
      stdin: `CREATE TABLE notes (id bigint PRIMARY KEY, note text NOT NULL);
INSERT INTO notes SELECT i, md5(i::text) || ' ' || md5((i * 7)::text) || ' ' || md5((i * 13)::text) FROM generate_series(1, ${BULK_ROWS}) i;
`,
    },
  );
}, 600_000);

afterAll(async () => {
  await sandbox.cleanup().catch(() => undefined);
  if (images) await removeFakeImages(images);
  fs.rmSync(path.dirname(t.ops.resticPasswordFile), { recursive: true, force: true });
  fs.rmSync(ROOT, { recursive: true, force: true });
}, 300_000);

describe('off-host copies to a restic repository (kytes:backup.offHost restic:/path)', () => {
  let first: string;
  let second: string;
  let before: Record<string, string>;

  it('the password file is root-only and holds the password given on stdin', () => {
    const file = fs.statSync(t.ops.resticPasswordFile);
    const dir = fs.statSync(path.dirname(t.ops.resticPasswordFile));
    expect({ file: file.mode & 0o777, dir: dir.mode & 0o777, uid: file.uid }).toEqual({
      file: 0o600,
      dir: 0o700,
      uid: 0,
    });
    expect(fs.readFileSync(t.ops.resticPasswordFile, 'utf8')).toBe(PASSWORD);
  });

  it('kytes-backup creates the repository and copies the verified backup as one snapshot, tagged with stack and id', async () => {
    before = await liveState(stack);
    first = await backup();
    const list = snapshots();
    expect(list.map((s) => [s.time, [...s.tags].sort()])).toEqual([
      [
        manifestOf(first).createdAt,
        ['kytes', `kytes-id=${first}`, `kytes-prefix=${t.prefix}`, 'kytes-stack=itrestic'].sort(),
      ],
    ]);
    expect(outputs.join('')).toContain(
      `kytes-backup: copied ${first} to restic repository ${REPO} as snapshot ${list[0].short_id}\n`,
    );
    // Every file of the backup, byte for byte, at the snapshot's root.
    for (const f of [...manifestOf(first).artifacts.map((a) => a.file), 'manifest.json']) {
      const dumped = spawnSync('restic', ['--repo', REPO, 'dump', list[0].id, `/${f}`], {
        env: { ...process.env, RESTIC_PASSWORD_FILE: t.ops.resticPasswordFile },
        maxBuffer: 512 * 2 ** 20,
      });
      expect(Buffer.compare(dumped.stdout, fs.readFileSync(path.join(BACKUPS, first, f)))).toBe(0);
    }
  });

  it('the repository is encrypted: no plaintext of the backup is found in it', () => {
    const needles = ['"format":"kytes-backup"', `kytes-id=${first}`, 'project-1-'].map((n) => Buffer.from(n));
    const found: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (needles.some((n) => fs.readFileSync(p).includes(n))) found.push(p);
      }
    };
    walk(REPO);
    expect(found).toEqual([]);
  });

  it('a second backup of unchanged data adds at most 5 % of the first backup to the repository', async () => {
    const size = backupBytes(first);
    const repoBefore = repoBytes();
    second = await backup();
    const added = repoBytes() - repoBefore;
    const share = added / size;
    const sums = (id: string) => new Map(manifestOf(id).artifacts.map((a) => [a.file, a.sha256]));
    const changed = [...sums(second)].filter(([f, sha]) => sums(first).get(f) !== sha).map(([f]) => f);
    console.log(
      `dedup: first backup ${size} bytes; the second of the same data added ${added} bytes to the repository (${(100 * share).toFixed(2)} %); artifacts that differ: ${changed.join(', ')}`,
    );
    expect(size).toBeGreaterThan(PACK_MIB * 2 ** 20);
    expect(share).toBeLessThanOrEqual(0.05);
    expect(snapshots().length).toBe(2);
  });

  it('kytes-verify checks the snapshot too: the repository, and every file read back through restic', async () => {
    const run = await runOps(BIN, 'kytes-verify', [second], ENV);
    outputs.push(run.stdout, run.stderr);
    expect({ status: run.status, stderr: run.stderr }).toEqual({
      status: 0,
      stderr:
        `kytes-verify: backup ${second} verified: manifest valid, ${manifestOf(second).artifacts.length} artifacts match their checksums\n` +
        `kytes-verify: off-host copy of ${second} verified in ${REPO}: repository check passed, every file of its snapshot matches\n`,
    });
  });

  it('retention applies in the repository with the same keep rules (restic forget --prune)', async () => {
    const run = await runOps(BIN, 'kytes-prune', ['--keep-last', '1', '--keep-daily', '0', '--keep-weekly', '0'], ENV);
    outputs.push(run.stdout, run.stderr);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`keep ${second}\ndelete ${first}\n`);
    expect(snapshots().map((s) => s.tags.find((x) => x.startsWith('kytes-id=')))).toEqual([`kytes-id=${second}`]);
    expect(restic(['check']).status).toBe(0);
  });

  describe('on a new host: local backups gone, fetched back from the repository, restored', () => {
    beforeAll(async () => {
      // The local copies are lost, and the live data is damaged.
      for (const e of fs.readdirSync(BACKUPS)) fs.rmSync(path.join(BACKUPS, e), { recursive: true, force: true });
      await psql(t, t.gitlab[0].database.name, 'DELETE FROM notes WHERE id % 2 = 0;\nDROP TABLE issues;\n');
      await execIn(t.gitlab[0].container, ['bash', '-c', 'rm -rf /var/opt/gitlab/git-data/repositories/group']);
      await execIn(stack.mongoPrimary!, ['bash', '-c', 'echo lost >/data/db/fake/rocketchat/rocketchat_message.bson']);
    });

    it('kytes-offhost-fetch --list shows what the repository holds', async () => {
      const run = await runOps(BIN, 'kytes-offhost-fetch', ['--list'], ENV);
      expect({ status: run.status, stdout: run.stdout }).toEqual({
        status: 0,
        stdout: `${second}\trestic snapshot ${snapshots()[0].short_id}\n`,
      });
    });

    it('kytes-offhost-fetch ID writes the backup back, verified, and kytes-restore brings identical data', async () => {
      const fetch = await runOps(BIN, 'kytes-offhost-fetch', [second], ENV);
      outputs.push(fetch.stdout, fetch.stderr);
      expect({ status: fetch.status, last: lastLine(fetch.stderr) }).toEqual({
        status: 0,
        last: `kytes-offhost-fetch: fetched ${second} into ${BACKUPS}/${second} and verified it; restore it with kytes-restore ${second}`,
      });
      expect(fs.existsSync(path.join(BACKUPS, second, 'verified'))).toBe(true);
      expect(await liveState(stack)).not.toEqual(before);
      const restore = await runOps(BIN, 'kytes-restore', [second, '--yes', '--no-safety-backup'], ENV);
      outputs.push(restore.stdout, restore.stderr);
      expect({ status: restore.status, last: lastLine(restore.stderr) }).toEqual({
        status: 0,
        last: `kytes-restore: stack itrestic restored from backup ${second}`,
      });
      expect(await liveState(stack)).toEqual(before);
    });
  });

  it('a corrupted pack in the repository is detected by kytes-verify', async () => {
    // Corrupt a data blob this backup's snapshot references (the middle chunk of its largest file), found
    // through restic's own index: a byte flipped in the biggest pack hit only the first backup's chunks
    // on some runs, and `restic check` reads a 10 % sample, so that test could pass or fail by chance.
    const { pack, offset, length } = blobOfSnapshot(second);
    const file = path.join(REPO, 'data', pack.slice(0, 2), pack);
    fs.chmodSync(file, 0o600);
    const bytes = fs.readFileSync(file);
    bytes[offset + Math.floor(length / 2)] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const run = await runOps(BIN, 'kytes-verify', [second], ENV);
    outputs.push(run.stdout, run.stderr);
    expect(run.status).toBe(1);
    expect(lastLine(run.stderr)).toMatch(
      new RegExp(`^kytes-verify: error: backup ${second} does not verify: .*restic`),
    );
    // The local copy itself is still good: only the off-host copy is reported.
    expect(run.stderr).toContain(`kytes-verify: backup ${second} verified: manifest valid`);
  });

  it('no output, log, manifest or script ever holds the restic password', () => {
    const texts = [
      ...outputs,
      fs.readFileSync(path.join(BACKUPS, 'invocations.jsonl'), 'utf8'),
      fs.readFileSync(path.join(BACKUPS, second, 'manifest.json'), 'utf8'),
      ...fs.readdirSync(BIN).map((f) => fs.readFileSync(path.join(BIN, f), 'utf8')),
    ];
    expect(texts.filter((x) => x.includes(PASSWORD))).toEqual([]);
  });
});
