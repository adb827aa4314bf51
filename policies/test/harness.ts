import {
  EnforcementLevel,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from '@pulumi/policy';
import { policies } from '../pack';
import { ResourceView } from '../rules/view';

/** One reported violation, as the engine would print it. */
export interface Violation {
  readonly policy: string;
  readonly level: EnforcementLevel;
  readonly message: string;
  /** The resource a stack validation blamed, by Pulumi name. */
  readonly resource?: string;
}

const OPTIONS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

export const urnOf = (view: ResourceView) => `urn:pulumi:test::kytes::${view.type}::${view.name}`;

function notApplicable(reason?: string): never {
  throw new Error(`not applicable: ${reason ?? ''}`);
}

function resourceArgs(view: ResourceView): ResourceValidationArgs {
  return {
    type: view.type,
    name: view.name,
    props: { ...view.props },
    urn: urnOf(view),
    opts: OPTIONS,
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => ({}) as T,
    notApplicable,
  };
}

function stackResource(view: ResourceView): PolicyResource {
  return {
    type: view.type,
    name: view.name,
    props: { ...view.props },
    urn: urnOf(view),
    opts: OPTIONS,
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  };
}

const isResourcePolicy = (p: object): p is ResourceValidationPolicy => 'validateResource' in p;
const isStackPolicy = (p: object): p is StackValidationPolicy => 'validateStack' in p;

/**
 * Runs every policy of the pack over `views` the way the analyzer server does: each resource
 * through each `validateResource`, then the whole stack through each `validateStack`.
 */
export async function evaluatePack(views: readonly ResourceView[]): Promise<Violation[]> {
  const violations: Violation[] = [];
  const byUrn = new Map(views.map((v) => [urnOf(v), v.name]));
  for (const policy of policies) {
    const level = policy.enforcementLevel ?? 'advisory';
    if (isResourcePolicy(policy)) {
      const validations = [policy.validateResource ?? []].flat();
      for (const view of views) {
        for (const validate of validations) {
          await validate(resourceArgs(view), (message) => violations.push({ policy: policy.name, level, message }));
        }
      }
    }
    if (isStackPolicy(policy)) {
      const args = {
        resources: views.map(stackResource),
        stackTags: new Map(),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable,
      };
      await policy.validateStack(args, (message, urn) =>
        violations.push({
          policy: policy.name,
          level,
          message,
          ...(urn === undefined ? {} : { resource: byUrn.get(urn) }),
        }),
      );
    }
  }
  return violations;
}
