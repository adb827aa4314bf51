import { declaredSecretEnv } from '../rules/plain-secrets';
import { TYPES, labelsOf, list } from '../rules/view';
import { RecordedResource, isSecretValue, unwrap } from '../../test/helpers/program';

/*
 * The halves of two policies that the policy engine cannot see, checked on resources recorded from the
 * program under mocks, where secrets are still wrapped and resource options are recorded.
 */

/**
 * `no-plain-secrets`: each env var a container declares in `kytes.secret-env` holds a
 * Pulumi secret, either as its own entry or because the whole `envs` list is one. Returns
 * `<resource>: <env var>` for each declared env var that is plain.
 */
export function declaredButPlain(r: Pick<RecordedResource, 'type' | 'name' | 'inputs'>): string[] {
  if (r.type !== TYPES.container) return [];
  const declared = declaredSecretEnv(labelsOf(unwrap(r.inputs) as Record<string, unknown>)) ?? new Set<string>();
  if (isSecretValue(r.inputs.envs)) return [];
  return list(r.inputs.envs)
    .filter((entry) => !isSecretValue(entry))
    .map((entry) => String(entry).split('=')[0])
    .filter((name) => declared.has(name))
    .map((name) => `${r.name}: ${name}`);
}

/**
 * `volume-retained-on-destroy`: the pack checks the label; this checks the option it stands for.
 * Returns the Docker volumes recorded without `retainOnDelete: true`.
 */
export function volumesNotRetained(r: Pick<RecordedResource, 'type' | 'name' | 'options'>): string[] {
  return r.type === TYPES.volume && !r.options.retainOnDelete ? [r.name] : [];
}
