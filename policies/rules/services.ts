import { LABELS, SERVICES, Service } from '../../lib/labels';
import { ResourceView, labelsOf, str } from './view';

/**
 * Image repositories (last path segment, without tag or digest) that run each service, so that a
 * container someone adds without the `kytes.service` label is still recognised.
 */
const REPOSITORIES: Readonly<Record<Service, readonly string[]>> = {
  postgres: ['postgres', 'postgresql', 'postgis'],
  redis: ['redis', 'redis-stack', 'redis-stack-server', 'valkey', 'keydb'],
  gitlab: ['gitlab-ce', 'gitlab-ee'],
  mongo: ['mongo', 'mongodb', 'mongodb-community-server', 'mongodb-enterprise-server'],
  rocketchat: ['rocket.chat'],
  nginx: ['nginx', 'nginx-unprivileged'],
};

/** Image IDs (`sha256:…`) mapped to the reference they were pulled as; known only to a stack validation. */
export type ImageRefs = ReadonlyMap<string, string>;

export const NO_IMAGE_REFS: ImageRefs = new Map();

export function isImageId(image: string): boolean {
  return /^sha256:[a-f0-9]{64}$/.test(image);
}

/** `registry:5000/library/postgres:17@sha256:…` → `postgres`. */
export function repositoryOf(ref: string): string {
  const withoutDigest = ref.split('@')[0];
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  return lastSegment.split(':')[0].toLowerCase();
}

export function serviceOfImage(ref: string): Service | undefined {
  const repo = repositoryOf(ref);
  return SERVICES.find((s) => REPOSITORIES[s].includes(repo));
}

export function isService(value: string): value is Service {
  return (SERVICES as readonly string[]).includes(value);
}

/**
 * The service a container runs: its `kytes.service` label, else what its image says (a reference, or
 * an image ID that `imageRefs` resolves). The label wins and spares reading the image, which during a
 * first preview is still unknown (a RemoteImage's imageId), so labelled containers are fully checked.
 */
export function serviceOf(container: ResourceView, imageRefs: ImageRefs = NO_IMAGE_REFS): Service | undefined {
  const label = labelsOf(container.props).get(LABELS.service);
  if (label !== undefined && isService(label)) return label;
  const image = str(container.props.image);
  const ref = image === undefined ? undefined : isImageId(image) ? imageRefs.get(image) : image;
  return ref === undefined ? undefined : serviceOfImage(ref);
}
