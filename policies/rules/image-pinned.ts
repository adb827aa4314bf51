import { isPinnedImage } from '../../lib/config';
import { isImageId } from './services';
import { ResourceView, TYPES, displayName, str } from './view';

const PIN_ADVICE = 'use an explicit tag other than latest (such as postgres:17.10-bookworm) or a digest (@sha256:…)';

/**
 * Mandatory: a `latest` or missing tag makes a restore an uncontrolled upgrade. The same predicate as
 * the `kytes:images.*` config check (`isPinnedImage`), so the pack and the config agree on "pinned".
 */
export function imagePinned(view: ResourceView): string[] {
  if (view.type === TYPES.remoteImage) {
    const ref = str(view.props.name) ?? '';
    return isPinnedImage(ref) ? [] : [`remote image "${view.name}": "${ref}" is not pinned; ${PIN_ADVICE}`];
  }
  if (view.type === TYPES.container) {
    const image = str(view.props.image);
    if (image === undefined)
      return [`container "${displayName(view)}" names no image; pass the imageId of a pinned RemoteImage`];
    if (isImageId(image) || isPinnedImage(image)) return [];
    return [
      `container "${displayName(view)}": image "${image}" is not pinned; pass the imageId (sha256:…) of a pinned RemoteImage, or ${PIN_ADVICE}`,
    ];
  }
  return [];
}
