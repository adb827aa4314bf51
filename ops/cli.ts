import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { parseConfig } from '../lib/config';
import { DNS_LABEL } from '../lib/config/names';
import { hostBash } from '../lib/connection';
import { deriveTopology, opsScriptPath, Topology } from '../lib/topology';
import { BACKUP_ID, checkManifest } from './manifest';
import { shellWord } from '../lib/sinks';
import { AS_ROOT, bashScript } from './host';

/**
 * Operator commands that need no `pulumi up`: each runs one ops script installed on the stack's Docker
 * host, through the stack's one connection (lib/connection.ts: bash locally, or the same ssh command
 * line as every Pulumi step) and the same privilege path (root, else `sudo -n`: ops/host.ts AS_ROOT).
 * Names and paths come from the topology of the selected stack, read from `Pulumi.<stack>.yaml` — no
 * Pulumi login, no secret: the scripts need none.
 *
 * Before anything runs, in order, each failure in one line that says what is wrong and how to fix it:
 * the host answers (ssh), the scripts are installed (else: run pulumi up), the login may become root;
 * then the script itself checks the Docker engine and each container the operation needs.
 */

export const USAGE = `usage:
  npm run backup  -- [--stack NAME] [--label LABEL]       take a verified backup now
  npm run restore -- ID [--stack NAME] [--only gitlab:NAME | --only rocketchat]... [--yes] [--no-safety-backup]
                                                           restore backup ID, whole or one part: asks first (--yes
                                                           does not) and takes a verified safety backup first
  npm run backups -- [--stack NAME] [--json]              last verified backup and its age, failed runs since,
                                                           free space, then every backup
  npm run verify  -- ID [--stack NAME]                    check backup ID again (and its off-host copy)
  npm run prune   -- [--stack NAME] [--dry-run]           apply retention now
  npm run fetch   -- ID | --list [--stack NAME]           bring backup ID back from the off-host location
The stack defaults to $PULUMI_STACK, else the only Pulumi.<stack>.yaml here (npm run backups: each of them).`;

export const COMMANDS = ['backup', 'restore', 'backups', 'verify', 'prune', 'fetch'] as const;
export type Command = (typeof COMMANDS)[number];

/** The ops script each command runs on the Docker host. */
export const SCRIPT: Readonly<Record<Command, string>> = {
  backup: 'kytes-backup',
  restore: 'kytes-restore',
  backups: 'kytes-backups',
  verify: 'kytes-verify',
  prune: 'kytes-prune',
  fetch: 'kytes-offhost-fetch',
};

export interface CliRequest {
  readonly command: Command;
  readonly stack?: string;
  /** Arguments for the script on the Docker host. */
  readonly scriptArgs: string[];
  /** `backups` only: print the host's JSON as it is. */
  readonly json: boolean;
  /** `restore` only: do not ask for confirmation. */
  readonly yes: boolean;
}

export class UsageError extends Error {}

/** What `--only` names: Rocket.Chat, or a GitLab instance by its name (a DNS label, as in the config). */
const isRestorePart = (part: string) =>
  part === 'rocketchat' || (part.startsWith('gitlab:') && DNS_LABEL.test(part.slice('gitlab:'.length)));

function backupId(a: string): string {
  if (!BACKUP_ID.test(a)) throw new UsageError(`'${a}' is not a backup id (YYYYMMDDTHHMMSSZ[-label])`);
  return a;
}

/** Parses `<command> [args]`; throws {@link UsageError} on anything else. Pure. */
export function parseCli(argv: readonly string[]): CliRequest {
  const [command, ...rest] = argv;
  if (!(COMMANDS as readonly string[]).includes(command ?? '')) {
    throw new UsageError(command === undefined ? 'missing command' : `unknown command '${command}'`);
  }
  const cmd = command as Command;
  let stack: string | undefined;
  let json = false;
  let yes = false;
  let id: string | undefined;
  const scriptArgs: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--stack') {
      stack = rest[++i];
      if (!stack || !/^[A-Za-z0-9._-]+$/.test(stack)) throw new UsageError('--stack needs a stack name');
    } else if (a === '--label' && cmd === 'backup') {
      const label = rest[++i];
      if (!label || !/^[a-z0-9]+$/.test(label)) throw new UsageError('--label needs lower-case letters and digits');
      scriptArgs.push('--label', label);
    } else if (a === '--json' && cmd === 'backups') {
      json = true;
    } else if (a === '--yes' && cmd === 'restore') {
      yes = true;
    } else if (a === '--no-safety-backup' && cmd === 'restore') {
      scriptArgs.push(a);
    } else if (a === '--only' && cmd === 'restore') {
      const part = rest[++i];
      if (!part || !isRestorePart(part)) throw new UsageError('--only needs gitlab:NAME or rocketchat');
      scriptArgs.push('--only', part);
    } else if (a === '--dry-run' && cmd === 'prune') {
      scriptArgs.push(a);
    } else if (a === '--list' && cmd === 'fetch' && id === undefined && !scriptArgs.includes(a)) {
      scriptArgs.push(a);
    } else if ((cmd === 'restore' || cmd === 'verify' || cmd === 'fetch') && !a.startsWith('-') && id === undefined) {
      if (scriptArgs.includes('--list')) throw new UsageError(`unexpected argument '${a}' after --list`);
      id = backupId(a);
    } else {
      throw new UsageError(`unexpected argument '${a}'`);
    }
  }
  if ((cmd === 'restore' || cmd === 'verify') && id === undefined)
    throw new UsageError(`${cmd} needs a backup id (list them with npm run backups)`);
  if (cmd === 'fetch' && id === undefined && !scriptArgs.includes('--list'))
    throw new UsageError('fetch needs a backup id, or --list to see what the off-host location holds');
  return { command: cmd, stack, scriptArgs: id === undefined ? scriptArgs : [id, ...scriptArgs], json, yes };
}

function stacksIn(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** The stack to use: --stack, else $PULUMI_STACK, else the only Pulumi.<stack>.yaml in `dir`. */
export function chooseStack(requested: string | undefined, env: NodeJS.ProcessEnv, dir: string): string {
  const all = chooseStacks(requested, env, dir);
  if (all.length === 1) return all[0];
  throw new UsageError(`several stacks (${all.join(', ')}): choose one with --stack`);
}

/** Like {@link chooseStack}, but every Pulumi.<stack>.yaml in `dir` when nothing chooses one. */
export function chooseStacks(requested: string | undefined, env: NodeJS.ProcessEnv, dir: string): string[] {
  if (requested) return [requested];
  if (env.PULUMI_STACK) return [env.PULUMI_STACK];
  const stacks = stacksIn(dir);
  if (stacks.length === 0) throw new UsageError(`no Pulumi.<stack>.yaml in ${dir}`);
  return stacks;
}

interface YamlModule {
  load(text: string): unknown;
}
// js-yaml ships with @pulumi/pulumi (no types of its own).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as YamlModule;

/**
 * What the CLI puts where a `secure:` value is: it never decrypts one, and the topology needs none. A
 * stand-in that every secret field's own check accepts (length, no control characters, an https URL),
 * so that the rest of the config is checked exactly as `pulumi up` checks it.
 */
export const UNREAD_SECRET = 'https://kytes-cli.invalid/secret-value-not-read-by-the-kytes-cli';

/** Replaces every `{ secure: … }` leaf by {@link UNREAD_SECRET}; says whether there was one. */
function withoutSecrets(value: unknown): { value: unknown; secret: boolean } {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'secure' in value) {
    return { value: UNREAD_SECRET, secret: true };
  }
  if (Array.isArray(value)) {
    const items = value.map(withoutSecrets);
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => [k, withoutSecrets(v)] as const);
    return {
      value: Object.fromEntries(entries.map(([k, v]) => [k, v.value])),
      secret: entries.some(([, v]) => v.secret),
    };
  }
  return { value, secret: false };
}

/**
 * The topology of `stack` from the text of its `Pulumi.<stack>.yaml`, through the same parser and
 * checks as `pulumi up` (lib/config parseConfig). Secret values are never decrypted nor read.
 */
export function topologyFromStackYaml(text: string, stack: string): Topology {
  const doc = yaml.load(text);
  const config = doc && typeof doc === 'object' && 'config' in doc ? (doc as { config: unknown }).config : {};
  const flat: Record<string, string> = {};
  const secret = new Set<string>();
  for (const [fullKey, value] of Object.entries((config ?? {}) as Record<string, unknown>)) {
    const plain = withoutSecrets(value);
    if (plain.secret) secret.add(fullKey);
    flat[fullKey] = typeof plain.value === 'string' ? plain.value : JSON.stringify(plain.value);
  }
  // The master secret is needed by `pulumi up`, not here: stand in for it when the file has none.
  if (!('kytes:masterSecret' in flat)) {
    flat['kytes:masterSecret'] = UNREAD_SECRET;
    secret.add('kytes:masterSecret');
  }
  let parsed;
  try {
    parsed = parseConfig(flat, (k) => secret.has(k));
  } catch (e) {
    throw new Error(`Pulumi.${stack}.yaml: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return deriveTopology(parsed, stack);
}

/** Printed on stderr by the script on the host before anything else: the connection is up. */
export const CONNECTED = 'kytes-cli: connected';

/**
 * The bash script run on the Docker host for `script args`: says it got there, checks the scripts are
 * installed, becomes root (AS_ROOT: root, or `sudo -n`), then runs the script. Pure.
 */
export function operatorScript(t: Topology, script: string, args: readonly string[]): string {
  const target = opsScriptPath(t.ops, script);
  const lib = opsScriptPath(t.ops, 'kytes-lib.sh');
  return bashScript(
    `printf '%s\\n' ${shellWord(CONNECTED)} >&2`,
    `if [ ! -r ${shellWord(lib)} ] || [ ! -x ${shellWord(target)} ]; then`,
    `  printf 'kytes: error: the Kytes ops scripts of stack %s are not installed on %s (%s is missing): run pulumi up for this stack first (npm run pulumi -- up --stack %s), which installs them; nothing was changed\\n' ${shellWord(t.stack)} "$(uname -n)" ${shellWord(target)} ${shellWord(t.stack)} >&2`,
    '  exit 1',
    'fi',
    AS_ROOT,
    `exec ${[target, ...args].map(shellWord).join(' ')}`,
  );
}

/**
 * The program and arguments that run `script` with `args` on the stack's Docker host: the stack's one
 * connection (`hostBash`): `/bin/bash -c`, or ssh with exactly the connection's arguments. Pure.
 */
export function hostCommand(t: Topology, script: string, args: readonly string[]): { file: string; args: string[] } {
  const { interpreter, command } = hostBash(t.docker, operatorScript(t, script, args));
  return { file: interpreter[0], args: [...interpreter.slice(1), command] };
}

/** Where the stack's Docker host is, for messages. */
export function hostDescription(t: Topology): string {
  const s = t.docker.ssh;
  if (!s) return 'this machine';
  return `${s.user === undefined ? '' : `${s.user}@`}${s.host} port ${s.port}`;
}

export interface HostRun {
  readonly status: number;
  readonly stdout: string;
}

/**
 * Runs `script args` on the host; the script's stderr streams through as it comes. Until the host says it
 * is connected, stderr is held: if it never does, what ssh said becomes one line saying the host cannot
 * be reached, instead of ssh's raw error.
 */
export function runOnHost(
  t: Topology,
  label: string,
  script: string,
  args: readonly string[],
  capture: boolean,
): Promise<HostRun> {
  const cmd = hostCommand(t, script, args);
  return new Promise((resolve) => {
    const child = spawn(cmd.file, cmd.args, { stdio: ['ignore', capture ? 'pipe' : 'inherit', 'pipe'] });
    let stdout = '';
    let held = '';
    let connected = false;
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString();
      if (connected) {
        // Under sudo, AS_ROOT runs the script again, which says it is connected a second time.
        process.stderr.write(text.split(`${CONNECTED}\n`).join(''));
        return;
      }
      held += text;
      const at = held.indexOf(`${CONNECTED}\n`);
      if (at >= 0) {
        connected = true;
        const rest = (held.slice(0, at) + held.slice(at + CONNECTED.length + 1)).split(`${CONNECTED}\n`).join('');
        held = '';
        process.stderr.write(rest);
      }
    });
    const fail = (why: string) => {
      process.stderr.write(`${label}: error: ${why}; nothing was changed\n`);
      resolve({ status: 1, stdout: '' });
    };
    child.on('error', (e) => fail(`cannot run ${cmd.file}: ${e.message}`));
    child.on('close', (code, signal) => {
      const status = code ?? 1;
      if (!connected) {
        const said = (held.trim().split('\n').pop() ?? '').trim().replace(/\.$/, '');
        if (t.docker.ssh) {
          fail(
            `cannot reach the Docker host of stack ${t.stack} over SSH (${hostDescription(t)}): ${said || `ssh ended with status ${status}`}. Check that the host is up and that kytes:docker.host, kytes:docker.sshOpts and kytes:docker.hostKey are right (pulumi up uses the same connection)`,
          );
        } else {
          fail(`could not run bash on this machine (${said || `status ${status}`})`);
        }
        return;
      }
      if (t.docker.ssh && status === 255) {
        process.stderr.write(
          `${label}: error: the SSH connection to ${hostDescription(t)} ended during the operation (status 255); see npm run backups -- --stack ${t.stack} for what it did\n`,
        );
      } else if (signal) {
        process.stderr.write(`${label}: error: stopped by ${signal}\n`);
      }
      resolve({ status: signal ? 1 : status, stdout });
    });
  });
}

interface ListedBackup {
  id: string;
  status: string;
  sizeBytes: number;
  restoredFrom: boolean;
  manifest: unknown;
}

/** What `kytes-backups --json` prints. */
export interface BackupsReport {
  stack: string;
  prefix: string;
  host: string;
  backupDir: string;
  now: string;
  schedule: string;
  alert: 'configured' | 'none';
  cronLog: string;
  freeBytes: number | null;
  lastVerified: { id: string; sizeBytes: number; createdAt: string | null; ageSeconds: number | null } | null;
  failedSince: { count: number; last: { time: string; message: string } | null };
  backups: ListedBackup[];
}

export const human = (n: number) =>
  n >= 2 ** 30
    ? `${(n / 2 ** 30).toFixed(1)} GiB`
    : n >= 2 ** 20
      ? `${(n / 2 ** 20).toFixed(1)} MiB`
      : `${Math.floor(n / 1024)} KiB`;

/** An age in words: `3 min`, `5 h 02 min`, `2 d 4 h`. */
export function age(seconds: number): string {
  const m = Math.max(0, Math.floor(seconds / 60));
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** The state of a stack's backups, before the table: what an operator checks first. Pure. */
export function formatStatus(r: BackupsReport): string {
  const last = r.lastVerified;
  const failed = r.failedSince;
  const lines = [
    `stack ${r.stack} (${r.prefix}) on ${r.host}, backups in ${r.backupDir}`,
    `  last verified backup  ${last ? `${last.id}, ${last.ageSeconds === null ? 'age unknown' : `${age(last.ageSeconds)} ago`}, ${human(last.sizeBytes)}` : 'NONE'}`,
    `  failed backups        ${failed.count === 0 ? 'none' : String(failed.count)} ${last ? 'since then' : 'so far'}${failed.last ? ` (last at ${failed.last.time}: ${failed.last.message})` : ''}`,
    `  free space            ${r.freeBytes === null ? 'unknown' : human(r.freeBytes)}${last && r.freeBytes !== null && r.freeBytes < last.sizeBytes * 1.1 ? ' (LESS than the last backup needs: the next one will refuse)' : ''}`,
    `  schedule              ${r.schedule === 'off' ? 'off (no scheduled backups)' : `${r.schedule} (output in ${r.cronLog})`}; alert on failure: ${r.alert === 'configured' ? 'kytes:backup.alert' : 'none'}`,
  ];
  return lines.join('\n');
}

/** The `npm run backups` table, each manifest checked by the zod schema of ops/manifest.ts. Pure. */
export function formatBackups(entries: readonly ListedBackup[]): string {
  const rows = entries.map((e) => {
    const verdict = e.manifest === null ? undefined : checkManifest(JSON.stringify(e.manifest));
    const m = verdict?.ok ? verdict.manifest : undefined;
    const status = e.status === 'incomplete' ? 'incomplete' : !m ? 'INVALID MANIFEST' : e.status;
    const versions = m
      ? [
          ...m.gitlab.map((g) => `gitlab-${g.instance} ${g.version}`),
          ...m.images.filter((i) => !i.component.startsWith('gitlab')).map((i) => i.image),
        ].join(', ')
      : '-';
    return [
      e.id + (e.restoredFrom ? ' (restored)' : ''),
      m?.createdAt ?? '-',
      human(e.sizeBytes),
      status,
      versions || '-',
    ];
  });
  const head = ['ID', 'CREATED (UTC)', 'SIZE', 'STATUS', 'VERSIONS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows]
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  '))
    .join('\n');
}

function ask(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) => {
    // The first resolve wins: the answer, or nothing when stdin ends before one (Ctrl-D).
    rl.on('close', () => resolve(''));
    rl.question(question, (answer) => {
      resolve(answer.trim());
      rl.close();
    });
  });
}

async function backups(t: Topology, label: string, json: boolean): Promise<number> {
  const r = await runOnHost(t, label, SCRIPT.backups, ['--json'], true);
  if (r.status !== 0) return r.status;
  if (json) {
    process.stdout.write(r.stdout);
    return 0;
  }
  const report = JSON.parse(r.stdout) as BackupsReport;
  process.stdout.write(`${formatStatus(report)}\n`);
  process.stdout.write(report.backups.length === 0 ? '  no backups yet\n' : `${formatBackups(report.backups)}\n`);
  return 0;
}

async function restore(t: Topology, label: string, request: CliRequest, interactive: boolean): Promise<number> {
  const args = request.scriptArgs;
  if (!request.yes) {
    if (!interactive) {
      process.stderr.write(
        `${label}: error: a restore replaces live data and nobody can confirm it here (standard input is not a terminal): run again with --yes to restore without asking; nothing was changed\n`,
      );
      return 1;
    }
    // Every check first, changing nothing; then the plan and the question.
    const check = await runOnHost(t, label, SCRIPT.restore, [...args, '--check'], true);
    if (check.status !== 0) return check.status;
    process.stderr.write(check.stdout);
    const answer = await ask(`Type yes to restore stack ${t.stack} from ${args[0]}: `);
    if (answer !== 'yes') {
      process.stderr.write(`${label}: not confirmed; nothing was changed\n`);
      return 1;
    }
  }
  return (await runOnHost(t, label, SCRIPT.restore, [...args, '--yes'], false)).status;
}

function topologyOf(stack: string, dir: string): Topology {
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new UsageError(`no stack config ${file}`);
  return topologyFromStackYaml(fs.readFileSync(file, 'utf8'), stack);
}

export async function main(argv: readonly string[], dir = process.cwd()): Promise<number> {
  let request: CliRequest;
  let stacks: string[];
  const label = `npm run ${argv[0] ?? ''}`.trim();
  try {
    request = parseCli(argv);
    stacks =
      request.command === 'backups'
        ? chooseStacks(request.stack, process.env, dir)
        : [chooseStack(request.stack, process.env, dir)];
  } catch (err) {
    process.stderr.write(
      `${label}: error: ${err instanceof Error ? err.message : String(err)}; nothing was changed\n${err instanceof UsageError ? USAGE + '\n' : ''}`,
    );
    return err instanceof UsageError ? 2 : 1;
  }
  let worst = 0;
  for (const stack of stacks) {
    let t: Topology;
    try {
      t = topologyOf(stack, dir);
    } catch (err) {
      process.stderr.write(
        `${label}: error: ${err instanceof Error ? err.message : String(err)}; nothing was changed\n`,
      );
      worst = Math.max(worst, err instanceof UsageError ? 2 : 1);
      continue;
    }
    let status: number;
    if (request.command === 'backups') {
      if (stacks.length > 1 && stack !== stacks[0]) process.stdout.write('\n');
      status = await backups(t, label, request.json);
    } else if (request.command === 'restore') {
      status = await restore(t, label, request, Boolean(process.stdin.isTTY));
    } else {
      status = (await runOnHost(t, label, SCRIPT[request.command], request.scriptArgs, false)).status;
    }
    worst = Math.max(worst, status);
  }
  return worst;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
