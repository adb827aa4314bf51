import { LABELS } from '../../lib/labels';
import { ResourceView, TYPES } from '../rules/view';

/** What `RemoteImage.imageId` looks like: Docker's content-addressed image ID. */
export const IMAGE_ID = `sha256:${'a'.repeat(64)}`;
export const OTHER_IMAGE_ID = `sha256:${'b'.repeat(64)}`;

export function labels(entries: Record<string, string>): { label: string; value: string }[] {
  return Object.entries(entries).map(([label, value]) => ({ label, value }));
}

/** A container every mandatory policy accepts; `props` replaces or adds inputs. */
export function container(name: string, props: Record<string, unknown> = {}): ResourceView {
  return {
    type: TYPES.container,
    name: `${name}-container`,
    props: { name, image: IMAGE_ID, healthcheck: { tests: ['CMD', 'true'] }, ...props },
  };
}

export function remoteImage(name: string, ref: string, imageId?: string): ResourceView {
  return { type: TYPES.remoteImage, name, props: imageId === undefined ? { name: ref } : { name: ref, imageId } };
}

export function volume(
  name: string,
  volumeLabels: Record<string, string> = { [LABELS.retainOnDelete]: 'true' },
): ResourceView {
  return { type: TYPES.volume, name: `${name}-volume`, props: { name, labels: labels(volumeLabels) } };
}

export function command(name: string, props: Record<string, unknown>, type: string = TYPES.localCommand): ResourceView {
  return { type, name, props };
}
