import { PORTS } from '../../lib/topology/types';
import { DATABASES, LABELS, SERVICES, SERVICE_NAMES, Service } from '../../lib/labels';
import { ImageRefs, NO_IMAGE_REFS, isService, serviceOf } from './services';
import { ResourceView, TYPES, displayName, labelsOf, list, num, record, str } from './view';

/** The ports the database images listen on, whoever runs them. */
const DATABASE_PORTS: ReadonlyMap<number, Service> = new Map<number, Service>([
  [PORTS.postgres, 'postgres'],
  [PORTS.redis, 'redis'],
  [PORTS.mongo, 'mongo'],
]);

const ADVICE = 'PostgreSQL, Redis and MongoDB must be reachable only over the stack network';

/**
 * Mandatory: the original recipe published MongoDB on 0.0.0.0:27017. A container counts as a database
 * by its `kytes.service` label, its image (a reference, or an image ID resolved through `imageRefs`),
 * or by the container port itself. Every `ports` entry publishes on the host: without `external`,
 * Docker picks a random host port. `networkMode: host` and `publishAllPorts` publish without entries.
 */
export function noDatabasePortOnHost(view: ResourceView, imageRefs: ImageRefs = NO_IMAGE_REFS): string[] {
  if (view.type !== TYPES.container) return [];
  const name = displayName(view);
  const messages: string[] = [];
  const label = labelsOf(view.props).get(LABELS.service);
  if (label !== undefined && !isService(label)) {
    messages.push(`container "${name}": label ${LABELS.service}="${label}" is not one of ${SERVICES.join(', ')}`);
  }
  // Called only when the port does not decide: the service may need the image, unknown in a first preview.
  const databaseService = (): Service | undefined => {
    const service = serviceOf(view, imageRefs);
    return service !== undefined && DATABASES.includes(service) ? service : undefined;
  };
  for (const entry of list(view.props.ports)) {
    const port = record(entry);
    const internal = num(port.internal);
    if (internal === undefined) continue;
    const byPort = DATABASE_PORTS.get(internal);
    let what: string;
    if (byPort !== undefined) {
      what = `${SERVICE_NAMES[byPort]} port ${internal}`;
    } else {
      const database = databaseService();
      if (database === undefined) continue;
      what = `port ${internal} of a ${SERVICE_NAMES[database]} container`;
    }
    const at = `${str(port.ip) ?? '0.0.0.0'}:${num(port.external) ?? '<random port>'}`;
    messages.push(`container "${name}" publishes ${what} on the host at ${at}; ${ADVICE}: remove this ports entry`);
  }
  const exposesAll = str(view.props.networkMode) === 'host' || view.props.publishAllPorts === true;
  const database = exposesAll ? databaseService() : undefined;
  if (database !== undefined) {
    const db = SERVICE_NAMES[database];
    if (str(view.props.networkMode) === 'host') {
      messages.push(
        `container "${name}" (${db}) uses the host network, which publishes every port it listens on; ${ADVICE}`,
      );
    }
    if (view.props.publishAllPorts === true) {
      messages.push(
        `container "${name}" (${db}) sets publishAllPorts, which publishes every port its image exposes; ${ADVICE}`,
      );
    }
  }
  return messages;
}
