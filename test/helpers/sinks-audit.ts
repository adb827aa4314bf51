import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { layout } from '../integration/fixtures/nginx/parse-nginx';
import { RecordedResource, unwrap } from './program';

/**
 * Every sink text a stack run produced, by kind, and the parser that checks each: bash (`bash -n`,
 * plus tree-sitter-bash for the shape of every command), cron (field structure, command through
 * bash), nginx (the structural reader of test/integration/fixtures/nginx), Ruby (`ruby -c`),
 * JavaScript (`node --check`).
 */
export interface Sinks {
  /** Label → bash text: command strings (create/delete, and the script inside `/bin/bash -c`), ops scripts. */
  readonly shell: Record<string, string>;
  readonly cron: string;
  readonly nginx: string;
  /** Instance name → GITLAB_OMNIBUS_CONFIG. */
  readonly ruby: Record<string, string>;
  readonly javascript: Record<string, string>;
  /** Container name → environment, as `NAME=value` strings. */
  readonly env: Record<string, string[]>;
  /** Container name → command (argv) and healthcheck (argv). */
  readonly argv: Record<string, string[]>;
}

/** The script inside `/bin/bash -c '<quoted>'`, decoded exactly (undefined for any other shape). */
export function innerScript(command: string): string | undefined {
  const prefix = '/bin/bash -c ';
  if (!command.startsWith(prefix)) return undefined;
  const word = command.slice(prefix.length);
  if (!word.startsWith("'") || !word.endsWith("'")) return undefined;
  const decoded = word.slice(1, -1).split("'\\''").join("'");
  return `'${decoded.replace(/'/g, `'\\''`)}'` === word ? decoded : undefined;
}

const byName = (rs: RecordedResource[], name: string) => rs.find((r) => r.name === name);

export function collectSinks(rs: RecordedResource[], prefix: string): Sinks {
  const shell: Record<string, string> = {};
  for (const r of rs.filter((x) => x.type.startsWith('command:'))) {
    for (const step of ['create', 'delete'] as const) {
      const text = unwrap(r.inputs[step]);
      if (typeof text !== 'string') continue;
      shell[`${r.name}.${step}`] = text;
      const inner = innerScript(text);
      if (inner !== undefined) shell[`${r.name}.${step} (on the host)`] = inner;
    }
  }
  const scripts = byName(rs, `${prefix}-ops-scripts`);
  for (const line of String(unwrap(scripts?.inputs.stdin) ?? '').split('\n')) {
    const [file, content] = line.split(' ');
    if (file && content) shell[`ops script ${file}`] = Buffer.from(content, 'base64').toString('utf8');
  }
  const containers = rs.filter((r) => r.type === 'docker:index/container:Container');
  const nginxConfig = byName(rs, `${prefix}-nginx-apply-config`);
  const env: Record<string, string[]> = {};
  const argv: Record<string, string[]> = {};
  const ruby: Record<string, string> = {};
  for (const c of containers) {
    const name = String(unwrap(c.inputs.name));
    env[name] = (unwrap(c.inputs.envs) ?? []) as string[];
    argv[name] = [
      ...((unwrap(c.inputs.command) ?? []) as string[]),
      ...(((unwrap(c.inputs.healthcheck) as { tests?: string[] })?.tests ?? []) as string[]),
    ];
    const omnibus = env[name].find((e) => e.startsWith('GITLAB_OMNIBUS_CONFIG='));
    if (omnibus) ruby[name] = omnibus.slice('GITLAB_OMNIBUS_CONFIG='.length);
  }
  const init = byName(rs, `${prefix}-mongo-initiate`);
  const javascript: Record<string, string> = init ? { 'mongo-init': String(unwrap(init.inputs.stdin)) } : {};
  for (const [name, a] of Object.entries(argv)) {
    const i = a.indexOf('--eval');
    if (i >= 0) javascript[`${name} healthcheck`] = a[i + 1];
    const n = a.indexOf('-e');
    if (a[0] === 'CMD' && a[1] === 'node' && n >= 0) javascript[`${name} healthcheck`] = a[n + 1];
  }
  return {
    shell,
    cron: String(unwrap(byName(rs, `${prefix}-ops-backup-schedule`)?.inputs.stdin) ?? ''),
    nginx: String(unwrap(nginxConfig?.inputs.stdin) ?? ''),
    ruby,
    javascript,
    env,
    argv,
  };
}

function tempFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-audit-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function check(program: string, args: string[], file: string): string | undefined {
  const r = spawnSync(program, [...args, file], { encoding: 'utf8' });
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return r.status === 0 ? undefined : `${program} ${args.join(' ')}: ${r.stderr || r.stdout}`;
}

/** Lines of the cron file that are jobs: five time fields, a user, a command. */
export function cronJobs(cron: string): Array<{ fields: string[]; user: string; command: string }> {
  return cron
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !/^[A-Z_]+=/.test(l))
    .map((l) => {
      const parts = l.split(' ');
      return { fields: parts.slice(0, 5), user: parts[5], command: parts.slice(6).join(' ') };
    });
}

/** Every problem a parser finds in the sinks; empty when each parses. */
export function parseProblems(s: Sinks): string[] {
  const problems: string[] = [];
  for (const [label, text] of Object.entries(s.shell)) {
    const p = check('bash', ['-n'], tempFile('s.sh', text));
    if (p) problems.push(`${label}: ${p}`);
  }
  const jobs = cronJobs(s.cron);
  if (jobs.length !== 1) problems.push(`cron: ${jobs.length} job lines, not 1`);
  for (const j of jobs) {
    if (j.user !== 'root') problems.push(`cron: user field ${j.user}`);
    // cron turns an unescaped % into a newline; the command the shell gets has \% made %.
    if (/(^|[^\\])%/.test(j.command)) problems.push(`cron: unescaped % in ${j.command}`);
    const p = check('bash', ['-n'], tempFile('cron.sh', j.command.replace(/\\%/g, '%')));
    if (p) problems.push(`cron command: ${p}`);
  }
  try {
    layout(s.nginx);
  } catch (e) {
    problems.push(`nginx: ${(e as Error).message}`);
  }
  for (const [name, rb] of Object.entries(s.ruby)) {
    const p = check('ruby', ['-c'], tempFile('gitlab.rb', rb));
    if (p) problems.push(`gitlab.rb of ${name}: ${p}`);
  }
  for (const [name, js] of Object.entries(s.javascript)) {
    const p = check(process.execPath, ['--check'], tempFile('code.js', js));
    if (p) problems.push(`javascript ${name}: ${p}`);
  }
  for (const [name, vars] of Object.entries(s.env)) {
    if (vars.some((v) => v.includes('\0'))) problems.push(`environment of ${name}: NUL byte`);
  }
  return problems;
}
