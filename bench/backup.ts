/**
 * `npm run bench:backup`: backs up and restores one PostgreSQL database of at least 1 GB, in one run,
 * on the local Docker engine, for two contents of that database: pgbench's (`pgbench -i -s 72`, whose
 * blank-padded rows compress ~50:1, so pg_dump's own compression is nearly free) and ~1.1 GB of md5 hex
 * text (compresses ~2:1, so compression dominates, as it does for real data). For each, it times:
 *
 *  (a)  Kytes: the real rendered `kytes-backup --no-offhost --no-prune` on a stack whose GitLab is the
 *       test stand-in (test/integration/ops/fake: `gitlab-backup` that dumps the real PostgreSQL over the
 *       stack network and honours COMPRESS_CMD and SKIP=tar as GitLab does): GitLab's step, then Kytes'
 *       packing + zstd on the host, /etc/gitlab, roles, checksums, manifest, verification, fsync, rename.
 *  (a0) GitLab's step alone, exactly as (a) runs it (`COMPRESS_CMD=tee gitlab-backup create … SKIP=tar`):
 *       what is left of (a) once Kytes' part is taken away, so (a) / (a0) is Kytes' overhead.
 *  (a1) (a0) plus packing and compressing the files it left with the same tar and zstd commands as (a):
 *       the compression GitLab's own gzip would do, moved to the host; (a) / (a1) is Kytes' bookkeeping.
 *  (g)  GitLab's step with GitLab's defaults (`gitlab-backup create`: gzip -1 inside, tar): for reference.
 *  (b)  raw `pg_dump -Fc` of the same database, inside the PostgreSQL container.
 *  (r)  Kytes' restore of the backup of (a): the real `kytes-restore` (checks and checksums, /etc/gitlab,
 *       reconfigure, stop, decompress into GitLab's backup directory, `gitlab-backup restore` with
 *       DECOMPRESS_CMD=tee, restart, health, gitlab:check).
 *  (p1) raw `pg_restore` of the dump of (b) into an empty database (single job), and (p2) with `-j 2`.
 *  dedup: the backups of two runs of (a) (the same data) copied with `kytes-offhost-copy` into a restic
 *       repository (`restic:` off-host): bytes the second added, as a share of the first backup's size.
 *
 * The machine is shared (2 cores, other work running): every figure is compared only with baselines
 * measured in the same run, interleaved round by round, and the best of KYTES_BENCH_RUNS rounds
 * (default 2) counts. GitLab keeps serving during (a): the bench polls its health throughout.
 * Everything it creates (containers, volumes, network, images, files) is removed at the end.
 * Env: KYTES_BENCH_SCALE (pgbench scale, default 72 ≈ 1.1 GB), KYTES_BENCH_ROWS (rows of md5 text,
 * default 5,000,000 ≈ 1.1 GB), KYTES_BENCH_RUNS (default 2), KYTES_BENCH_DIR (default /var/tmp).
 * Needs root (the restic password file goes to /etc/kytes/<prefix>/), zstd and restic on this host.
 * The last line of the output is one JSON object holding every figure.
 */
import { spawn, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { configSchema } from '../lib/config';
import { deriveTopology } from '../lib/topology';
import { installResticPasswordScript } from '../ops/backupOps';
import { renderOpsScripts } from '../ops/scripts';
import { docker, execIn, IMAGES, requireImages, Sandbox } from '../test/integration/helpers/docker';
import {
  buildFakeImages,
  FakeImages,
  psql,
  removeFakeImages,
  runOps,
  startFakeStack,
} from '../test/integration/ops/fake-stack';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const scale = Number(process.env.KYTES_BENCH_SCALE ?? 72);
const textRows = Number(process.env.KYTES_BENCH_ROWS ?? 5_000_000);
const rounds = Number(process.env.KYTES_BENCH_RUNS ?? 2);
const hex = randomBytes(3).toString('hex');

/** The issue's targets (issue 11), each as "ratio at most". */
const TARGETS = { backupVsPgDumpFc: 1.0, restoreVsPgRestore1: 1.2, overheadVsGitlabStep: 1.05, dedupShare: 0.05 };

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/** Runs a host shell command (for redirections to host files); throws with its stderr on failure. */
function sh(command: string): void {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', command], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`${command} failed (${r.status}): ${r.stderr}`);
}

function timed(what: string, fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  const s = seconds(t0);
  console.error(`  ${what}: ${s.toFixed(1)} s`);
  return s;
}

async function timedAsync(what: string, fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  const s = seconds(t0);
  console.error(`  ${what}: ${s.toFixed(1)} s`);
  return s;
}

/** The container's health status; its own process with stdin closed (polled several times a second). */
function healthOf(container: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('docker', ['inspect', '-f', '{{.State.Health.Status}}', container], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', () => resolve(out.trim()));
  });
}

function du(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? du(p) : fs.statSync(p).size;
  }
  return total;
}

interface Runs {
  best: number;
  runs: number[];
}
const runsOf = (xs: number[]): Runs => ({ best: Math.min(...xs), runs: xs });

interface DatasetResult {
  name: string;
  dbBytes: number;
  kytesBackup: Runs;
  gitlabStep: Runs;
  gitlabStepCompressed: Runs;
  gitlabDefault: Runs;
  pgDumpFc: Runs;
  kytesRestore: Runs;
  pgRestore1: Runs;
  pgRestore2: Runs;
  kytesBackupBytes: number;
  pgDumpFcBytes: number;
  dedupFirstBytes: number;
  dedupAddedBytes: number;
  gitlabUnhealthyPolls: number;
  gitlabPolls: number;
}

async function main(): Promise<void> {
  await requireImages([IMAGES.base, IMAGES.postgres]);
  for (const tool of ['zstd', 'restic'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`bench:backup needs ${tool} on this host (apt-get install ${tool})`);
  const root = fs.mkdtempSync(path.join(process.env.KYTES_BENCH_DIR ?? '/var/tmp', 'kytes-bench-'));
  const sandbox = new Sandbox();
  let images: FakeImages | undefined;
  const backups = path.join(root, 'backups');
  const repo = path.join(root, 'restic');
  const t = deriveTopology(
    configSchema.parse({
      prefix: `kytes-bench-${hex}`,
      rocketchat: { enabled: false },
      backup: { dir: backups, offHost: `restic:${repo}` },
    }),
    'bench',
  );
  try {
    images = await buildFakeImages(`bench-${hex}`);
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    const scripts = renderOpsScripts(t, {
      keepLast: 6,
      keepDaily: 7,
      keepWeekly: 4,
      offHost: `restic:${repo}`,
      projectCommit: 'bench',
      projectDirty: false,
    });
    for (const [name, content] of Object.entries(scripts))
      fs.writeFileSync(path.join(bin, name), content, { mode: 0o755 });
    const pw = spawnSync('bash', ['-c', installResticPasswordScript(t)], { input: randomBytes(24).toString('hex') });
    if (pw.status !== 0) throw new Error(`restic password file: ${pw.stderr}`);
    await startFakeStack(t, sandbox, images);
    const g = t.gitlab[0];
    const pg = t.postgres.container;
    const db = g.database.name;
    const env = { KYTES_HEALTH_TIMEOUT: '120' };
    await execIn(g.container, ['bash', '-c', 'echo "{}" >/etc/gitlab/gitlab-secrets.json']);

    const results: DatasetResult[] = [];
    console.error(`dataset 1: pgbench -i -s ${scale} (as GitLab's database user, over the stack network)`);
    await timedAsync('created', () =>
      docker(
        [
          'exec',
          g.container,
          'bash',
          '-c',
          `pgbench -i -q -s ${scale} -h "$FAKE_DB_HOST" -U "$FAKE_DB_USER" "$FAKE_DB_NAME"`,
        ],
        { timeoutMs: 1_800_000 },
      ),
    );
    results.push(await measure(`pgbench -s ${scale}`));

    console.error(`dataset 2: notes table of md5 hex text, ${textRows} rows`);
    await timedAsync('created', () =>
      docker(
        [
          'exec',
          '-i',
          g.container,
          'bash',
          '-c',
          'psql -h "$FAKE_DB_HOST" -U "$FAKE_DB_USER" -d "$FAKE_DB_NAME" -XAtq -v ON_ERROR_STOP=1',
        ],
        {
          stdin: `DROP TABLE pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers;
CREATE TABLE notes (id bigint PRIMARY KEY, project_id int NOT NULL, author_id int NOT NULL, created_at timestamptz NOT NULL, note text NOT NULL);
INSERT INTO notes SELECT i, i % 5000, i % 300, '2026-01-01'::timestamptz + i * interval '1 second',
  md5(i::text) || ' ' || md5((i * 7)::text) || ' ' || md5((i * 13)::text) || md5((i * 17)::text) || md5((i * 19)::text)
FROM generate_series(1, ${textRows}) i;
VACUUM ANALYZE notes;
`,
          timeoutMs: 1_800_000,
        },
      ),
    );
    results.push(await measure('md5 text'));

    report(results);

    /** Every measurement of one dataset, interleaved round by round; the best round counts. */
    async function measure(name: string): Promise<DatasetResult> {
      await psql(t, 'postgres', 'CHECKPOINT;\n');
      const dbBytes = Number((await psql(t, 'postgres', `SELECT pg_database_size('${db}');\n`)).trim());
      console.error(`  ${(dbBytes / GiB).toFixed(2)} GiB`);
      if (dbBytes < GiB)
        throw new Error(`database is ${dbBytes} bytes, under 1 GiB: raise KYTES_BENCH_SCALE / KYTES_BENCH_ROWS`);
      const before = await tableSums();
      const dump = path.join(root, 'raw.dump');
      const r: Record<string, number[]> = { a: [], a0: [], a1: [], g: [], b: [], r: [], p1: [], p2: [] };
      const staged = path.join(
        (await docker(['volume', 'inspect', '-f', '{{.Mountpoint}}', g.volumes.data.name])).trim(),
        'backups',
      );
      const ids: string[] = [];
      let polls = 0;
      let unhealthy = 0;
      for (let i = 1; i <= rounds; i++) {
        console.error(` round ${i}/${rounds}`);
        r.b.push(timed('(b) raw pg_dump -Fc', () => sh(`docker exec ${pg} pg_dump -Fc -U postgres ${db} >${dump}`)));
        // (a), with GitLab's health polled all along: a hot backup never takes it down.
        let polling = true;
        const poller = (async () => {
          while (polling) {
            const h = await healthOf(g.container);
            polls++;
            if (h !== 'healthy') unhealthy++;
            await new Promise((res) => setTimeout(res, 250));
          }
        })();
        const t0 = process.hrtime.bigint();
        const run = await runOps(bin, 'kytes-backup', ['--no-offhost', '--no-prune'], env);
        r.a.push(seconds(t0));
        polling = false;
        await poller;
        if (run.status !== 0) throw new Error(`kytes-backup failed: ${run.stderr}`);
        ids.push(run.stdout.trim().split('\n').pop() as string);
        console.error(`  (a) Kytes kytes-backup: ${r.a[r.a.length - 1].toFixed(1)} s`);
        r.a0.push(
          timed("(a0) GitLab's step as Kytes runs it", () =>
            sh(
              `docker exec -e COMPRESS_CMD=tee ${g.container} gitlab-backup create BACKUP=bench STRATEGY=copy SKIP=tar CRON=1`,
            ),
          ),
        );
        // (a1): the compression GitLab's gzip would otherwise do, as Kytes does it: the same tar and zstd
        // commands, on the files (a0) left, into a file on the same disk.
        r.a1.push(
          r.a0[r.a0.length - 1] +
            timed('(a1 - a0) packing + zstd of those files, as Kytes does', () =>
              sh(
                `cd ${staged} && tar -b1 --sort=name --mtime=@0 --numeric-owner -cf - db repositories.tar uploads.tar.gz | head -c -1024 | zstd -q -1 -T0 --rsyncable -c >${path.join(root, 'a1.tar.zst')}`,
              ),
            ),
        );
        fs.rmSync(path.join(root, 'a1.tar.zst'));
        sh(
          `docker exec -w /var/opt/gitlab/backups ${g.container} rm -rf backup_information.yml db uploads.tar.gz repositories.tar`,
        );
        r.g.push(
          timed("(g) GitLab's step with its defaults (gzip -1, tar)", () =>
            sh(`docker exec ${g.container} gitlab-backup create BACKUP=bench STRATEGY=copy CRON=1`),
          ),
        );
        sh(`docker exec ${g.container} rm -f /var/opt/gitlab/backups/bench_gitlab_backup.tar`);
        // Restores: Kytes' whole procedure, then raw pg_restore into an empty database.
        const t1 = process.hrtime.bigint();
        // --yes: no terminal here; no safety backup, which would be a second backup inside the timed restore.
        const restore = await runOps(bin, 'kytes-restore', [ids[ids.length - 1], '--yes', '--no-safety-backup'], env);
        r.r.push(seconds(t1));
        if (restore.status !== 0) throw new Error(`kytes-restore failed: ${restore.stderr}`);
        console.error(`  (r) Kytes kytes-restore: ${r.r[r.r.length - 1].toFixed(1)} s`);
        const sums = await tableSums();
        if (sums !== before) throw new Error('the database restored by kytes-restore differs from the original');
        sh(`docker cp ${dump} ${pg}:/tmp/raw.dump`);
        for (const [key, jobs] of [
          ['p1', 1],
          ['p2', 2],
        ] as const) {
          await psql(t, 'postgres', 'DROP DATABASE IF EXISTS bench_restore;\nCREATE DATABASE bench_restore;\n');
          r[key].push(
            timed(`(${key}) raw pg_restore -j ${jobs}`, () =>
              sh(`docker exec ${pg} pg_restore -U postgres -j ${jobs} --no-owner -d bench_restore /tmp/raw.dump`),
            ),
          );
        }
        await psql(t, 'postgres', 'DROP DATABASE bench_restore;\n');
        sh(`docker exec ${pg} rm -f /tmp/raw.dump`);
      }
      // Deduplication: the first two backups (same data) into the restic repository, one after the other.
      const first = ids[0];
      const firstBytes = du(path.join(backups, first)) - fs.statSync(path.join(backups, first, 'verified')).size;
      let afterFirst = 0;
      for (const id of ids.slice(0, 2)) {
        const copy = await runOps(bin, 'kytes-offhost-copy', [id], env);
        if (copy.status !== 0) throw new Error(`kytes-offhost-copy failed: ${copy.stderr}`);
        if (id === first) afterFirst = du(repo);
      }
      const added = du(repo) - afterFirst;
      const pgDumpFcBytes = fs.statSync(dump).size;
      const kytesBackupBytes = firstBytes;
      // Leave room for the next dataset.
      for (const id of ids) fs.rmSync(path.join(backups, id), { recursive: true, force: true });
      fs.rmSync(repo, { recursive: true, force: true });
      fs.rmSync(dump, { force: true });
      return {
        name,
        dbBytes,
        kytesBackup: runsOf(r.a),
        gitlabStep: runsOf(r.a0),
        gitlabStepCompressed: runsOf(r.a1),
        gitlabDefault: runsOf(r.g),
        pgDumpFc: runsOf(r.b),
        kytesRestore: runsOf(r.r),
        pgRestore1: runsOf(r.p1),
        pgRestore2: runsOf(r.p2),
        kytesBackupBytes,
        pgDumpFcBytes,
        dedupFirstBytes: firstBytes,
        dedupAddedBytes: rounds >= 2 ? added : NaN,
        gitlabUnhealthyPolls: unhealthy,
        gitlabPolls: polls,
      };
    }

    /** Row count and content hash of every table of GitLab's database, in one string. */
    async function tableSums(): Promise<string> {
      const tables = (
        await psql(t, db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename;\n")
      )
        .trim()
        .split('\n');
      const out: string[] = [];
      for (const table of tables)
        out.push(
          `${table} ${(await psql(t, db, `SELECT count(*) || ' ' || md5(string_agg(md5(x::text), '' ORDER BY x::text)) FROM "${table}" x;\n`)).trim()}`,
        );
      return out.join('\n');
    }
  } finally {
    await sandbox.cleanup();
    if (images) await removeFakeImages(images);
    fs.rmSync(path.dirname(t.ops.resticPasswordFile), { recursive: true, force: true });
    fs.rmSync(root, { recursive: true, force: true });
  }
}

function report(results: DatasetResult[]): void {
  const lines: string[] = [];
  const f = (x: number) => x.toFixed(1);
  const runs = (x: Runs) => `best ${f(x.best)} s  [runs ${x.runs.map(f).join(', ')}]`;
  const verdict = (x: number, max: number) => `${x.toFixed(2)} (target <= ${max}: ${x <= max ? 'met' : 'NOT met'})`;
  lines.push(
    `Each figure: the best of ${rounds} rounds; within a round every measurement runs once, interleaved, on the same data.`,
  );
  for (const r of results) {
    const dedup = r.dedupAddedBytes / r.dedupFirstBytes;
    lines.push(
      `dataset: ${r.name}, ${(r.dbBytes / GiB).toFixed(2)} GiB`,
      `  (a)  Kytes kytes-backup:                         ${runs(r.kytesBackup)}  ${(r.kytesBackupBytes / MiB).toFixed(0)} MiB; GitLab unhealthy in ${r.gitlabUnhealthyPolls} of ${r.gitlabPolls} polls`,
      `  (a0) GitLab's step as Kytes runs it:            ${runs(r.gitlabStep)}`,
      `  (a1) (a0) + packing and zstd of its files:      ${runs(r.gitlabStepCompressed)}`,
      `  (g)  GitLab's step with its defaults:           ${runs(r.gitlabDefault)}`,
      `  (b)  raw pg_dump -Fc:                           ${runs(r.pgDumpFc)}  ${(r.pgDumpFcBytes / MiB).toFixed(0)} MiB`,
      `  (r)  Kytes kytes-restore:                       ${runs(r.kytesRestore)}`,
      `  (p1) raw pg_restore -j 1:                       ${runs(r.pgRestore1)}`,
      `  (p2) raw pg_restore -j 2:                       ${runs(r.pgRestore2)}`,
      `  backup  Kytes / raw pg_dump -Fc       = ${verdict(r.kytesBackup.best / r.pgDumpFc.best, TARGETS.backupVsPgDumpFc)}`,
      `  backup  Kytes / GitLab's step (a0)    = ${verdict(r.kytesBackup.best / r.gitlabStep.best, TARGETS.overheadVsGitlabStep)}  (everything Kytes adds, compression included)`,
      `  backup  Kytes / (a0) + compression    = ${(r.kytesBackup.best / r.gitlabStepCompressed.best).toFixed(2)}  (Kytes' bookkeeping alone: /etc/gitlab, roles, manifest, verification, fsync)`,
      `  backup  Kytes / GitLab defaults (g)   = ${(r.kytesBackup.best / r.gitlabDefault.best).toFixed(2)}`,
      `  restore Kytes / raw pg_restore -j 1   = ${verdict(r.kytesRestore.best / r.pgRestore1.best, TARGETS.restoreVsPgRestore1)}`,
      `  restore Kytes / raw pg_restore -j 2   = ${(r.kytesRestore.best / r.pgRestore2.best).toFixed(2)}`,
      `  dedup   second backup of the same data added ${(r.dedupAddedBytes / MiB).toFixed(2)} MiB to the restic repository = ${(100 * dedup).toFixed(2)} % of the first (${(r.dedupFirstBytes / MiB).toFixed(1)} MiB) (target <= 5 %: ${dedup <= TARGETS.dedupShare ? 'met' : 'NOT met'})`,
      `  downtime during the backup: ${r.gitlabUnhealthyPolls === 0 ? '0 (GitLab healthy at every poll)' : `GitLab unhealthy in ${r.gitlabUnhealthyPolls} polls`}`,
    );
  }
  console.log(lines.join('\n'));
  console.log(
    JSON.stringify({
      bench: 'backup',
      rounds,
      targets: TARGETS,
      datasets: results.map((r) => ({
        name: r.name,
        dbBytes: r.dbBytes,
        kytesBackupS: r.kytesBackup.best,
        kytesBackupRunsS: r.kytesBackup.runs,
        gitlabStepS: r.gitlabStep.best,
        gitlabStepRunsS: r.gitlabStep.runs,
        gitlabStepCompressedS: r.gitlabStepCompressed.best,
        gitlabStepCompressedRunsS: r.gitlabStepCompressed.runs,
        gitlabDefaultS: r.gitlabDefault.best,
        gitlabDefaultRunsS: r.gitlabDefault.runs,
        pgDumpFcS: r.pgDumpFc.best,
        pgDumpFcRunsS: r.pgDumpFc.runs,
        kytesRestoreS: r.kytesRestore.best,
        kytesRestoreRunsS: r.kytesRestore.runs,
        pgRestore1S: r.pgRestore1.best,
        pgRestore1RunsS: r.pgRestore1.runs,
        pgRestore2S: r.pgRestore2.best,
        pgRestore2RunsS: r.pgRestore2.runs,
        kytesBackupBytes: r.kytesBackupBytes,
        pgDumpFcBytes: r.pgDumpFcBytes,
        backupVsPgDumpFc: r.kytesBackup.best / r.pgDumpFc.best,
        backupVsGitlabStep: r.kytesBackup.best / r.gitlabStep.best,
        backupVsGitlabStepCompressed: r.kytesBackup.best / r.gitlabStepCompressed.best,
        backupVsGitlabDefault: r.kytesBackup.best / r.gitlabDefault.best,
        restoreVsPgRestore1: r.kytesRestore.best / r.pgRestore1.best,
        restoreVsPgRestore2: r.kytesRestore.best / r.pgRestore2.best,
        dedupFirstBytes: r.dedupFirstBytes,
        dedupAddedBytes: r.dedupAddedBytes,
        dedupShare: r.dedupAddedBytes / r.dedupFirstBytes,
        backupDowntimeS: r.gitlabUnhealthyPolls === 0 ? 0 : null,
        gitlabUnhealthyPolls: r.gitlabUnhealthyPolls,
      })),
    }),
  );
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
