import { LABELS } from '../../lib/labels';
import { ResourceView, TYPES, displayName, labelsOf } from './view';

/**
 * Mandatory: every `docker.Volume` is kept on destroy. The engine hands a policy no `retainOnDelete`
 * (`PolicyResourceOptions` in @pulumi/policy 1.21.0 has protect, ignoreChanges, deleteBeforeReplace,
 * aliases, customTimeouts, additionalSecretOutputs and parent only), so Kytes' volume helper sets the
 * option and the label `kytes.retain-on-delete=true` together: the pack checks the label, the unit
 * tests check the option.
 */
export function volumeRetained(view: ResourceView): string[] {
  if (view.type !== TYPES.volume) return [];
  if (labelsOf(view.props).get(LABELS.retainOnDelete) === 'true') return [];
  return [
    `volume "${displayName(view)}" lacks the label ${LABELS.retainOnDelete}=true; create volumes through Kytes' volume helper, which sets retainOnDelete: true together with this label, so pulumi destroy keeps the data`,
  ];
}
