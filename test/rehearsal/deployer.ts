import * as fs from 'fs';
import { SECRET_SIG, SECRET_SIG_KEY, isSecretValue, unwrap } from '../helpers/program';
import { KINDS } from './kinds';
import { Diff, PartialCreate, ResourceKind, ResourceState } from './kinds/types';
import type { Context } from './kinds/types';

/**
 * The part of the Pulumi engine the rehearsal needs, driven by the program's own registrations: each
 * resource the program registers (under Pulumi's mocks, see program.ts) is diffed against the state file
 * and created, updated, replaced or left alone on the spot, in the order the SDK registers them — which
 * waits for every `dependsOn` and every Output an input depends on, as with the real engine. When the
 * program is done, resources it no longer registers are deleted, dependents first; `destroy` deletes
 * everything that way. `retainOnDelete` resources leave the state untouched on the host.
 */

export interface Registration {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly inputs: Record<string, unknown>;
  /** `urn::id` of the provider, when explicit. */
  readonly provider?: string;
  readonly parent: string;
  readonly dependencies: readonly string[];
  readonly deleteBeforeReplace: boolean;
  readonly retainOnDelete: boolean;
  readonly replaceOnChanges: readonly string[];
  readonly ignoreChanges: readonly string[];
  readonly protect: boolean;
  /** Options the harness cannot honour, by name (each fails the run). */
  readonly unsupported: readonly string[];
}

/** `delete-replaced`: the old copy of a resource replaced create-before-delete, deleted at the end. */
export type Op = 'create' | 'update' | 'replace' | 'same' | 'delete' | 'retain' | 'delete-replaced';

export interface Step {
  readonly op: Op;
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** Inputs whose change caused the update or replacement. */
  readonly changed?: readonly string[];
  readonly ms: number;
}

interface StoredResource extends ResourceState {
  /** A create that failed after the resource existed: the next `up` replaces it. */
  readonly tainted?: boolean;
}

interface StateFile {
  resources: Record<string, StoredResource>;
  /** Replaced resources (create-before-delete) whose old copy is deleted at the end of the `up`. */
  pendingDeletes: StoredResource[];
}

/** The state file: written after every step, as Pulumi checkpoints, with secrets in clear (mode 0600). */
export class StateStore {
  private data: StateFile;

  constructor(private readonly file: string) {
    this.data = fs.existsSync(file)
      ? (JSON.parse(fs.readFileSync(file, 'utf8')) as StateFile)
      : { resources: {}, pendingDeletes: [] };
  }

  get(urn: string): StoredResource | undefined {
    return this.data.resources[urn];
  }
  all(): StoredResource[] {
    return Object.values(this.data.resources);
  }
  pending(): StoredResource[] {
    return [...this.data.pendingDeletes];
  }
  put(r: StoredResource): void {
    this.data.resources[r.urn] = r;
    this.save();
  }
  drop(r: StoredResource): void {
    if (this.data.resources[r.urn] === r) delete this.data.resources[r.urn];
    this.data.pendingDeletes = this.data.pendingDeletes.filter((p) => p !== r);
    this.save();
  }
  addPending(r: StoredResource): void {
    this.data.pendingDeletes.push(r);
    this.save();
  }
  private save(): void {
    fs.writeFileSync(`${this.file}.tmp`, JSON.stringify(this.data, null, 1), { mode: 0o600 });
    fs.renameSync(`${this.file}.tmp`, this.file);
  }
}

/** URNs as Pulumi's mock monitor builds them (parent type prefixed), so they are stable across runs. */
export function urnOf(stack: string, project: string, parent: string, type: string, name: string): string {
  const qualified = parent ? `${parent.split('::')[2].split('$').pop()}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

const stable = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : x,
  );

/** Keys whose value differs; lists the provider holds as sets compare without order. */
export function changedKeys(kind: ResourceKind, old: Record<string, unknown>, news: Record<string, unknown>): string[] {
  const norm = (k: string, v: unknown) =>
    kind.sets?.includes(k) && Array.isArray(v) ? stable(v.map(stable).sort()) : stable(v ?? null);
  return [...new Set([...Object.keys(old), ...Object.keys(news)])]
    .filter((k) => norm(k, old[k]) !== norm(k, news[k]))
    .sort();
}

export function diff(
  kind: ResourceKind,
  old: ResourceState,
  news: Record<string, unknown>,
  reg: Pick<Registration, 'replaceOnChanges' | 'ignoreChanges'>,
): Diff {
  const changed = changedKeys(kind, old.inputs, news).filter((k) => !reg.ignoreChanges.includes(k));
  if (changed.length === 0) return { kind: 'same', changed };
  const roc = reg.replaceOnChanges.map((p) => p.split(/[.[]/)[0]);
  const replace = changed.some((k) => kind.effect(k) === 'replace' || roc.includes(k) || roc.includes('*'));
  return { kind: replace ? 'replace' : 'update', changed };
}

const secret = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });
function hasSecret(v: unknown): boolean {
  if (isSecretValue(v)) return true;
  if (Array.isArray(v)) return v.some(hasSecret);
  if (v && typeof v === 'object') return Object.values(v).some(hasSecret);
  return false;
}

export class Deployer {
  readonly steps: Step[] = [];
  private readonly seen = new Set<string>();
  private readonly failures: Error[] = [];

  constructor(
    private readonly store: StateStore,
    private readonly ctx: Context,
    private readonly stack: string,
    private readonly project: string,
    /** The resource types it applies (tests replace some). */
    private readonly kinds: Readonly<Record<string, ResourceKind>> = KINDS,
  ) {}

  get errors(): readonly Error[] {
    return this.failures;
  }

  private record(op: Op, r: { urn: string; type: string; name: string }, started: number, changed?: readonly string[]) {
    this.steps.push({
      op,
      urn: r.urn,
      type: r.type,
      name: r.name,
      ms: Date.now() - started,
      ...(changed ? { changed } : {}),
    });
    if (op !== 'same')
      this.ctx.log(`${op} ${r.type} ${r.name}${changed ? ` (${changed.join(', ')})` : ''} ${Date.now() - started} ms`);
  }

  /** Called by the mocks for every registration; resolves with the id and state the program sees. */
  async register(reg: Registration): Promise<{ id: string; state: Record<string, unknown> }> {
    try {
      return await this.apply(reg);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      err.message = `${reg.type} ${reg.name}: ${err.message}`;
      this.failures.push(err);
      throw err;
    }
  }

  private async apply(reg: Registration): Promise<{ id: string; state: Record<string, unknown> }> {
    const urn = urnOf(this.stack, this.project, reg.parent, reg.type, reg.name);
    if (this.seen.has(urn)) throw new Error(`duplicate resource URN ${urn}`);
    this.seen.add(urn);
    if (reg.unsupported.length > 0)
      throw new Error(`rehearsal: resource options ${reg.unsupported.join(', ')} are not supported`);
    const inputs = unwrap(reg.inputs) as Record<string, unknown>;
    const base = {
      urn,
      type: reg.type,
      name: reg.name,
      custom: reg.custom,
      inputs,
      provider: reg.provider ? reg.provider.slice(0, reg.provider.lastIndexOf('::')) : undefined,
      parent: reg.parent,
      dependencies: [...reg.dependencies],
      deleteBeforeReplace: reg.deleteBeforeReplace,
      retainOnDelete: reg.retainOnDelete,
      replaceOnChanges: [...reg.replaceOnChanges],
    };
    if (!reg.custom) {
      this.store.put({ ...base, id: '', outputs: {} });
      return { id: '', state: reg.inputs };
    }
    const kind = this.kinds[reg.type];
    if (!kind)
      throw new Error(`rehearsal: no implementation of resource type ${reg.type}; add one in test/rehearsal/kinds/`);
    kind.validate(inputs);
    const old = this.store.get(urn);
    const started = Date.now();
    let result: StoredResource;
    const create = async (): Promise<StoredResource> => {
      try {
        const c = await kind.create(this.ctx, { urn, name: reg.name, provider: base.provider, inputs });
        return { ...base, id: c.id, outputs: c.outputs };
      } catch (e) {
        if (e instanceof PartialCreate)
          this.store.put({ ...base, id: e.created.id, outputs: e.created.outputs, tainted: true });
        throw e;
      }
    };
    if (!old || !old.custom) {
      result = await create();
      this.store.put(result);
      this.record('create', base, started);
    } else {
      const d: Diff = old.tainted ? { kind: 'replace', changed: ['(failed create)'] } : diff(kind, old, inputs, reg);
      if (d.kind === 'same') {
        result = { ...old, ...base, id: old.id, outputs: old.outputs };
        this.store.put(result);
        this.record('same', base, started);
      } else if (d.kind === 'update') {
        const u = await kind.update(this.ctx, old, inputs, d.changed);
        result = { ...base, id: u.id, outputs: u.outputs };
        this.store.put(result);
        this.record('update', base, started, d.changed);
      } else {
        if (reg.deleteBeforeReplace) {
          // retainOnDelete applies to the old copy of a replacement too.
          if (!old.retainOnDelete) await kind.delete(this.ctx, old);
          this.store.drop(old);
          result = await create();
          this.store.put(result);
        } else {
          result = await create();
          this.store.addPending(old);
          this.store.put(result);
        }
        this.record('replace', base, started, d.changed);
      }
    }
    return { id: result.id, state: this.programState(kind, reg.inputs, result.outputs) };
  }

  /** Inputs as registered plus computed outputs, secret where the provider makes them secret. */
  private programState(kind: ResourceKind, raw: Record<string, unknown>, outputs: Record<string, unknown>) {
    const allSecret = kind.outputsFollowInputSecrets && hasSecret(raw);
    const out: Record<string, unknown> = { ...raw };
    for (const [k, v] of Object.entries(outputs)) {
      out[k] = allSecret || kind.secretOutputs?.includes(k) ? secret(v) : v;
    }
    return out;
  }

  /** After a successful program run: deletes what it no longer declares and the replaced copies. */
  async finish(): Promise<void> {
    const gone = this.store.all().filter((r) => !this.seen.has(r.urn));
    await this.deleteAll([...gone, ...this.store.pending()]);
  }

  /** `pulumi destroy`. */
  async destroy(): Promise<void> {
    await this.deleteAll([...this.store.all(), ...this.store.pending()]);
  }

  /**
   * Deletes `items`, each after every item that depends on it (its dependencies, parent or provider);
   * independent ones in parallel. A failed delete keeps the resource, and so everything it depends on.
   */
  private async deleteAll(items: StoredResource[]): Promise<void> {
    const replaced = new Set(this.store.pending());
    const left = new Set(items);
    const needs = (r: StoredResource) => [...r.dependencies, r.parent, r.provider ?? ''];
    const failed = new Set<StoredResource>();
    const errors: string[] = [];
    for (;;) {
      const wave = [...left].filter(
        (r) => !failed.has(r) && ![...left].some((o) => o !== r && needs(o).includes(r.urn)),
      );
      if (wave.length === 0) break;
      await Promise.all(
        wave.map(async (r) => {
          const started = Date.now();
          try {
            if (r.custom && !r.retainOnDelete) await this.kinds[r.type].delete(this.ctx, r);
            this.store.drop(r);
            left.delete(r);
            if (r.custom)
              this.record(replaced.has(r) ? 'delete-replaced' : r.retainOnDelete ? 'retain' : 'delete', r, started);
          } catch (e) {
            errors.push(`${r.type} ${r.name}: ${(e as Error).message}`);
            failed.add(r);
          }
        }),
      );
    }
    if (errors.length > 0) throw new Error(`delete failed:\n${errors.join('\n')}`);
  }
}
