import { spawn } from 'child_process';
import { Context, onlyKnown, ResourceKind, ResourceState } from './types';

/**
 * `command:local:Command` as pulumi-command 1.2.1 runs it (provider/pkg/provider/local/commandOutputs.go,
 * commandController.go). Kytes registers no `command:remote:Command` (every host command is a local
 * Command whose interpreter is ssh, lib/connection.ts), so that type is not here and would fail the run.
 * - create runs `create`; an update (any changed input but `triggers`) runs `update`, else `create`
 *   again, keeping the previous stdout/stderr; a changed `triggers` replaces; delete runs the `delete`
 *   stored in state, with the inputs stored in state;
 * - local: `interpreter` (default /bin/sh -c) + the command, in `dir` (default: the directory pulumi runs
 *   in), with the environment of the pulumi process plus `environment`, `stdin` when not empty, and
 *   PULUMI_COMMAND_STDOUT/STDERR of the previous run unless `addPreviousOutputInEnv` is false;
 * - a failure is `<error>: running "<command>":\n<output>` (the command string and its whole output);
 *   stdout and stderr are kept with their last newline trimmed.
 */
const COMMON = ['create', 'update', 'delete', 'triggers', 'stdin', 'logging', 'environment', 'addPreviousOutputInEnv'];
const LOCAL = [...COMMON, 'interpreter', 'dir', 'assetPaths', 'archivePaths'];
interface Run {
  readonly stdout: string;
  readonly stderr: string;
}

function exec(
  ctx: Context,
  label: string,
  logging: unknown,
  program: string,
  args: string[],
  opts: { cwd?: string; env: NodeJS.ProcessEnv; stdin?: string; shown: string },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let both = '';
    const mode = String(logging ?? 'stdoutAndStderr');
    const show = (stream: 'stdout' | 'stderr', text: string) => {
      if (mode === 'stdoutAndStderr' || mode === stream) {
        for (const line of text.split('\n').filter((l) => l.length > 0)) ctx.log(`[${label}] ${line}`);
      }
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      both += d.toString();
      show('stdout', d.toString());
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      both += d.toString();
      show('stderr', d.toString());
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ stdout: stdout.replace(/\n$/, ''), stderr: stderr.replace(/\n$/, '') });
      else
        reject(
          new Error(
            `${signal ? `signal: ${signal}` : `exit status ${code}`}: running ${JSON.stringify(opts.shown)}:\n${both}`,
          ),
        );
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin && opts.stdin.length > 0 ? opts.stdin : undefined);
  });
}

function previousOutputEnv(inputs: Record<string, unknown>, previous?: Run): Record<string, string> {
  if (inputs.addPreviousOutputInEnv === false || !previous) return {};
  return {
    ...(previous.stdout ? { PULUMI_COMMAND_STDOUT: previous.stdout } : {}),
    ...(previous.stderr ? { PULUMI_COMMAND_STDERR: previous.stderr } : {}),
  };
}

async function runLocal(ctx: Context, name: string, command: string, inputs: Record<string, unknown>, previous?: Run) {
  const interpreter =
    Array.isArray(inputs.interpreter) && inputs.interpreter.length > 0
      ? inputs.interpreter.map(String)
      : ['/bin/sh', '-c'];
  const env = {
    ...ctx.env,
    ...((inputs.environment as Record<string, string>) ?? {}),
    ...previousOutputEnv(inputs, previous),
  };
  return exec(ctx, name, inputs.logging, interpreter[0], [...interpreter.slice(1), command], {
    cwd: inputs.dir === undefined ? ctx.cwd : String(inputs.dir),
    env,
    stdin: inputs.stdin as string | undefined,
    shown: command,
  });
}

function commandKind(fields: readonly string[]): ResourceKind {
  const run = (ctx: Context, name: string, command: string, inputs: Record<string, unknown>, previous?: Run) =>
    runLocal(ctx, name, command, inputs, previous);
  return {
    outputsFollowInputSecrets: true,
    validate(inputs) {
      onlyKnown('a command.local.Command', inputs, fields);
      if (inputs.assetPaths !== undefined || inputs.archivePaths !== undefined) {
        throw new Error('rehearsal: assetPaths/archivePaths are not translated');
      }
    },
    effect: (key) => (key === 'triggers' ? 'replace' : 'update'),
    async create(ctx, r) {
      const out =
        r.inputs.create === undefined
          ? { stdout: '', stderr: '' }
          : await run(ctx, r.name, String(r.inputs.create), r.inputs);
      return { id: `${r.name}-${Date.now().toString(16)}`, outputs: { ...out } };
    },
    async update(ctx, old: ResourceState, inputs) {
      const previous = { stdout: String(old.outputs.stdout ?? ''), stderr: String(old.outputs.stderr ?? '') };
      const command = inputs.update ?? inputs.create;
      if (command === undefined) return { id: old.id, outputs: old.outputs };
      const out = await run(ctx, old.name, String(command), inputs, previous);
      return { id: old.id, outputs: { ...out } };
    },
    async delete(ctx, state) {
      if (state.inputs.delete === undefined) return;
      const previous = { stdout: String(state.outputs.stdout ?? ''), stderr: String(state.outputs.stderr ?? '') };
      await run(ctx, state.name, String(state.inputs.delete), state.inputs, previous);
    },
  };
}

export const localCommandKind = commandKind(LOCAL);
