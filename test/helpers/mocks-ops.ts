import * as pulumi from '@pulumi/pulumi';
import { MockMonitor } from '@pulumi/pulumi/runtime/mocks';
import type { RegisterResourceRequest } from '@pulumi/pulumi/proto/resource_pb';
import { promiseOf } from './program';

/**
 * Pulumi mocks for the ops resources. `newResource` sees a resource's inputs but not its options, so
 * the mock monitor's `registerResource` is wrapped as well to record the parent, the dependencies and
 * `deleteBeforeReplace` that the SDK sends to the engine. Import this module before any module that
 * declares resources.
 */
export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly parent: string;
  readonly dependencies: readonly string[];
  readonly deleteBeforeReplace: boolean;
  readonly inputs: Record<string, unknown>;
}

/** Every resource registered so far, by logical name (tests use distinct names). */
export const registered = new Map<string, Registered>();
/** `stdout` the mocked provider reports for a command, by resource name. */
export const mockStdout = new Map<string, string>();

const inputsByName = new Map<string, Record<string, unknown>>();
const options = new Map<string, Omit<Registered, 'urn' | 'inputs'>>();

const originalRegister = MockMonitor.prototype.registerResource;
MockMonitor.prototype.registerResource = function (
  this: MockMonitor,
  req: RegisterResourceRequest,
  callback: (err: Error | null, response: unknown) => void,
) {
  options.set(req.getName(), {
    type: req.getType(),
    name: req.getName(),
    parent: req.getParent(),
    dependencies: req.getDependenciesList(),
    deleteBeforeReplace: req.getDeletebeforereplace(),
  });
  return originalRegister.call(this, req, (err: Error | null, response: unknown) => {
    if (!err) {
      const o = options.get(req.getName());
      const urn = (response as { getUrn(): string }).getUrn();
      if (o) registered.set(o.name, { ...o, urn, inputs: inputsByName.get(o.name) ?? {} });
    }
    callback(err, response);
  });
};

pulumi.runtime.setMocks(
  {
    newResource(args) {
      inputsByName.set(args.name, args.inputs);
      const stdout = mockStdout.get(args.name) ?? '';
      return {
        id: `${args.name}-id`,
        state: args.type.startsWith('command:') ? { ...args.inputs, stdout, stderr: '' } : args.inputs,
      };
    },
    call(args) {
      throw new Error(`unexpected provider call ${args.token} in an ops test`);
    },
  },
  'kytes',
  'dev',
  false,
);

export { promiseOf };

/** Waits until each resource is registered with the (mock) engine. */
export async function settled(resources: readonly pulumi.Resource[]): Promise<void> {
  await Promise.all(resources.map((r) => promiseOf(r.urn)));
}

export function byName(name: string): Registered {
  const r = registered.get(name);
  if (!r) throw new Error(`resource ${name} was not registered`);
  return r;
}
