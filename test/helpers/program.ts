import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import type * as Pulumi from '@pulumi/pulumi';

export const ROOT = path.join(__dirname, '..', '..');
/** A master secret for tests only; tests assert it (and everything derived from it) stays secret. */
export const TEST_MASTER_SECRET = 'test-master-secret-0123456789-abcdefghijklmnop';
/** Pulumi's marker for a secret value, as mocks see inputs. */
export const SECRET_SIG_KEY = '4dabf18193072939515e22adb298388d';
export const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

export interface RecordedOptions {
  /** Logical name of the parent resource ('' for the stack). */
  readonly parent: string;
  /** Logical names of explicit and implicit dependencies. */
  readonly dependsOn: string[];
  readonly retainOnDelete: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly replaceOnChanges: string[];
}

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  /** Resource options as the engine receives them (not visible to mocks' newResource). */
  readonly options: RecordedOptions;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  getRetainondelete(): boolean;
  getDeletebeforereplace(): boolean;
  getReplaceonchangesList(): string[];
}

const urnName = (urn: string) => urn.slice(urn.lastIndexOf('::') + 2);

/**
 * Calls `record` with every registration request the program sends, before the mock monitor handles it:
 * the resource options the mocks do not pass to `newResource` are only in the request.
 */
export function onRegistration<Request>(pulumi: typeof Pulumi, record: (req: Request) => void): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: Request, cb: unknown): unknown };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    record(req);
    return register(req, cb);
  };
}

export interface StackRun {
  readonly resources: RecordedResource[];
  /** The program's exports, resolved (secrets unwrapped). */
  readonly outputs: Record<string, unknown>;
}

/** Flattens a Pulumi.<stack>.yaml `config:` map the way the CLI hands it to a program. */
export function stackConfig(stack: string): Record<string, string> {
  const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
  const doc = yaml.load(fs.readFileSync(file, 'utf8')) as { config?: Record<string, unknown> };
  return flattenConfig(doc.config ?? {});
}

export function flattenConfig(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

export function isSecretValue(v: unknown): v is { value: unknown } {
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** Removes Pulumi's secret wrappers, for assertions on values. */
export function unwrap(v: unknown): unknown {
  if (isSecretValue(v)) return unwrap(v.value);
  if (Array.isArray(v)) return v.map(unwrap);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
  return v;
}

export function promiseOf<T>(o: Pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply(resolve));
}

/** Fake outputs a real provider would return, so dependent inputs resolve to stable values. */
function fakeState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case 'docker:index/remoteImage:RemoteImage':
      return {
        ...inputs,
        imageId: `sha256:${Buffer.from(String(unwrap(inputs.name)))
          .toString('hex')
          .padEnd(64, '0')
          .slice(0, 64)}`,
      };
    case 'random:index/randomPassword:RandomPassword':
      return { ...inputs, result: `random-${name}` };
    case 'command:local:Command':
    case 'command:remote:Command':
      return { ...inputs, stdout: '', stderr: '' };
    default:
      return inputs;
  }
}

/**
 * Runs index.ts under Pulumi's mocks with the given flat config, in a fresh module registry so it can
 * run several times in one test file. Any provider function call fails the run: Kytes makes none.
 */
export async function runProgram(
  stack: string,
  config: Record<string, string>,
  run: { masterSecret?: string | null; secretKeys?: string[] } = {},
): Promise<StackRun> {
  const resources: RecordedResource[] = [];
  const options = new Map<string, RecordedOptions>();
  const cfg = { ...config };
  const secretKeys = [...(run.secretKeys ?? [])];
  if (run.masterSecret !== null) {
    cfg['kytes:masterSecret'] = run.masterSecret ?? TEST_MASTER_SECRET;
    secretKeys.push('kytes:masterSecret');
  }
  let outputs: Record<string, unknown> = {};
  try {
    await jestIsolated(async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pulumi = require('@pulumi/pulumi') as typeof Pulumi;
      await pulumi.runtime.setMocks(
        {
          newResource(args) {
            resources.push({ type: args.type, name: args.name, inputs: args.inputs, options: options.get(args.name)! });
            return { id: `${args.name}-id`, state: fakeState(args.type, args.name, args.inputs) };
          },
          call(args) {
            throw new Error(`unexpected provider call ${args.token}`);
          },
        },
        'kytes',
        stack,
        false,
      );
      onRegistration<RegisterRequest>(pulumi, (req) =>
        options.set(req.getName(), {
          parent: req.getParent() ? urnName(req.getParent()) : '',
          dependsOn: req.getDependenciesList().map(urnName).sort(),
          retainOnDelete: req.getRetainondelete(),
          deleteBeforeReplace: req.getDeletebeforereplace(),
          replaceOnChanges: req.getReplaceonchangesList(),
        }),
      );
      pulumi.runtime.setAllConfig(cfg, secretKeys);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const program = require(path.join(ROOT, 'index.ts')) as Record<string, unknown>;
      const resolved: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(program)) {
        resolved[k] = await promiseOf(pulumi.output(v));
      }
      outputs = resolved;
      // Let registrations that no export depends on finish too.
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    });
  } catch (e) {
    throw new ProgramError(e instanceof Error ? e.message : String(e), resources, e);
  }
  return { resources, outputs };
}

/** The program failed; `resources` says what it had registered by then, `thrown` what it threw. */
export class ProgramError extends Error {
  constructor(
    message: string,
    readonly resources: RecordedResource[],
    readonly thrown?: unknown,
  ) {
    super(message);
  }
}

async function jestIsolated(fn: () => Promise<void>): Promise<void> {
  await jest.isolateModulesAsync(fn);
}

export function runStack(stack: string, extraConfig: Record<string, string> = {}): Promise<RecordedResource[]> {
  return runProgram(stack, { ...stackConfig(stack), ...extraConfig }).then((r) => r.resources);
}

/** The nginx config a run renders: the stdin of the step that writes it into nginx's config volume. */
export function nginxConfigOf(resources: readonly RecordedResource[], prefix: string): string {
  const step = resources.find((r) => r.name === `${prefix}-nginx-apply-config`);
  if (!step) throw new Error(`no ${prefix}-nginx-apply-config in this run`);
  return String(unwrap(step.inputs.stdin));
}
