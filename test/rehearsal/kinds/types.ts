import type { Engine } from '../engine';
import type { StandIns } from '../standins';

/** What the harness keeps of one resource, as Pulumi keeps it in its state (inputs with secrets unwrapped). */
export interface ResourceState {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly id: string;
  readonly inputs: Record<string, unknown>;
  /** Properties the provider computed (container id, image id, command stdout, …). */
  readonly outputs: Record<string, unknown>;
  /** URN of the provider resource that manages it, if any. */
  readonly provider?: string;
  readonly parent: string;
  /** Explicit `dependsOn` and the resources its inputs' Outputs came from, as the SDK sends them. */
  readonly dependencies: readonly string[];
  readonly deleteBeforeReplace: boolean;
  readonly retainOnDelete: boolean;
  readonly replaceOnChanges: readonly string[];
}

/** How a change of one input is applied by the real provider. */
export type Effect = 'replace' | 'update' | 'state';

export interface Diff {
  readonly kind: 'same' | 'update' | 'replace';
  /** Changed top-level inputs. */
  readonly changed: readonly string[];
}

export interface Context {
  /** The engine of the provider resource `providerUrn` (or the default one). */
  engine(providerUrn: string | undefined): Promise<Engine>;
  readonly standins: StandIns;
  /** Working directory of `pulumi` (the project directory): local commands run there unless `dir` says otherwise. */
  readonly cwd: string;
  /** The environment of the `pulumi` process, inherited by local commands. */
  readonly env: NodeJS.ProcessEnv;
  /** Harness log (progress, command output when its `logging` allows it). */
  log(line: string): void;
}

export interface Created {
  readonly id: string;
  readonly outputs: Record<string, unknown>;
}

/** One resource type as its real provider implements it. */
export interface ResourceKind {
  /** Output properties that are secret whatever the inputs (e.g. a random password's result). */
  readonly secretOutputs?: readonly string[];
  /** Inputs the provider holds as sets: their order is not a change. */
  readonly sets?: readonly string[];
  /** Every output is secret when any input is (pulumi-command's behaviour). */
  readonly outputsFollowInputSecrets?: boolean;
  /** Rejects inputs the harness cannot honour exactly (an unknown field, an unsupported option). */
  validate(inputs: Record<string, unknown>): void;
  /** The effect the provider gives a change of `key` (a top-level input). */
  effect(key: string): Effect;
  create(
    ctx: Context,
    r: { urn: string; name: string; provider?: string; inputs: Record<string, unknown> },
  ): Promise<Created>;
  /** In-place update; only called when every changed key's effect is `update` or `state`. */
  update(
    ctx: Context,
    old: ResourceState,
    inputs: Record<string, unknown>,
    changed: readonly string[],
  ): Promise<Created>;
  delete(ctx: Context, state: ResourceState): Promise<void>;
}

/** Fails on any key of `value` outside `known`, naming where it was found. */
export function onlyKnown(where: string, value: unknown, known: readonly string[]): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  const unknown = Object.keys(value).filter(
    (k) => !known.includes(k) && (value as Record<string, unknown>)[k] !== undefined,
  );
  if (unknown.length > 0) {
    throw new Error(
      `rehearsal: ${where} has ${unknown.map((k) => `"${k}"`).join(', ')}, which the harness does not translate; ` +
        'add it to the translation table in test/rehearsal/kinds/ so it is not silently ignored',
    );
  }
}

export const asArray = (v: unknown): Record<string, unknown>[] =>
  Array.isArray(v) ? (v as Record<string, unknown>[]) : [];

/** A create that failed after the resource came to exist: Pulumi keeps it in state, to be replaced. */
export class PartialCreate extends Error {
  constructor(
    readonly cause: unknown,
    readonly created: Created,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}
