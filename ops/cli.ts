import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { configSchema, keyPath, SECRET_KEYS, takeSmtpPassword } from '../lib/config';
import { deriveTopology, Topology } from '../lib/topology';
import { checkManifest } from './manifest';

/**
 * Operator commands that need no `pulumi up`: thin wrappers that run the ops scripts installed on
 * the Docker host (locally with bash, or over ssh for an `ssh://` Docker host). Names and paths come
 * from the topology of the selected stack, read from `Pulumi.<stack>.yaml` — no Pulumi login, no
 * secret: the scripts need none.
 *
 *   npm run backup  -- [--stack NAME] [--label LABEL]
 *   npm run restore -- ID [--stack NAME]
 *   npm run backups -- [--stack NAME] [--json]
 */

export const USAGE = `usage:
  npm run backup  -- [--stack NAME] [--label LABEL]   take a verified backup now
  npm run restore -- ID [--stack NAME]                restore the stack from backup ID
  npm run backups -- [--stack NAME] [--json]          list backups: time, size, versions, verified
The stack defaults to $PULUMI_STACK, else the only Pulumi.<stack>.yaml here.`;

export type Command = 'backup' | 'restore' | 'backups';

export interface CliRequest {
  readonly command: Command;
  readonly stack?: string;
  /** Arguments for the script on the Docker host. */
  readonly scriptArgs: string[];
  /** `backups` only: print the host's JSON as it is. */
  readonly json: boolean;
}

export class UsageError extends Error {}

/** Parses `<command> [args]`; throws {@link UsageError} on anything else. Pure. */
export function parseCli(argv: readonly string[]): CliRequest {
  const [command, ...rest] = argv;
  if (command !== 'backup' && command !== 'restore' && command !== 'backups') {
    throw new UsageError(command === undefined ? 'missing command' : `unknown command '${command}'`);
  }
  let stack: string | undefined;
  let json = false;
  const scriptArgs: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--stack') {
      stack = rest[++i];
      if (!stack || !/^[A-Za-z0-9._-]+$/.test(stack)) throw new UsageError('--stack needs a stack name');
    } else if (a === '--label' && command === 'backup') {
      const label = rest[++i];
      if (!label || !/^[a-z0-9]+$/.test(label)) throw new UsageError('--label needs lower-case letters and digits');
      scriptArgs.push('--label', label);
    } else if (a === '--json' && command === 'backups') {
      json = true;
    } else if (command === 'restore' && !a.startsWith('-') && scriptArgs.length === 0) {
      if (!/^[0-9]{8}T[0-9]{6}Z(-[a-z0-9]+)?$/.test(a))
        throw new UsageError(`'${a}' is not a backup id (YYYYMMDDTHHMMSSZ[-label])`);
      scriptArgs.push(a);
    } else {
      throw new UsageError(`unexpected argument '${a}'`);
    }
  }
  if (command === 'restore' && scriptArgs.length === 0)
    throw new UsageError('restore needs a backup id (list them with npm run backups)');
  return { command, stack, scriptArgs, json };
}

/** The stack to use: --stack, else $PULUMI_STACK, else the only Pulumi.<stack>.yaml in `dir`. */
export function chooseStack(requested: string | undefined, env: NodeJS.ProcessEnv, dir: string): string {
  if (requested) return requested;
  if (env.PULUMI_STACK) return env.PULUMI_STACK;
  const stacks = fs
    .readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined);
  if (stacks.length === 1) return stacks[0];
  throw new UsageError(
    stacks.length === 0
      ? `no Pulumi.<stack>.yaml in ${dir}`
      : `several stacks (${stacks.join(', ')}): choose one with --stack`,
  );
}

interface YamlModule {
  load(text: string): unknown;
}
// js-yaml ships with @pulumi/pulumi (no types of its own).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as YamlModule;

/** The topology of `stack` from the text of its `Pulumi.<stack>.yaml`. Secret values are skipped, never read. */
export function topologyFromStackYaml(text: string, stack: string): Topology {
  const doc = yaml.load(text);
  const config = doc && typeof doc === 'object' && 'config' in doc ? (doc as { config: unknown }).config : {};
  const raw: Record<string, unknown> = {};
  for (const [fullKey, value] of Object.entries((config ?? {}) as Record<string, unknown>)) {
    if (!fullKey.startsWith('kytes:')) continue;
    const key = fullKey.slice('kytes:'.length);
    const isSecret = value !== null && typeof value === 'object' && 'secure' in value;
    if (isSecret || Object.values(SECRET_KEYS).includes(key as never)) continue;
    raw[key] = value;
  }
  takeSmtpPassword(raw);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `Pulumi.${stack}.yaml:\n${parsed.error.issues.map((i) => `  - ${keyPath(i.path)}: ${i.message}`).join('\n')}`,
    );
  }
  return deriveTopology(parsed.data, stack);
}

const shellWord = (s: string) => (/^[A-Za-z0-9._/=:@-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The program and arguments that run `script` with `args` on the stack's Docker host. Pure. */
export function hostCommand(t: Topology, script: string, args: readonly string[]): { file: string; args: string[] } {
  const target = path.posix.join(t.ops.scriptsDir, script);
  if (t.docker.kind === 'local' || !t.docker.ssh) return { file: 'bash', args: [target, ...args] };
  const { user, host, port } = t.docker.ssh;
  return {
    file: 'ssh',
    args: [
      ...t.docker.sshOpts,
      '-p',
      String(port),
      '-o',
      'BatchMode=yes',
      user ? `${user}@${host}` : host,
      '--',
      [target, ...args].map(shellWord).join(' '),
    ],
  };
}

interface ListedBackup {
  id: string;
  status: string;
  sizeBytes: number;
  restoredFrom: boolean;
  manifest: unknown;
}

const human = (n: number) =>
  n >= 2 ** 30
    ? `${(n / 2 ** 30).toFixed(1)} GiB`
    : n >= 2 ** 20
      ? `${(n / 2 ** 20).toFixed(1)} MiB`
      : `${Math.floor(n / 1024)} KiB`;

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

const SCRIPT: Record<Command, string> = { backup: 'kytes-backup', restore: 'kytes-restore', backups: 'kytes-backups' };

async function main(argv: readonly string[]): Promise<number> {
  let request: CliRequest;
  let t: Topology;
  try {
    request = parseCli(argv);
    const stack = chooseStack(request.stack, process.env, process.cwd());
    const file = path.join(process.cwd(), `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new UsageError(`no stack config ${file}`);
    t = topologyFromStackYaml(fs.readFileSync(file, 'utf8'), stack);
  } catch (err) {
    process.stderr.write(
      `${err instanceof Error ? err.message : String(err)}\n${err instanceof UsageError ? USAGE + '\n' : ''}`,
    );
    return err instanceof UsageError ? 2 : 1;
  }
  if (request.command === 'backups' && !request.json) {
    const cmd = hostCommand(t, SCRIPT.backups, ['--json']);
    const r = spawnSync(cmd.file, cmd.args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) return r.status ?? 1;
    const entries = JSON.parse(r.stdout) as ListedBackup[];
    process.stdout.write(
      entries.length === 0 ? `no backups of stack ${t.stack} in ${t.ops.backupDir}\n` : `${formatBackups(entries)}\n`,
    );
    return 0;
  }
  const args = request.command === 'backups' ? ['--json'] : request.scriptArgs;
  const cmd = hostCommand(t, SCRIPT[request.command], args);
  return new Promise((resolve) => {
    const child = spawn(cmd.file, cmd.args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (e) => {
      process.stderr.write(`${cmd.file}: ${e.message}\n`);
      resolve(1);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
