import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configSchema, KytesConfigInput } from '../../lib/config';
import { deriveTopology, Topology } from '../../lib/topology';
import { OpsOptions, renderOpsScripts } from '../../ops/scripts';

/** Shared by the ops unit tests: a topology from a config, and the rendered scripts on disk. */

export const OPTIONS: OpsOptions = {
  keepLast: 6,
  keepDaily: 7,
  keepWeekly: 4,
  projectCommit: '0123abc',
  projectDirty: false,
};

export function topologyFor(config: KytesConfigInput = {}, stack = 'unit'): Topology {
  return deriveTopology(configSchema.parse(config), stack);
}

/** A fresh temporary directory, removed by {@link removeDir}. */
export function tempDir(what: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `kytes-ops-${what}-`));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Renders the scripts for `t` and writes them, executable, into `dir`. */
export function installScripts(t: Topology, options: OpsOptions, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(renderOpsScripts(t, options))) {
    fs.writeFileSync(path.join(dir, name), content, { mode: 0o755 });
  }
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an installed script with bash, stdin closed, like cron would. */
export function runScript(dir: string, name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): RunResult {
  const r = spawnSync('bash', [path.join(dir, name), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a bash snippet after sourcing the rendered kytes-lib.sh from `dir`. */
export function withLib(dir: string, snippet: string, input?: string): RunResult {
  const r = spawnSync(
    'bash',
    ['-c', `set -euo pipefail; . ${JSON.stringify(path.join(dir, 'kytes-lib.sh'))}; ${snippet}`],
    {
      encoding: 'utf8',
      input,
      timeout: 120_000,
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
