import { SERVICE_NAMES, Service } from '../../lib/labels';
import { ImageRefs, NO_IMAGE_REFS, serviceOf } from './services';
import { ResourceView, TYPES, displayName, num } from './view';

/** The services that grow until the host runs out: GitLab (Puma, Sidekiq) and Rocket.Chat (Node). */
const MEMORY_HUNGRY: readonly Service[] = ['gitlab', 'rocketchat'];

/** Advisory: without a limit, one GitLab can starve PostgreSQL and MongoDB on the same host. */
export function memoryLimited(view: ResourceView, imageRefs: ImageRefs = NO_IMAGE_REFS): string[] {
  if (view.type !== TYPES.container) return [];
  const service = serviceOf(view, imageRefs);
  if (service === undefined || !MEMORY_HUNGRY.includes(service)) return [];
  const memory = num(view.props.memory) ?? 0;
  if (memory > 0) return [];
  return [
    `container "${displayName(view)}" (${SERVICE_NAMES[service]}) has no memory limit; set memory (in MB) so it cannot starve the other services on the host`,
  ];
}
