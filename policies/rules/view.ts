/**
 * What a rule sees of one resource: the same three things the policy engine gives a resource
 * validation (`args.type`, `args.name`, `args.props`). Rules are pure functions of views, so they run
 * under the engine, in unit tests, and over the resources recorded from the program under mocks.
 */
export interface ResourceView {
  /** Pulumi type token, e.g. `docker:index/container:Container`. */
  readonly type: string;
  /** Pulumi logical name. */
  readonly name: string;
  /** Resource inputs (outputs, in a stack validation), secrets already unwrapped to plain values. */
  readonly props: Readonly<Record<string, unknown>>;
}

/** Type tokens of @pulumi/docker 5.2.0 and @pulumi/command 1.2.1. */
export const TYPES = {
  container: 'docker:index/container:Container',
  remoteImage: 'docker:index/remoteImage:RemoteImage',
  volume: 'docker:index/volume:Volume',
  network: 'docker:index/network:Network',
  localCommand: 'command:local:Command',
  remoteCommand: 'command:remote:Command',
} as const;

export function isCommand(type: string): boolean {
  return type === TYPES.localCommand || type === TYPES.remoteCommand;
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function num(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

export function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function record(value: unknown): Readonly<Record<string, unknown>> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function strings(value: unknown): string[] {
  return list(value).filter((v): v is string => typeof v === 'string');
}

/** Docker labels arrive as a list of `{ label, value }`; later duplicates win, as in Docker. */
export function labelsOf(props: Readonly<Record<string, unknown>>): ReadonlyMap<string, string> {
  const labels = new Map<string, string>();
  for (const entry of list(props.labels)) {
    const { label, value } = record(entry);
    if (typeof label === 'string') labels.set(label, typeof value === 'string' ? value : '');
  }
  return labels;
}

/** How a message names a resource: its Docker name when it has one, else its Pulumi name. */
export function displayName(view: ResourceView): string {
  return str(view.props.name) ?? view.name;
}
