import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseConfig } from '../lib/config';
import { sshArgv } from '../lib/connection';
import { shellWord } from '../lib/sinks';
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

/** What the CLI puts where a `secure:` value is: it never decrypts one, and the topology needs none. */
const UNREAD_SECRET = 'secret value not read by the Kytes CLI (it needs none)';

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

/** The program and arguments that run `script` with `args` on the stack's Docker host. Pure. */
export function hostCommand(t: Topology, script: string, args: readonly string[]): { file: string; args: string[] } {
  const target = path.posix.join(t.ops.scriptsDir, script);
  if (!t.docker.ssh) return { file: 'bash', args: [target, ...args] };
  // The same ssh command line as every Pulumi step (lib/connection.ts); the remote command is one
  // string the remote shell splits, so each word is quoted.
  return { file: 'ssh', args: [...sshArgv(t.docker.ssh), [target, ...args].map(shellWord).join(' ')] };
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
