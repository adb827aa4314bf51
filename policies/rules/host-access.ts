import { ResourceView, TYPES, displayName, list, record, str } from './view';

/** The Docker socket and every directory that contains it: mounting `/var/run` hands over the socket too. */
const SOCKET_PATHS = ['/var/run/docker.sock', '/run/docker.sock', '/var/run', '/run', '/var', '/'];

function normalise(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed.replace(/\/{2,}/g, '/');
}

/** Host paths a container bind-mounts, from `volumes[].hostPath` and `mounts[]` of type bind. */
function hostPaths(props: Readonly<Record<string, unknown>>): string[] {
  const paths: string[] = [];
  for (const v of list(props.volumes)) {
    const hostPath = str(record(v).hostPath);
    if (hostPath !== undefined) paths.push(hostPath);
  }
  for (const m of list(props.mounts)) {
    const mount = record(m);
    const source = str(mount.source);
    if (str(mount.type) === 'bind' && source !== undefined) paths.push(source);
  }
  return paths;
}

/**
 * Mandatory: a privileged container, or one that can reach the Docker socket, owns the Docker host
 * (the original recipe mounted the socket).
 */
export function noHostTakeover(view: ResourceView): string[] {
  if (view.type !== TYPES.container) return [];
  const name = displayName(view);
  const messages: string[] = [];
  if (view.props.privileged === true) {
    messages.push(
      `container "${name}" runs privileged, which gives it every capability of the host; remove privileged: true`,
    );
  }
  for (const path of hostPaths(view.props)) {
    if (SOCKET_PATHS.includes(normalise(path))) {
      messages.push(
        `container "${name}" mounts ${path} from the host, which exposes the Docker socket; whoever controls the container controls the Docker host: remove this mount`,
      );
    }
  }
  return messages;
}
