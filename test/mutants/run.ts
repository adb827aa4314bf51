/**
 * Runs the bash mutants of test/mutants/mutants.ts: for each, a copy of the project (without .git,
 * .stryker-tmp, reports and node_modules, which is symlinked) gets the one replacement, and the mutant's
 * unit test files run there (`npx jest <files> --selectProjects unit`, the copy as cwd); a non-zero exit
 * kills the mutant. The unmutated copy runs every listed file first and must pass.
 *
 *   npx ts-node --transpile-only test/mutants/run.ts [--jobs N] [--only M01,M02] [--verbose]
 *
 * One line per mutant (killed or SURVIVED, seconds), then "N mutants, N killed, N survived". Exit status 1
 * when a mutant survives, an original text is not found exactly once, or the unmutated tests fail.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Mutant, MUTANTS } from './mutants';

const ROOT = path.resolve(__dirname, '..', '..');
/** Top-level names left out of each copy; node_modules is symlinked instead. */
const EXCLUDED = new Set(['.git', '.stryker-tmp', 'reports', 'node_modules']);
/** A test run that takes longer is stopped and counts as killed (a hang the tests notice). */
const RUN_TIMEOUT_MS = 180_000;

export class MutantError extends Error {}

/** How many times `part` occurs in `text` (non-overlapping). */
export function occurrences(text: string, part: string): number {
  if (part.length === 0) return 0;
  return text.split(part).length - 1;
}

/** The mutated content of `text`; throws unless `m.original` occurs exactly once. */
export function mutate(text: string, m: Mutant): string {
  const n = occurrences(text, m.original);
  if (n !== 1) {
    throw new MutantError(
      `${m.id}: the original text occurs ${n} times in ${m.file}, not exactly once: update test/mutants/mutants.ts with the template\n  original: ${JSON.stringify(m.original)}`,
    );
  }
  // A function: a string replacement would read `$&`, `$1`… in the bash text as patterns.
  return text.replace(m.original, () => m.replacement);
}

/** Every problem of the mutant list against the project at `root`: none when each mutant applies. */
export function listProblems(mutants: readonly Mutant[], root: string): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const m of mutants) {
    if (ids.has(m.id)) problems.push(`${m.id}: listed twice`);
    ids.add(m.id);
    if (m.original === m.replacement) problems.push(`${m.id}: the replacement is the original`);
    if (m.tests.length === 0) problems.push(`${m.id}: names no test file`);
    for (const t of m.tests) {
      if (!fs.existsSync(path.join(root, t))) problems.push(`${m.id}: no test file ${t}`);
    }
    const file = path.join(root, m.file);
    if (!fs.existsSync(file)) {
      problems.push(`${m.id}: no file ${m.file}`);
      continue;
    }
    try {
      mutate(fs.readFileSync(file, 'utf8'), m);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return problems;
}

/** A fresh copy of the project at `dest`. */
function copyProject(dest: string): void {
  fs.rmSync(dest, { recursive: true, force: true });
  fs.cpSync(ROOT, dest, {
    recursive: true,
    preserveTimestamps: true,
    filter: (src) => !EXCLUDED.has(path.relative(ROOT, src).split(path.sep)[0]),
  });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dest, 'node_modules'));
}

interface Run {
  status: number | null;
  timedOut: boolean;
  seconds: number;
  output: string;
}

/** Process groups of the test runs under way, stopped when the runner is interrupted. */
const running = new Set<number>();

/** `npx jest <files> --selectProjects unit` with `dir` as cwd, in its own process group. */
function runJest(dir: string, files: readonly string[]): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['jest', ...files, '--selectProjects', 'unit', '--ci', '--bail', '--maxWorkers=1'], {
      cwd: dir,
      env: { ...process.env, CI: 'true', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (child.pid !== undefined) running.add(child.pid);
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole process group: npx, jest and the scripts it started.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      if (child.pid !== undefined) running.delete(child.pid);
      resolve({ status, timedOut, seconds: (Date.now() - started) / 1000, output });
    });
  });
}

interface Options {
  jobs: number;
  only?: Set<string>;
  /** Also print the tests that failed under each mutant. */
  verbose: boolean;
}

/** The titles of the failed tests in jest's output (`● describe › test`). */
export function failedTests(output: string): string[] {
  return [...new Set(output.split('\n').flatMap((l) => (/^\s*● (.+)$/.exec(l) ?? []).slice(1)))];
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { jobs: 2, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--jobs' && /^[1-9][0-9]*$/.test(argv[i + 1] ?? '')) options.jobs = Number(argv[++i]);
    else if (a === '--only' && argv[i + 1]) options.only = new Set(argv[++i].split(','));
    else if (a === '--verbose') options.verbose = true;
    else throw new MutantError(`usage: run.ts [--jobs N] [--only M01,M02,…] [--verbose]; unexpected '${a}'`);
  }
  return options;
}

const pad = (s: string, n: number) => s.padEnd(n);
const secs = (s: number) => `${s.toFixed(1)}s`.padStart(7);

async function main(argv: readonly string[]): Promise<number> {
  const started = Date.now();
  const options = parseArgs(argv);
  const problems = listProblems(MUTANTS, ROOT);
  if (problems.length > 0) throw new MutantError(`the mutant list does not apply:\n  ${problems.join('\n  ')}`);
  const unknown = [...(options.only ?? [])].filter((id) => !MUTANTS.some((m) => m.id === id));
  if (unknown.length > 0) throw new MutantError(`no mutant ${unknown.join(', ')}`);
  const mutants = MUTANTS.filter((m) => !options.only || options.only.has(m.id));
  const jobs = Math.min(options.jobs, mutants.length);

  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-mutants-'));
  const stop = (signal: NodeJS.Signals) => {
    for (const pid of running) process.kill(-pid, 'SIGKILL');
    fs.rmSync(base, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  // One directory per job, reused from mutant to mutant at the same path: jest's transform cache is
  // keyed by path, so only the first run of each job compiles the TypeScript.
  const slot = (k: number) => path.join(base, `job-${k}`);
  try {
    // The unmutated copy: every listed test file, split over the jobs (which warms each job's cache).
    const files = [...new Set(mutants.flatMap((m) => m.tests))].sort();
    const shares = Array.from({ length: jobs }, (_, k) => files.filter((_f, i) => i % jobs === k));
    const baseline = await Promise.all(
      shares.map(async (share, k) => {
        if (share.length === 0) return undefined;
        copyProject(slot(k));
        return runJest(slot(k), share);
      }),
    );
    const failed = baseline.filter((r): r is Run => r !== undefined && r.status !== 0);
    if (failed.length > 0) {
      for (const r of failed) process.stdout.write(r.output.slice(-6000));
      process.stdout.write(`unmutated copy: its tests fail (above); no mutant was run\n`);
      return 1;
    }
    const slowest = Math.max(...baseline.map((r) => r?.seconds ?? 0));
    process.stdout.write(`unmutated copy: ${files.length} test files pass ${secs(slowest)}\n`);

    let next = 0;
    const survived: string[] = [];
    const worker = async (k: number) => {
      while (next < mutants.length) {
        const m = mutants[next++];
        copyProject(slot(k));
        const file = path.join(slot(k), m.file);
        fs.writeFileSync(file, mutate(fs.readFileSync(file, 'utf8'), m));
        const r = await runJest(slot(k), m.tests);
        const killed = r.status !== 0;
        if (!killed) survived.push(m.id);
        const verdict = killed ? (r.timedOut ? 'killed (timeout)' : 'killed') : 'SURVIVED';
        const detail = options.verbose && killed ? failedTests(r.output).map((t) => `    ${t}\n`) : [];
        process.stdout.write(`${pad(verdict, 16)} ${m.id} ${secs(r.seconds)}  ${m.reason}\n${detail.join('')}`);
      }
    };
    await Promise.all(Array.from({ length: jobs }, (_, k) => worker(k)));
    const total = (Date.now() - started) / 1000;
    process.stdout.write(
      `${mutants.length} mutants, ${mutants.length - survived.length} killed, ${survived.length} survived` +
        `${survived.length > 0 ? ` (${survived.join(', ')})` : ''}; ${total.toFixed(0)} s with ${jobs} jobs\n`,
    );
    return survived.length > 0 ? 1 : 0;
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (status) => process.exit(status),
    (e: unknown) => {
      process.stderr.write(`bash mutants: ${e instanceof MutantError ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
