import {
  EnforcementLevel,
  Policies,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
  UnknownValueError,
} from '@pulumi/policy';
import { backupScheduled } from './rules/backup-schedule';
import { noDatabasePortOnHost } from './rules/database-ports';
import { healthcheckPresent } from './rules/healthcheck';
import { noHostTakeover } from './rules/host-access';
import { imagePinned } from './rules/image-pinned';
import { memoryLimited } from './rules/memory-limit';
import { noPlainSecrets } from './rules/plain-secrets';
import { ImageRefs } from './rules/services';
import { foundThroughImages, imageRefsOf } from './rules/stack-view';
import { volumeRetained } from './rules/volume-retained';
import { ResourceView } from './rules/view';

type Rule = (view: ResourceView) => string[];
type ImageAwareRule = (view: ResourceView, imageRefs: ImageRefs) => string[];

/**
 * A plain copy of `value` without the fields still unknown (during a preview); `complete` says
 * whether anything was left out. Reading an unknown field of the engine's props throws.
 */
function settle(value: unknown): { value: unknown; complete: boolean } {
  if (value === null || typeof value !== 'object') return { value, complete: true };
  let complete = true;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
  for (const key of Object.keys(value)) {
    try {
      const field = settle((value as Record<string, unknown>)[key]);
      complete &&= field.complete;
      (copy as Record<string, unknown>)[key] = field.value;
    } catch (e) {
      if (!(e instanceof UnknownValueError)) throw e;
      complete = false;
    }
  }
  return { value: copy, complete };
}

interface SettledResource {
  readonly view: ResourceView;
  readonly urn: string;
  readonly complete: boolean;
}

function settleStack(args: StackValidationArgs): SettledResource[] {
  return args.resources.map((r) => {
    const { value, complete } = settle(r.props);
    return { view: { type: r.type, name: r.name, props: value as Record<string, unknown> }, urn: r.urn, complete };
  });
}

function resourcePolicy(
  name: string,
  enforcementLevel: EnforcementLevel,
  description: string,
  rule: Rule,
): ResourceValidationPolicy {
  return {
    name,
    description,
    enforcementLevel,
    validateResource: (args, reportViolation) => {
      for (const message of rule({ type: args.type, name: args.name, props: args.props })) reportViolation(message);
    },
  };
}

/**
 * A rule that knows more once image IDs are resolved, as two policies: one validates each resource as
 * it is registered (which can block it); the other, `<name>-by-image`, validates the finished stack
 * and adds only what the stack's RemoteImages reveal (a container whose image ID is a database image).
 */
function imageAwarePolicies(
  name: string,
  enforcementLevel: EnforcementLevel,
  description: string,
  rule: ImageAwareRule,
): [ResourceValidationPolicy, StackValidationPolicy] {
  return [
    resourcePolicy(name, enforcementLevel, description, (view) => rule(view, new Map())),
    {
      name: `${name}-by-image`,
      description: `${description} For containers recognised only through the image ID they run; checked on the whole stack.`,
      enforcementLevel,
      validateStack: (args, reportViolation) => {
        const resources = settleStack(args);
        const imageRefs = imageRefsOf(resources.map((r) => r.view));
        for (const r of resources) {
          if (!r.complete) continue;
          for (const message of foundThroughImages(rule, r.view, imageRefs)) reportViolation(message, r.urn);
        }
      },
    },
  ];
}

export const policies: Policies = [
  resourcePolicy(
    'image-pinned',
    'mandatory',
    'Every image is pinned: a RemoteImage names an explicit tag other than latest, or a digest; a container runs an image ID or a pinned reference.',
    imagePinned,
  ),
  resourcePolicy(
    'healthcheck-present',
    'mandatory',
    'Every container declares a healthcheck that runs a command (not missing, not ["NONE"]).',
    healthcheckPresent,
  ),
  ...imageAwarePolicies(
    'no-database-port-on-host',
    'mandatory',
    'No PostgreSQL, Redis or MongoDB port is published on the host, recognised by container port, kytes.service label or image.',
    noDatabasePortOnHost,
  ),
  resourcePolicy(
    'no-privileged-or-docker-socket',
    'mandatory',
    'No privileged container and no bind mount of the Docker socket or a directory that contains it.',
    noHostTakeover,
  ),
  resourcePolicy(
    'volume-retained-on-destroy',
    'mandatory',
    "Every Docker volume carries kytes.retain-on-delete=true, set with retainOnDelete: true by Kytes' volume helper.",
    volumeRetained,
  ),
  resourcePolicy(
    'no-plain-secrets',
    'mandatory',
    'No secret-looking value in an undeclared container env var, a label, a container command or healthcheck, or a command string.',
    noPlainSecrets,
  ),
  ...imageAwarePolicies(
    'memory-limit',
    'advisory',
    'GitLab and Rocket.Chat containers have a memory limit.',
    memoryLimited,
  ),
  {
    name: 'backup-schedule',
    description: 'A stack that runs GitLab installs a backup schedule (a command named *-backup-schedule).',
    enforcementLevel: 'advisory',
    validateStack: (args, reportViolation) => {
      const resources = settleStack(args).map((r) => r.view);
      for (const message of backupScheduled(resources, imageRefsOf(resources))) reportViolation(message);
    },
  },
];
