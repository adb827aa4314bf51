import * as fs from 'fs';
import * as path from 'path';
import { ARTIFACTS, flipByte, listing, modeOf, sha256, stubs, writeBackup } from './disk';
import { installScripts, OPTIONS, removeDir, runScript, tempDir, topologyFor } from './fixture';

/**
 * What kytes-verify and kytes-restore's first check decide about a backup directory, run for real with
 * bash on backups built on disk: no Docker engine (kytes-restore gets a stand-in `docker` that answers only
 * `docker version`). Every damaged backup is refused with status 1 and a message naming the file and the
 * problem. test/mutants/ removes each guarded line in turn and requires these tests to fail; the off-host
 * copy and fetch are in offhost.test.ts.
 */
const ID = '20261122T040000Z';
const OTHER = '20261121T040000Z-manual';

let root: string;
let bin: string;
let backupDir: string;
beforeAll(() => {
  root = tempDir('verify');
  bin = path.join(root, 'bin');
  backupDir = path.join(root, 'backups');
  installScripts(topologyFor({ backup: { dir: backupDir } }), OPTIONS, bin);
});
afterAll(() => removeDir(root));
beforeEach(() => {
  for (const d of [backupDir, path.join(root, 'elsewhere'), path.join(root, 'stub')]) removeDir(d);
  fs.mkdirSync(backupDir, { mode: 0o700 });
});

const local = (...p: string[]) => path.join(backupDir, ID, ...p);
const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

describe('kytes-verify', () => {
  beforeEach(() => {
    writeBackup(backupDir, ID);
    writeBackup(backupDir, OTHER);
  });
  const failure = (problems: string) =>
    `kytes-verify: error: backup ${ID} does not verify: ${problems}; backup ${ID} is now marked as failing verification (kytes-backups shows it); nothing else was changed\n`;

  it('verifies a backup as kytes-backup writes it and records the manifest it verified', () => {
    fs.rmSync(local('verified'));
    fs.writeFileSync(local('verify-failed'), '{}');
    const r = runScript(bin, 'kytes-verify', [ID]);
    expect(r).toEqual({
      status: 0,
      stdout: '',
      stderr: `kytes-verify: backup ${ID} verified: manifest valid, 4 artifacts match their checksums\n`,
    });
    expect(read(local('verified'))).toEqual({
      verifiedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      manifestSha256: sha256(local('manifest.json')),
    });
    expect(listing(local())).toEqual([...ARTIFACTS, 'manifest.json', 'verified'].sort());
  });

  const CASES: [string, () => void, string][] = [
    [
      'a byte flipped, same size',
      () => flipByte(local('gitlab-main.tar.zst')),
      'gitlab-main.tar.zst: sha256 differs from the manifest (altered)',
    ],
    [
      'a truncated artifact',
      () => fs.truncateSync(local('gitlab-main-etc.tar'), 5900),
      'gitlab-main-etc.tar: 5900 bytes, the manifest says 6000 (truncated or altered)',
    ],
    ['a missing artifact', () => fs.rmSync(local('postgres-globals.sql')), 'postgres-globals.sql: missing'],
    [
      'an artifact replaced by a symlink to an identical file elsewhere',
      () => {
        fs.mkdirSync(path.join(root, 'elsewhere'));
        fs.renameSync(local('gitlab-main-etc.tar'), path.join(root, 'elsewhere', 'gitlab-main-etc.tar'));
        fs.symlinkSync(path.join(root, 'elsewhere', 'gitlab-main-etc.tar'), local('gitlab-main-etc.tar'));
      },
      'gitlab-main-etc.tar: missing',
    ],
    [
      "another backup's manifest copied in",
      () => fs.copyFileSync(path.join(backupDir, OTHER, 'manifest.json'), local('manifest.json')),
      `manifest.json: id ${OTHER}, but the backup is ${ID}`,
    ],
    ['the manifest missing', () => fs.rmSync(local('manifest.json')), 'manifest.json: missing'],
    [
      'a manifest that is not JSON',
      () => fs.writeFileSync(local('manifest.json'), '{"format": "kytes-backup", '),
      'manifest.json: not valid JSON',
    ],
    [
      'a manifest of an unknown format version',
      () =>
        fs.writeFileSync(local('manifest.json'), JSON.stringify({ ...read(local('manifest.json')), formatVersion: 3 })),
      'formatVersion: must be 1 or 2, the formats this Kytes reads',
    ],
    [
      'two artifacts damaged: both named, in manifest order',
      () => {
        flipByte(local('gitlab-main.tar.zst'));
        fs.rmSync(local('gitlab-main.tail.tar'));
      },
      'gitlab-main.tar.zst: sha256 differs from the manifest (altered); gitlab-main.tail.tar: missing',
    ],
  ];

  it.each(CASES)('refuses %s, naming it, and takes back its verified mark', (_name, spoil, problems) => {
    spoil();
    const r = runScript(bin, 'kytes-verify', [ID]);
    expect(r).toEqual({ status: 1, stdout: '', stderr: failure(problems) });
    expect(fs.existsSync(local('verified'))).toBe(false);
    expect(read(local('verify-failed'))).toEqual({ failedAt: expect.any(String), problems: problems.split('; ') });
    // The other backup is untouched.
    expect(fs.existsSync(path.join(backupDir, OTHER, 'verified'))).toBe(true);
  });

  it.each(['20261122T040000Z/..', '20261122T040000Z-x/../../etc'])(
    'takes %j for no backup id (usage, exit 2)',
    (id) => {
      expect(runScript(bin, 'kytes-verify', [id]).status).toBe(2);
    },
  );

  it('makes the backup directory owner-only again (0700: it holds gitlab-secrets.json) when it is not', () => {
    fs.chmodSync(backupDir, 0o755);
    expect(runScript(bin, 'kytes-verify', [ID]).status).toBe(0);
    expect(modeOf(backupDir)).toBe('700');
  });
});

describe('kytes-restore checks the backup before anything else', () => {
  it('refuses a damaged backup, marks it failed, and asks Docker nothing but its version', () => {
    writeBackup(backupDir, ID);
    flipByte(local('gitlab-main.tail.tar'));
    const calls = path.join(root, 'docker.log');
    fs.rmSync(calls, { force: true });
    const dir = stubs(path.join(root, 'stub'), {
      docker: `printf '%s\\n' "$*" >>${JSON.stringify(calls)}; if [ "$1" = version ]; then echo 27.5.1; exit 0; fi; exit 1`,
    });
    const r = runScript(bin, 'kytes-restore', [ID, '--yes'], { PATH: `${dir}:${process.env.PATH}` });
    expect(r).toEqual({
      status: 1,
      stdout: '',
      stderr: `kytes-restore: error: refusing to restore ${ID}: the backup does not verify: gitlab-main.tail.tar: sha256 differs from the manifest (altered); nothing was changed\n`,
    });
    expect(fs.readFileSync(calls, 'utf8')).toBe('version --format {{.Server.Version}}\n');
    expect(fs.existsSync(local('verified'))).toBe(false);
    expect(read(local('verify-failed')).problems).toEqual([
      'gitlab-main.tail.tar: sha256 differs from the manifest (altered)',
    ]);
  });
});
