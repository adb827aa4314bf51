/**
 * `npm run bench:backup`: backs up one PostgreSQL database of at least 1 GB three ways, in one run,
 * on the local Docker engine, and prints the times and ratios — for two contents of that database:
 * pgbench's (`pgbench -i -s 72`, whose blank-padded rows compress ~50:1, so a dump is nearly free)
 * and ~1.1 GB of md5 hex text (compresses ~2:1, so compression dominates, as it does for real data):
 *
 *  (a) Kytes: the real rendered `kytes-backup` on a stack whose GitLab is the test stand-in; its DB
 *      step is GitLab's own (plain `pg_dump | gzip -c -1` inside the GitLab container, over the
 *      stack network), then Kytes' copy-out, /etc/gitlab, roles, checksums, manifest and verify.
 *      GitLab keeps serving: downtime 0.
 *  (a0) GitLab's own step alone, `gitlab-backup create` as (a) runs it: what is left of (a) once
 *      Kytes' part is taken away, so (a) / (a0) is Kytes' own overhead.
 *  (b) raw `pg_dump -Fc` of the same database (and raw `pg_dump | gzip -c -1` in the PostgreSQL
 *      container: the format GitLab writes, without GitLab or Kytes around it).
 *  (c) the original recipe: stop the PostgreSQL container, `zip -r` its data directory, start it,
 *      and wait until it answers (that whole span is downtime).
 *
 * Each of (a), (a0) and (b) runs twice, interleaved, and the faster run counts (less noise from a
 * 2-core machine). Everything it creates (containers, volumes, network, images, files) is removed at the end.
 * Env: KYTES_BENCH_SCALE (pgbench scale, default 72 ≈ 1.1 GB), KYTES_BENCH_ROWS (rows of md5 text,
 * default 5,000,000 ≈ 1.1 GB), KYTES_BENCH_DIR (default /var/tmp). Needs root and a local engine
 * for (c), which zips the volume's directory on the host.
 */
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { configSchema } from '../lib/config';
import { deriveTopology } from '../lib/topology';
import { renderOpsScripts } from '../ops/scripts';
import { docker, execIn, IMAGES, requireImages, Sandbox, waitFor } from '../test/integration/helpers/docker';
import {
  buildFakeImages,
  FakeImages,
  psql,
  removeFakeImages,
  runOps,
  startFakeStack,
} from '../test/integration/ops/fake-stack';

const GiB = 1024 ** 3;
const scale = Number(process.env.KYTES_BENCH_SCALE ?? 72);
const textRows = Number(process.env.KYTES_BENCH_ROWS ?? 5_000_000);
const hex = randomBytes(3).toString('hex');

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

interface DatasetResult {
  name: string;
  dbBytes: number;
  kytes: number;
  kytesRuns: number[];
  raw: number;
  rawRuns: number[];
  rawGzip: number;
  rawGzipRuns: number[];
  gitlabStep: number;
  gitlabStepRuns: number[];
  rawBytes: number;
  zip: number;
  zipTotal: number;
  zipBytes: number;
}

async function timedAsync(what: string, fn: () => Promise<unknown>): Promise<void> {
  const t0 = process.hrtime.bigint();
  await fn();
  console.error(`  ${what} in ${seconds(t0).toFixed(0)} s`);
}

async function main(): Promise<void> {
  await requireImages([IMAGES.base, IMAGES.postgres]);
  const root = fs.mkdtempSync(path.join(process.env.KYTES_BENCH_DIR ?? '/var/tmp', 'kytes-bench-'));
  const sandbox = new Sandbox();
  let images: FakeImages | undefined;
  try {
    images = await buildFakeImages(`bench-${hex}`);
    const t = deriveTopology(
      configSchema.parse({
        prefix: `kytes-bench-${hex}`,
        rocketchat: { enabled: false },
        backup: { dir: path.join(root, 'backups') },
      }),
      'bench',
    );
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    const scripts = renderOpsScripts(t, {
      keepLast: 6,
      keepDaily: 7,
      keepWeekly: 4,
      projectCommit: 'bench',
      projectDirty: false,
    });
    for (const [name, content] of Object.entries(scripts))
      fs.writeFileSync(path.join(bin, name), content, { mode: 0o755 });
    await startFakeStack(t, sandbox, images);
    const g = t.gitlab[0];
    const pg = t.postgres.container;
    const db = g.database.name;
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
    results.push(await measure(`pgbench -s ${scale} (filler is blank padding: compresses ~50:1)`));

    console.error(`dataset 2: notes table of md5 hex text, ${textRows} rows (compresses ~2:1)`);
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
    results.push(await measure('md5 text (compresses ~2:1)'));

    const lines: string[] = [];
    const runs = (xs: number[]) => `[runs ${xs.map((x) => x.toFixed(1)).join(', ')}]`;
    for (const r of results) {
      lines.push(
        `dataset: ${r.name}, ${(r.dbBytes / GiB).toFixed(2)} GiB; 2 runs each of (a), (a0) and (b), best run shown`,
        `  (a)  Kytes kytes-backup, whole run:                  ${r.kytes.toFixed(1)} s  ${runs(r.kytesRuns)}  downtime 0 s`,
        `  (a0) of which GitLab's own step, gitlab-backup alone: ${r.gitlabStep.toFixed(1)} s  ${runs(r.gitlabStepRuns)}`,
        `  (b)  raw pg_dump -Fc:                                ${r.raw.toFixed(1)} s  ${runs(r.rawRuns)}  ${(r.rawBytes / 2 ** 20).toFixed(0)} MiB`,
        `       raw pg_dump | gzip -c -1 (GitLab's format):     ${r.rawGzip.toFixed(1)} s  ${runs(r.rawGzipRuns)}`,
        `  (c)  stop + zip -r + start:                          ${r.zipTotal.toFixed(1)} s  (zip ${r.zip.toFixed(1)} s)  downtime ${r.zipTotal.toFixed(1)} s  ${(r.zipBytes / 2 ** 20).toFixed(0)} MiB`,
      );
    }
    lines.push('ratios (best runs; a ratio under 1 means Kytes was faster):');
    for (const r of results) {
      const ratio = (what: string, x: number, note: string) =>
        lines.push(`  [${r.name}] Kytes / ${what} = ${x.toFixed(2)}  ${note}`);
      const fc = r.kytes / r.raw;
      ratio('raw pg_dump -Fc', fc, `(target <= 1.15: ${fc <= 1.15 ? 'met' : 'NOT met'})`);
      ratio('raw pg_dump | gzip -1', r.kytes / r.rawGzip, '(same dump format as GitLab writes)');
      ratio("GitLab's gitlab-backup step alone", r.kytes / r.gitlabStep, "(Kytes' own overhead around GitLab's step)");
      const zip = r.kytes / r.zipTotal;
      ratio('stop + zip -r + start', zip, `(target < 1: ${zip < 1 ? 'met' : 'NOT met'}; Kytes has no downtime)`);
    }
    console.log(lines.join('\n'));
    console.log(
      JSON.stringify(
        results.map(({ name, dbBytes, kytes, gitlabStep, raw, rawGzip, zipTotal }) => ({
          name,
          dbBytes,
          kytesS: kytes,
          gitlabBackupStepS: gitlabStep,
          rawPgDumpFcS: raw,
          rawPgDumpGzip1S: rawGzip,
          zipDowntimeS: zipTotal,
          kytesDowntimeS: 0,
        })),
      ),
    );

    /** Times (a), (a0), (b) twice each, interleaved, then (c), on the database as it is now. */
    async function measure(name: string): Promise<DatasetResult> {
      await psql(t, 'postgres', 'CHECKPOINT;\n');
      const dbBytes = Number((await psql(t, 'postgres', `SELECT pg_database_size('${db}');\n`)).trim());
      console.error(`  ${(dbBytes / GiB).toFixed(2)} GiB`);
      if (dbBytes < GiB)
        throw new Error(`database is ${dbBytes} bytes, under 1 GiB: raise KYTES_BENCH_SCALE / KYTES_BENCH_ROWS`);
      const out = (f: string) => path.join(root, f);
      const rawRuns: number[] = [];
      const rawGzipRuns: number[] = [];
      const kytesRuns: number[] = [];
      const gitlabStepRuns: number[] = [];
      for (let i = 1; i <= 2; i++) {
        rawRuns.push(
          timed('raw pg_dump -Fc', () => sh(`docker exec ${pg} pg_dump -Fc -U postgres ${db} >${out('raw.dump')}`)),
        );
        rawGzipRuns.push(
          timed('raw pg_dump | gzip -c -1', () =>
            sh(`docker exec ${pg} sh -c 'pg_dump -U postgres ${db} | gzip -c -1' >${out('raw.sql.gz')}`),
          ),
        );
        const t0 = process.hrtime.bigint();
        const run = await runOps(bin, 'kytes-backup', ['--no-offhost', '--no-prune']);
        if (run.status !== 0) throw new Error(`kytes-backup failed: ${run.stderr}`);
        kytesRuns.push(seconds(t0));
        console.error(
          `  Kytes kytes-backup (dump + copy-out + checksums + manifest + verify): ${kytesRuns[i - 1].toFixed(1)} s`,
        );
        fs.rmSync(path.join(root, 'backups', run.stdout.trim().split('\n').pop() as string), { recursive: true });
        // GitLab's own step as kytes-backup runs it, without anything of Kytes around it.
        const archive = `/var/opt/gitlab/backups/bench-${i}_gitlab_backup.tar`;
        gitlabStepRuns.push(
          timed('gitlab-backup create alone (stand-in GitLab)', () =>
            sh(
              `docker exec ${g.container} gitlab-backup create BACKUP=bench-${i} STRATEGY=copy GZIP_RSYNCABLE=yes CRON=1`,
            ),
          ),
        );
        sh(`docker exec ${g.container} rm -f ${archive}`);
      }
      const rawBytes = fs.statSync(out('raw.dump')).size;
      fs.rmSync(out('raw.dump'));
      fs.rmSync(out('raw.sql.gz'));

      const mountpoint = (await docker(['volume', 'inspect', '-f', '{{.Mountpoint}}', t.postgres.data.name])).trim();
      const tDown = process.hrtime.bigint();
      timed('docker stop', () => sh(`docker stop ${pg} >/dev/null`));
      const zip = timed('zip -r of the data directory', () =>
        sh(`cd ${mountpoint} && zip -r -q ${out('pgdata.zip')} .`),
      );
      timed('docker start', () => sh(`docker start ${pg} >/dev/null`));
      await waitFor(async () => (await psql(t, 'postgres', 'SELECT 1;\n')).trim() === '1', {
        timeoutMs: 120_000,
        intervalMs: 100,
        what: 'PostgreSQL back',
      });
      const zipTotal = seconds(tDown);
      console.error(`  downtime (stop → answering again): ${zipTotal.toFixed(1)} s`);
      const zipBytes = fs.statSync(out('pgdata.zip')).size;
      fs.rmSync(out('pgdata.zip'));
      return {
        name,
        dbBytes,
        kytes: Math.min(...kytesRuns),
        kytesRuns,
        raw: Math.min(...rawRuns),
        rawRuns,
        rawGzip: Math.min(...rawGzipRuns),
        rawGzipRuns,
        gitlabStep: Math.min(...gitlabStepRuns),
        gitlabStepRuns,
        rawBytes,
        zip,
        zipTotal,
        zipBytes,
      };
    }
  } finally {
    await sandbox.cleanup();
    if (images) await removeFakeImages(images);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
