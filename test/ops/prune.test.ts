import * as fs from 'fs';
import * as path from 'path';
import { BackupEntry, RetentionPolicy, selectRetention } from '../../ops/retention';
import { listing } from './disk';
import { installScripts, OPTIONS, removeDir, runScript, tempDir, topologyFor } from './fixture';

/**
 * kytes-prune at its boundaries, run for real with bash on backup directories laid out on disk: what it
 * prints and what is left. Each case is also checked against ops/retention.ts, whose agreement with bash on
 * random lists test/ops/retention.test.ts proves; these pin the edges a random list may miss.
 */
let root: string;
let bin: string;
let backupDir: string;
beforeAll(() => {
  root = tempDir('prune-edges');
  bin = path.join(root, 'bin');
  backupDir = path.join(root, 'backups');
  installScripts(topologyFor({ backup: { dir: backupDir } }), OPTIONS, bin);
});
afterAll(() => removeDir(root));

/** One directory per id (`!` at the end: not verified), plus other names; replaces the backup directory. */
function layout(ids: readonly string[], others: readonly string[] = []): BackupEntry[] {
  removeDir(backupDir);
  fs.mkdirSync(backupDir, { mode: 0o700 });
  const entries = ids.map((s) => ({ id: s.replace(/!$/, ''), verified: !s.endsWith('!') }));
  for (const e of entries) {
    fs.mkdirSync(path.join(backupDir, e.id));
    fs.writeFileSync(path.join(backupDir, e.id, 'manifest.json'), '{}');
    if (e.verified) fs.writeFileSync(path.join(backupDir, e.id, 'verified'), '{}');
  }
  for (const o of others) fs.mkdirSync(path.join(backupDir, o));
  return entries;
}
const left = () => listing(backupDir).filter((n) => n !== '.lock' && n !== 'invocations.jsonl');

function prune(p: RetentionPolicy, ...extra: string[]) {
  const args = ['--keep-last', p.keepLast, '--keep-daily', p.keepDaily, '--keep-weekly', p.keepWeekly].map(String);
  return runScript(bin, 'kytes-prune', [...extra, ...args]);
}
/** The lines kytes-prune prints for a decision: every backup newest first, `keep` or `delete`. */
const lines = (keep: readonly string[], all: readonly string[]) =>
  [...all]
    .sort()
    .reverse()
    .map((id) => `${keep.includes(id) ? 'keep' : 'delete'} ${id}\n`)
    .join('');

/** Runs kytes-prune for real and checks its output, what is left, and that ops/retention.ts decides the same. */
function expectPrune(entries: BackupEntry[], p: RetentionPolicy, keep: string[]): void {
  const all = entries.map((e) => e.id);
  expect(selectRetention(entries, p).keep).toEqual(keep);
  expect(prune(p)).toEqual({ status: 0, stdout: lines(keep, all), stderr: '' });
  expect(left()).toEqual([...keep].sort());
}

describe('kytes-prune at the boundaries', () => {
  it('--keep-last 0 --keep-daily 0 --keep-weekly 0 keeps the newest verified backup: never deletes every backup', () => {
    const entries = layout(['20261231T230000Z!', '20261230T230000Z', '20261229T230000Z', '20261201T040000Z']);
    expectPrune(entries, { keepLast: 0, keepDaily: 0, keepWeekly: 0 }, ['20261230T230000Z']);
    // Again, with one backup left: it stays.
    expect(prune({ keepLast: 0, keepDaily: 0, keepWeekly: 0 }).stdout).toBe('keep 20261230T230000Z\n');
    expect(left()).toEqual(['20261230T230000Z']);
  });

  it('equal timestamps: a labelled id counts as newer than the plain one, labels in byte order', () => {
    const ids = ['20261122T040000Z', '20261122T040000Z-manual', '20261122T040000Z-predestroy', '20261121T040000Z'];
    expectPrune(layout(ids), { keepLast: 1, keepDaily: 0, keepWeekly: 0 }, ['20261122T040000Z-predestroy']);
    expectPrune(layout(ids), { keepLast: 2, keepDaily: 0, keepWeekly: 0 }, [
      '20261122T040000Z-predestroy',
      '20261122T040000Z-manual',
    ]);
    // One day: the three at the same second are one day, whose newest is the labelled one.
    expectPrune(layout(ids), { keepLast: 1, keepDaily: 2, keepWeekly: 0 }, [
      '20261122T040000Z-predestroy',
      '20261121T040000Z',
    ]);
  });

  it('equal timestamps where the labelled backups are not verified: the plain one is the newest kept', () => {
    const entries = layout(['20261122T040000Z', '20261122T040000Z-manual!', '20261122T040000Z-predestroy!']);
    expectPrune(entries, { keepLast: 0, keepDaily: 0, keepWeekly: 0 }, ['20261122T040000Z']);
  });

  it('--keep-last N keeps exactly the N newest verified, an unverified one never counting', () => {
    const entries = layout([
      '20261122T050000Z!',
      '20261122T040000Z',
      '20261122T030000Z',
      '20261122T020000Z',
      '20261122T010000Z',
    ]);
    expectPrune(entries, { keepLast: 2, keepDaily: 0, keepWeekly: 0 }, ['20261122T040000Z', '20261122T030000Z']);
  });

  it('--keep-daily D keeps the newest of each of the D most recent days that have one', () => {
    const entries = layout([
      '20261124T120000Z',
      '20261124T040000Z',
      '20261122T120000Z',
      '20261122T040000Z',
      '20261121T120000Z',
    ]);
    expectPrune(entries, { keepLast: 1, keepDaily: 2, keepWeekly: 0 }, ['20261124T120000Z', '20261122T120000Z']);
  });

  it('--keep-weekly W counts ISO weeks across a year end (2027-01-03 is in 2026-W53)', () => {
    const entries = layout([
      '20270104T040000Z', // Monday, 2027-W01
      '20270103T040000Z', // Sunday, 2026-W53
      '20261231T040000Z', // Thursday, 2026-W53
      '20261227T040000Z', // Sunday, 2026-W52
      '20261220T040000Z', // Sunday, 2026-W51: a fourth week, not kept
    ]);
    expectPrune(entries, { keepLast: 1, keepDaily: 0, keepWeekly: 3 }, [
      '20270104T040000Z',
      '20270103T040000Z',
      '20261227T040000Z',
    ]);
  });

  it('--dry-run prints the same decisions and deletes nothing, stale .tmp-* included', () => {
    const ids = layout(['20261122T040000Z', '20261121T040000Z', '20261120T040000Z!'], ['.tmp-20261123T040000Z']).map(
      (e) => e.id,
    );
    const r = prune({ keepLast: 1, keepDaily: 0, keepWeekly: 0 }, '--dry-run');
    expect(r).toEqual({ status: 0, stdout: `stale .tmp-20261123T040000Z\n${lines([ids[0]], ids)}`, stderr: '' });
    expect(left()).toEqual(['.tmp-20261123T040000Z', ...ids].sort());
  });

  it('deletes stale .tmp-* directories and leaves directories that are not backups alone', () => {
    layout(['20261122T040000Z', '20261121T040000Z'], ['.tmp-20261123T040000Z', 'lost+found', '20261122T040000Z.old']);
    expect(prune({ keepLast: 1, keepDaily: 0, keepWeekly: 0 })).toEqual({
      status: 0,
      stdout: 'keep 20261122T040000Z\ndelete 20261121T040000Z\n',
      stderr: 'kytes-prune: removed incomplete .tmp-20261123T040000Z\n',
    });
    expect(left()).toEqual(['20261122T040000Z', '20261122T040000Z.old', 'lost+found']);
  });

  it('reads counts with a leading zero as decimal (--keep-last 08 is 8)', () => {
    const ids = Array.from({ length: 10 }, (_, i) => `202611${String(10 + i)}T040000Z`);
    layout(ids);
    const r = runScript(bin, 'kytes-prune', ['--keep-last', '08', '--keep-daily', '0', '--keep-weekly', '00']);
    expect(r).toEqual({ status: 0, stdout: lines(ids.slice(2), ids), stderr: '' });
  });
});
