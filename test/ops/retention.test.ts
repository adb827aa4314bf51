import { spawnSync } from 'child_process';
import * as fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import { BackupEntry, isoWeekOf, RetentionPolicy, selectRetention } from '../../ops/retention';
import { installScripts, OPTIONS, removeDir, runScript, tempDir, topologyFor } from './fixture';

/** Backup ids over ~10 weeks around a year end (ISO week 53 of 2026, week 1 of 2027), some labelled. */
const idArb = fc
  .tuple(
    fc.integer({ min: 0, max: 70 * 24 - 1 }),
    fc.integer({ min: 0, max: 3599 }),
    fc.constantFrom('', '', '', '-manual', '-predestroy', '-2'),
  )
  .map(([hours, secs, label]) => {
    const t = new Date(Date.UTC(2026, 10, 20) + hours * 3_600_000 + secs * 1000);
    return (
      t
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '') + label
    );
  });
const entriesArb = fc.uniqueArray(fc.record({ id: idArb, verified: fc.boolean() }), {
  selector: (e) => e.id,
  maxLength: 40,
});
const policyArb = fc.record({
  keepLast: fc.integer({ min: 0, max: 8 }),
  keepDaily: fc.integer({ min: 0, max: 10 }),
  keepWeekly: fc.integer({ min: 0, max: 6 }),
});

describe('retention selection (ops/retention.ts)', () => {
  it('keeps the newest N verified, the newest per day and per ISO week, never an unverified one', () => {
    const entries: BackupEntry[] = [
      { id: '20261231T230000Z', verified: false },
      { id: '20261231T220000Z', verified: true },
      { id: '20261231T040000Z', verified: true },
      { id: '20261230T040000Z-manual', verified: true },
      { id: '20261230T040000Z', verified: true },
      { id: '20261228T040000Z', verified: true },
      { id: '20261227T040000Z', verified: true },
      { id: '20261220T040000Z', verified: true },
      { id: '20261201T040000Z', verified: true },
      { id: 'not-a-backup', verified: true },
    ];
    expect(selectRetention(entries, { keepLast: 2, keepDaily: 3, keepWeekly: 3 })).toEqual({
      keep: [
        '20261231T220000Z',
        '20261231T040000Z',
        '20261230T040000Z-manual',
        '20261228T040000Z',
        '20261227T040000Z',
        '20261220T040000Z',
      ],
      remove: ['20261231T230000Z', '20261230T040000Z', '20261201T040000Z'],
    });
  });

  it('orders its answer newest first whatever the order it is given (ids are unique: no tie to break)', () => {
    const ids = ['20261201T010000Z', '20261203T010000Z-manual', '20261202T010000Z', '20261204T010000Z'];
    const expected = {
      keep: ['20261204T010000Z', '20261203T010000Z-manual'],
      remove: ['20261202T010000Z', '20261201T010000Z'],
    };
    const policy = { keepLast: 2, keepDaily: 0, keepWeekly: 0 };
    for (const order of [ids, [...ids].reverse(), [ids[2], ids[0], ids[3], ids[1]]]) {
      expect(
        selectRetention(
          order.map((id) => ({ id, verified: true })),
          policy,
        ),
      ).toEqual(expected);
    }
  });

  it('keeps the newest verified backup even with keep-last 0 and nothing else', () => {
    expect(
      selectRetention(
        [
          { id: '20261231T230000Z', verified: false },
          { id: '20261230T230000Z', verified: true },
          { id: '20261229T230000Z', verified: true },
        ],
        { keepLast: 0, keepDaily: 0, keepWeekly: 0 },
      ),
    ).toEqual({ keep: ['20261230T230000Z'], remove: ['20261231T230000Z', '20261229T230000Z'] });
  });

  it('names ISO weeks as date +%G-W%V does, across year ends', () => {
    expect(
      ['20261231T000000Z', '20270103T000000Z', '20270104T000000Z', '20251229T000000Z', '20210101T000000Z'].map(
        isoWeekOf,
      ),
    ).toEqual(['2026-W53', '2026-W53', '2027-W01', '2026-W01', '2020-W53']);
    const days = fc.sample(fc.integer({ min: 0, max: 365 * 30 }), { numRuns: 400, seed: 7 });
    const ids = days.map((d) => new Date(Date.UTC(2010, 0, 1) + d * 86_400_000).toISOString().slice(0, 10));
    const r = spawnSync('date', ['-u', '-f', '-', '+%G-W%V'], { input: ids.join('\n') + '\n', encoding: 'utf8' });
    expect(ids.map((d) => isoWeekOf(d.replace(/-/g, '')))).toEqual(r.stdout.trim().split('\n'));
  });

  it('properties: the newest verified is kept, keep ⊆ verified input, keep ∪ remove = input, idempotent', () => {
    fc.assert(
      fc.property(entriesArb, policyArb, (entries, policy) => {
        const { keep, remove } = selectRetention(entries, policy);
        const verified = entries
          .filter((e) => e.verified)
          .map((e) => e.id)
          .sort()
          .reverse();
        if (verified.length > 0) expect(keep).toContain(verified[0]);
        expect(keep.every((id) => verified.includes(id))).toBe(true);
        expect([...keep, ...remove].sort()).toEqual(entries.map((e) => e.id).sort());
        expect(keep.filter((id) => remove.includes(id))).toEqual([]);
        expect(keep.length).toBeGreaterThanOrEqual(Math.min(verified.length, Math.max(1, policy.keepLast)));
        const again = selectRetention(
          keep.map((id) => ({ id, verified: true })),
          policy,
        );
        expect(again).toEqual({ keep, remove: [] });
      }),
      { numRuns: 500, seed: 4 },
    );
  });
});

describe('kytes-prune (bash) selects exactly what ops/retention.ts selects', () => {
  let root: string;
  let backupDir: string;
  let bin: string;
  beforeAll(() => {
    root = tempDir('prune');
    backupDir = path.join(root, 'backups');
    bin = path.join(root, 'bin');
    installScripts(topologyFor({ backup: { dir: backupDir } }), OPTIONS, bin);
  });
  afterAll(() => removeDir(root));

  /** Lays out a fake backup dir: one directory per id, a `verified` marker on verified ones. */
  function layout(entries: readonly BackupEntry[], stale: readonly string[] = []): void {
    fs.rmSync(backupDir, { recursive: true, force: true });
    fs.mkdirSync(backupDir, { recursive: true });
    for (const e of entries) {
      fs.mkdirSync(path.join(backupDir, e.id));
      if (e.verified) fs.writeFileSync(path.join(backupDir, e.id, 'verified'), '{}');
    }
    for (const s of stale) fs.mkdirSync(path.join(backupDir, `.tmp-${s}`));
  }
  function prune(policy: RetentionPolicy, dryRun: boolean): string[] {
    const args = [
      '--keep-last',
      String(policy.keepLast),
      '--keep-daily',
      String(policy.keepDaily),
      '--keep-weekly',
      String(policy.keepWeekly),
    ];
    const r = runScript(bin, 'kytes-prune', dryRun ? ['--dry-run', ...args] : args);
    expect({ status: r.status, stderr: r.stderr.replace(/^kytes-prune: removed incomplete .*\n/gm, '') }).toEqual({
      status: 0,
      stderr: '',
    });
    return r.stdout.split('\n').filter((l) => l.length > 0);
  }

  it('on random backup lists (dry run): the same keep and delete decisions', () => {
    fc.assert(
      fc.property(entriesArb, policyArb, (entries, policy) => {
        layout(entries);
        const expected = selectRetention(entries, policy);
        const lines = prune(policy, true);
        const all = [...expected.keep, ...expected.remove].sort().reverse();
        expect(lines).toEqual(all.map((id) => `${expected.keep.includes(id) ? 'keep' : 'delete'} ${id}`));
      }),
      { numRuns: 120, seed: 11 },
    );
  });

  it('for real: deletes exactly the others and stale .tmp-* directories, and a second run deletes nothing', () => {
    fc.assert(
      fc.property(entriesArb, policyArb, (entries, policy) => {
        layout(entries, ['20261122T040000Z']);
        const expected = selectRetention(entries, policy);
        prune(policy, false);
        expect(
          fs
            .readdirSync(backupDir)
            .filter((n) => n !== '.lock' && n !== 'invocations.jsonl')
            .sort(),
        ).toEqual([...expected.keep].sort());
        expect(prune(policy, false)).toEqual(expected.keep.map((id) => `keep ${id}`));
      }),
      { numRuns: 25, seed: 12 },
    );
  });

  it('logs one invocation line per run, with its arguments', () => {
    layout([{ id: '20261122T040000Z', verified: true }]);
    prune({ keepLast: 1, keepDaily: 0, keepWeekly: 0 }, true);
    const lines = fs.readFileSync(path.join(backupDir, 'invocations.jsonl'), 'utf8').trim().split('\n');
    const last = JSON.parse(lines[lines.length - 1]);
    expect({
      operation: last.operation,
      arguments: last.arguments,
      result: last.result,
      stack: last.stack,
      commit: last.commit,
    }).toEqual({
      operation: 'kytes-prune',
      arguments: ['--dry-run', '--keep-last', '1', '--keep-daily', '0', '--keep-weekly', '0'],
      result: 'ok',
      stack: 'unit',
      commit: '0123abc',
    });
  });
});
