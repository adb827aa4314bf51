import * as path from 'path';
import type * as Pulumi from '@pulumi/pulumi';
import { onRegistration, promiseOf, ROOT, unwrap } from '../helpers/program';
import type { Deployer, Registration } from './deployer';

/**
 * Runs index.ts under Pulumi's mocks (as test/helpers/program.ts does), with `newResource` handing each
 * registration to the deployer, which applies it before answering — so the program sees real ids, image
 * ids and command outputs, and the SDK orders registrations by dependsOn and Output dependencies as it
 * does against the real engine. The resource options the mocks do not pass to `newResource` are read
 * from the registration request.
 */

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProtect(): boolean;
  getDependenciesList(): string[];
  getRetainondelete(): boolean;
  getDeletebeforereplace(): boolean;
  getReplaceonchangesList(): string[];
  getIgnorechangesList(): string[];
  getImportid(): string;
  getDeletedwith(): string;
  getReplaceWithList?(): string[];
  getReplacementTrigger?(): unknown;
  getTransformsList(): unknown[];
  getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
  getHooks?(): { toObject?(): Record<string, unknown[]> } | undefined;
  getAliasesList(): unknown[];
}

type Options = Omit<Registration, 'type' | 'name' | 'custom' | 'inputs' | 'provider'>;

function optionsOf(req: RegisterRequest): Options {
  const unsupported: string[] = [];
  if (req.getImportid()) unsupported.push('import');
  if (req.getDeletedwith()) unsupported.push('deletedWith');
  if ((req.getReplaceWithList?.() ?? []).length > 0) unsupported.push('replaceWith');
  if (req.getReplacementTrigger?.()) unsupported.push('replacementTrigger');
  if (req.getTransformsList().length > 0) unsupported.push('transforms');
  if (req.getAliasesList().length > 0) unsupported.push('aliases');
  if (req.getProtect()) unsupported.push('protect');
  const t = req.getCustomtimeouts();
  if (t && (t.getCreate() || t.getUpdate() || t.getDelete())) unsupported.push('customTimeouts');
  const hooks = req.getHooks?.()?.toObject?.() ?? {};
  if (Object.values(hooks).some((h) => Array.isArray(h) && h.length > 0)) unsupported.push('hooks');
  return {
    parent: req.getParent(),
    dependencies: req.getDependenciesList(),
    deleteBeforeReplace: req.getDeletebeforereplace(),
    retainOnDelete: req.getRetainondelete(),
    replaceOnChanges: req.getReplaceonchangesList(),
    ignoreChanges: req.getIgnorechangesList(),
    protect: req.getProtect(),
    unsupported,
  };
}

export interface ProgramRun {
  /** The program's exports, resolved, secrets unwrapped. */
  readonly outputs: Record<string, unknown>;
}

/** One `pulumi up`: the program with `config` (flat `kytes:key` → string) against `deployer`. */
export async function runAgainst(
  deployer: Deployer,
  stack: string,
  config: Record<string, string>,
  secretKeys: readonly string[],
): Promise<ProgramRun> {
  const options = new Map<string, Options>();
  let outputs: Record<string, unknown> = {};
  const rejections: unknown[] = [];
  const onRejection = (e: unknown) => rejections.push(e);
  // As the language host does, the run reports what the SDK leaves unhandled (a failed registration
  // rejects every Output that depends on it): its error is this function's, not the test runner's.
  // The handlers are those of the real process (jest gives test code a copy of `process`).
  const host = realProcess();
  const saved = host.listeners('unhandledRejection');
  host.removeAllListeners('unhandledRejection');
  host.on('unhandledRejection', onRejection);
  try {
    await jest.isolateModulesAsync(async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pulumi = require('@pulumi/pulumi') as typeof Pulumi;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const settings = require('@pulumi/pulumi/runtime/settings') as { waitForRPCs(): Promise<void> };
      await pulumi.runtime.setMocks(
        {
          newResource(args) {
            const key = `${args.type}::${args.name}`;
            const o = options.get(key);
            if (!o) throw new Error(`rehearsal: no options recorded for ${key}`);
            return deployer.register({
              type: args.type,
              name: args.name,
              custom: args.custom !== false,
              inputs: args.inputs as Record<string, unknown>,
              provider: args.provider || undefined,
              ...o,
            });
          },
          call(args) {
            throw new Error(`rehearsal: unexpected provider function call ${args.token}`);
          },
        },
        'kytes',
        stack,
        false,
      );
      onRegistration<RegisterRequest>(pulumi, (req) => {
        const key = `${req.getType()}::${req.getName()}`;
        if (options.has(key)) throw new Error(`rehearsal: two resources named ${key}`);
        options.set(key, optionsOf(req));
      });
      pulumi.runtime.setAllConfig({ ...config }, [...secretKeys]);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const program = require(path.join(ROOT, 'index.ts')) as Record<string, unknown>;
      // The engine's view of the end of a run: every registration has answered. A failed step fails the
      // run; exports that depend on it never resolve, so they are not waited for then.
      const drained = settings.waitForRPCs();
      const failed = new Promise<never>((_, reject) => {
        const check = () => {
          if (deployer.errors.length > 0) reject(deployer.errors[0]);
        };
        const poll = setInterval(check, 200);
        drained.then(() => {
          clearInterval(poll);
          check();
          setTimeout(
            () => reject(new Error('rehearsal: an export did not resolve after every registration')),
            60_000,
          ).unref();
        });
      });
      failed.catch(() => undefined);
      const resolved: Record<string, unknown> = {};
      try {
        for (const [k, v] of Object.entries(program)) {
          resolved[k] = unwrap(await Promise.race([promiseOf(pulumi.output(v)), failed]));
        }
      } finally {
        // Steps already running finish, as with the engine after a failure; nothing new starts after it.
        await settings.waitForRPCs();
      }
      outputs = resolved;
    });
  } catch (e) {
    if (deployer.errors.length === 0) throw e;
  } finally {
    // Late rejections of the failed run still land here before the runner's handlers come back.
    await new Promise((r) => setTimeout(r, 100));
    host.off('unhandledRejection', onRejection);
    for (const l of saved) host.on('unhandledRejection', l as (...args: unknown[]) => void);
  }
  if (deployer.errors.length > 0) throw aggregate(deployer.errors);
  const real = rejections.filter((e) => !deployer.errors.some((d) => d === e || String(e).includes(d.message)));
  if (real.length > 0) throw new Error(`the program failed: ${String(real[0])}`);
  return { outputs };
}

/** The Node.js process object, outside jest's sandbox (vm.runInThisContext evaluates in the main context). */
function realProcess(): NodeJS.Process {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('vm') as typeof import('vm')).runInThisContext('process') as NodeJS.Process;
}

function aggregate(errors: readonly Error[]): Error {
  return new Error(`update failed:\n${errors.map((e) => `  - ${e.message}`).join('\n')}`);
}
