import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { topologyFromStackYaml } from '../ops/cli';
import { declaredVolumes, Topology } from '../lib/topology';

/**
 * `npm run dev:reset [-- --yes] [--stack NAME]`: deletes the data volumes `pulumi destroy` keeps, after
 * `npm run dev:down`. It lists exactly the stack's volumes — those labelled `kytes.prefix=<prefix>` whose
 * name starts with `<prefix>-` — on the stack's Docker engine, and asks before deleting (type the prefix;
 * `--yes` for scripts). It refuses while any container of the stack exists.
 */

export const USAGE = 'usage: npm run dev:reset -- [--yes] [--stack NAME]   (default stack: dev)';

export interface ResetOptions {
  /** Directory holding `Pulumi.<stack>.yaml`. */
  readonly dir: string;
  readonly stack: string;
  /** Delete without asking. */
  readonly yes: boolean;
  /** Asks the question and resolves with the answer; undefined when there is no terminal to ask on. */
  readonly ask?: (question: string) => Promise<string>;
  readonly out: (line: string) => void;
}

export class ResetError extends Error {}

export function parseArgs(argv: readonly string[]): { stack: string; yes: boolean } {
  let stack = 'dev';
  let yes = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--yes') yes = true;
    else if (argv[i] === '--stack' && /^[A-Za-z0-9._-]+$/.test(argv[i + 1] ?? '')) stack = argv[++i];
    else throw new ResetError(`unexpected argument '${argv[i]}'\n${USAGE}`);
  }
  return { stack, yes };
}

function docker(t: Topology, args: string[]): string[] {
  const r = spawnSync('docker', args, {
    encoding: 'utf8',
    env: { ...process.env, DOCKER_HOST: t.docker.url },
    timeout: 60_000,
  });
  if (r.error) throw new ResetError(`cannot run docker: ${r.error.message}`);
  if (r.status !== 0) throw new ResetError(`docker ${args[0]} ${args[1]} failed: ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** The stack's volumes present on its engine: label and name both say they belong to the prefix. */
export function stackVolumes(t: Topology): string[] {
  const labelled = docker(t, ['volume', 'ls', '--filter', `label=kytes.prefix=${t.prefix}`, '--format', '{{.Name}}']);
  return labelled.filter((name) => name.startsWith(`${t.prefix}-`)).sort();
}

/** Returns the volumes deleted; throws {@link ResetError} (nothing deleted) when it may not go on. */
export async function reset(o: ResetOptions): Promise<string[]> {
  const file = path.join(o.dir, `Pulumi.${o.stack}.yaml`);
  if (!fs.existsSync(file)) throw new ResetError(`no stack config ${file}`);
  const t = topologyFromStackYaml(fs.readFileSync(file, 'utf8'), o.stack);
  const containers = docker(t, ['ps', '-a', '--filter', `label=kytes.prefix=${t.prefix}`, '--format', '{{.Names}}']);
  if (containers.length > 0) {
    throw new ResetError(
      `the ${o.stack} stack still has containers (${containers.sort().join(', ')}): run npm run dev:down first; nothing was deleted`,
    );
  }
  const volumes = stackVolumes(t);
  if (volumes.length === 0) {
    o.out(`dev-reset: no volume of the ${o.stack} stack (prefix ${t.prefix}) on ${t.docker.url}; nothing to delete`);
    return [];
  }
  const declared = new Set(declaredVolumes(t).map((v) => v.name));
  o.out(`dev-reset: the ${o.stack} stack (prefix ${t.prefix}) has ${volumes.length} volumes on ${t.docker.url}:`);
  for (const v of volumes)
    o.out(`  ${v}${declared.has(v) ? '' : '   (not in the current config: left by an earlier one)'}`);
  if (!o.yes) {
    if (!o.ask) {
      throw new ResetError(
        'not a terminal, so nobody can confirm: run again with --yes to delete them; nothing was deleted',
      );
    }
    const answer = await o.ask(
      `Delete these ${volumes.length} volumes and all their data? Type ${t.prefix} to confirm: `,
    );
    if (answer.trim() !== t.prefix) throw new ResetError('not confirmed; nothing was deleted');
  }
  for (const v of volumes) {
    docker(t, ['volume', 'rm', v]);
    o.out(`dev-reset: deleted ${v}`);
  }
  o.out(`dev-reset: backups in ${t.ops.backupDir} are kept; delete them by hand if you want them gone too`);
  return volumes;
}

function terminalQuestion(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) =>
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    }),
  );
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    const { stack, yes } = parseArgs(argv);
    await reset({
      dir: process.cwd(),
      stack,
      yes,
      ask: process.stdin.isTTY ? terminalQuestion : undefined,
      out: (line) => process.stdout.write(`${line}\n`),
    });
    return 0;
  } catch (err) {
    process.stderr.write(`dev-reset: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof ResetError ? 1 : 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
