import * as fs from 'fs';
import * as path from 'path';
import { ARTIFACTS, flipByte, listing, modeOf, sha256, stubs, writeBackup } from './disk';
import { installScripts, OPTIONS, removeDir, runScript, tempDir, topologyFor } from './fixture';

/**
 * kytes-offhost-copy and kytes-offhost-fetch with an off-host path (mounted storage), run for real with
 * bash on backups built on disk: a copy is made owner-only, verified where it lands, flushed, then
 * renamed; a damaged one is never named nor marked verified (a corrupting `cp` first on PATH included).
 * test/mutants/ removes each guarded line in turn and requires these tests to fail.
 */
const ID = '20261122T040000Z';

let root: string;
let bin: string;
let backupDir: string;
let offHost: string;
beforeAll(() => {
  root = tempDir('offhost');
  bin = path.join(root, 'bin');
  backupDir = path.join(root, 'backups');
  offHost = path.join(root, 'offhost');
  installScripts(topologyFor({ backup: { dir: backupDir } }), { ...OPTIONS, offHost }, bin);
});
afterAll(() => removeDir(root));
beforeEach(() => {
  for (const d of [backupDir, offHost, path.join(root, 'stub')]) removeDir(d);
  fs.mkdirSync(backupDir, { mode: 0o700 });
});

const local = (...p: string[]) => path.join(backupDir, ID, ...p);
const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
/** Each artifact and the manifest of a backup directory, with their sha256. */
const sums = (dir: string) =>
  Object.fromEntries([...ARTIFACTS, 'manifest.json'].map((f) => [f, sha256(path.join(dir, f))]));

/**
 * A stand-in `sync` first on PATH records each call, and whether `final` (the name the script renames its
 * copy to) existed then: a test sees that the copy was flushed before its rename and the directory after.
 */
function recordingSync(final: string): { env: NodeJS.ProcessEnv; calls: () => string[] } {
  const log = path.join(root, 'sync.log');
  fs.rmSync(log, { force: true });
  const dir = stubs(path.join(root, 'stub'), {
    sync: 'if [ -e "$SYNC_FINAL" ]; then w=after; else w=before; fi; printf "%s %s\\n" "$w" "$*" >>"$SYNC_LOG"',
  });
  return {
    env: { PATH: `${dir}:${process.env.PATH}`, SYNC_LOG: log, SYNC_FINAL: final },
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []),
  };
}
/** What `sync -- "$d"/* "$d"` prints for a backup directory holding the artifacts, manifest and marker. */
const flushOf = (d: string) =>
  `before -- ${['gitlab-main-etc.tar', 'gitlab-main.tail.tar', 'gitlab-main.tar.zst', 'manifest.json', 'postgres-globals.sql', 'verified'].map((f) => path.join(d, f)).join(' ')} ${d}`;

describe('kytes-offhost-copy to a path', () => {
  const copy = (...p: string[]) => path.join(offHost, ID, ...p);
  const done = () => `kytes-offhost-copy: copied ${ID} to ${offHost}/${ID} and verified it there\n`;

  it('copies a verified backup, verifies it there, flushes it, then renames it; owner-only', () => {
    writeBackup(backupDir, ID);
    const sync = recordingSync(copy());
    const r = runScript(bin, 'kytes-offhost-copy', [ID], sync.env);
    expect(r).toEqual({ status: 0, stdout: '', stderr: done() });
    expect(listing(offHost)).toEqual([ID]);
    expect(sums(copy())).toEqual(sums(local()));
    expect(read(copy('verified')).manifestSha256).toBe(sha256(local('manifest.json')));
    expect(modeOf(copy())).toBe('700');
    expect(sync.calls()).toEqual([flushOf(path.join(offHost, `.tmp-${ID}`)), `after -- ${offHost}`]);
  });

  it('makes the copy owner-only even when the local backup directory lost its mode', () => {
    writeBackup(backupDir, ID);
    fs.chmodSync(local(), 0o755);
    expect(runScript(bin, 'kytes-offhost-copy', [ID])).toEqual({ status: 0, stdout: '', stderr: done() });
    expect(modeOf(copy())).toBe('700');
  });

  it('with a corrupting cp first on PATH: refuses the copy and never marks it verified', () => {
    writeBackup(backupDir, ID);
    const before = sums(local());
    // The real cp, then one byte of the copied archive flipped (same size).
    const dir = stubs(path.join(root, 'stub'), {
      cp: [
        'PATH=${PATH#*:} cp "$@" || exit',
        'f="${!#}/gitlab-main.tar.zst"',
        'b=$(od -An -tu1 -j 100 -N 1 "$f" | tr -d " ")',
        'printf "\\\\$(printf %o $((b ^ 255)))" | dd of="$f" bs=1 seek=100 count=1 conv=notrunc status=none',
      ].join('\n'),
    });
    const r = runScript(bin, 'kytes-offhost-copy', [ID], { PATH: `${dir}:${process.env.PATH}` });
    expect(r).toEqual({
      status: 1,
      stdout: '',
      stderr: `kytes-offhost-copy: error: the copy in ${offHost} does not verify: gitlab-main.tar.zst: sha256 differs from the manifest (altered); the local backup ${ID} is unaffected and no verified copy was made (a partial one is replaced by the next copy)\n`,
    });
    expect(listing(offHost)).toEqual([`.tmp-${ID}`]);
    expect(listing(path.join(offHost, `.tmp-${ID}`))).not.toContain('verified');
    expect(sums(local())).toEqual(before);
    expect(fs.existsSync(local('verified'))).toBe(true);
  });

  it('refuses a backup that is not verified', () => {
    writeBackup(backupDir, ID, false);
    expect(runScript(bin, 'kytes-offhost-copy', [ID])).toEqual({
      status: 1,
      stdout: '',
      stderr: `kytes-offhost-copy: error: backup ${ID} is not verified; run kytes-verify ${ID} first; the local backup ${ID} is unaffected and no verified copy was made (a partial one is replaced by the next copy)\n`,
    });
    expect(listing(offHost)).toEqual([]);
  });

  it('keeps a copy already there that verifies, and replaces one that does not', () => {
    writeBackup(backupDir, ID);
    expect(runScript(bin, 'kytes-offhost-copy', [ID]).status).toBe(0);
    expect(runScript(bin, 'kytes-offhost-copy', [ID])).toEqual({
      status: 0,
      stdout: '',
      stderr: `kytes-offhost-copy: ${offHost}/${ID} already holds a verified copy\n`,
    });
    flipByte(copy('gitlab-main.tail.tar'));
    expect(runScript(bin, 'kytes-offhost-copy', [ID])).toEqual({
      status: 0,
      stdout: '',
      stderr:
        `kytes-offhost-copy: the copy at ${offHost}/${ID} does not verify (gitlab-main.tail.tar: sha256 differs from the manifest (altered)); replacing it\n` +
        done(),
    });
    expect(listing(offHost)).toEqual([ID]);
    expect(sums(copy())).toEqual(sums(local()));
  });
});

describe('kytes-offhost-fetch from a path', () => {
  const remote = (...p: string[]) => path.join(offHost, ID, ...p);

  it('fetches a copy, verifies it, flushes it, then renames it; owner-only even when the copy is not', () => {
    writeBackup(offHost, ID, false);
    fs.chmodSync(remote(), 0o755);
    const sync = recordingSync(local());
    const r = runScript(bin, 'kytes-offhost-fetch', [ID], sync.env);
    expect(r).toEqual({
      status: 0,
      stdout: '',
      stderr: `kytes-offhost-fetch: fetching ${ID} from ${offHost}/${ID}\nkytes-offhost-fetch: fetched ${ID} into ${backupDir}/${ID} and verified it; restore it with kytes-restore ${ID}\n`,
    });
    expect(sums(local())).toEqual(sums(remote()));
    expect(read(local('verified')).manifestSha256).toBe(sha256(local('manifest.json')));
    expect(modeOf(local())).toBe('700');
    expect(sync.calls()).toEqual([flushOf(path.join(backupDir, `.tmp-${ID}`)), `after -- ${backupDir}`]);
  });

  it('refuses a damaged copy and leaves nothing in the backup directory', () => {
    writeBackup(offHost, ID);
    fs.truncateSync(remote('gitlab-main.tar.zst'), 10);
    expect(runScript(bin, 'kytes-offhost-fetch', [ID])).toEqual({
      status: 1,
      stdout: '',
      stderr: `kytes-offhost-fetch: fetching ${ID} from ${offHost}/${ID}\nkytes-offhost-fetch: error: the copy of ${ID} fetched from ${offHost} does not verify: gitlab-main.tar.zst: 10 bytes, the manifest says 4000 (truncated or altered); nothing was written to ${backupDir}\n`,
    });
    expect(listing(backupDir).filter((n) => n !== '.lock' && n !== 'invocations.jsonl')).toEqual([]);
  });

  it('refuses to fetch over a backup already there', () => {
    writeBackup(offHost, ID);
    writeBackup(backupDir, ID, false);
    flipByte(local('postgres-globals.sql'));
    const before = sums(local());
    expect(runScript(bin, 'kytes-offhost-fetch', [ID])).toEqual({
      status: 1,
      stdout: '',
      stderr: `kytes-offhost-fetch: error: ${backupDir}/${ID} already exists (run kytes-verify ${ID} to check it); nothing was written to ${backupDir}\n`,
    });
    expect(sums(local())).toEqual(before);
  });
});
