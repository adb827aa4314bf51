import { noHostTakeover } from '../rules/host-access';
import { container } from './fixtures';

const TAKEOVER =
  'which exposes the Docker socket; whoever controls the container controls the Docker host: remove this mount';

describe('no-privileged-or-docker-socket', () => {
  test('accepts named volumes, unrelated bind mounts and privileged: false', () => {
    const nginx = container('kytes-dev-nginx', {
      privileged: false,
      volumes: [
        { volumeName: 'kytes-dev-nginx-cache', containerPath: '/var/cache/nginx' },
        { hostPath: '/var/run/kytes', containerPath: '/x' },
      ],
      mounts: [
        { type: 'bind', source: '/srv/backups', target: '/backups' },
        { type: 'volume', source: 'run', target: '/var/run' },
      ],
    });
    expect(noHostTakeover(nginx)).toEqual([]);
  });

  test('refuses a privileged container', () => {
    expect(noHostTakeover(container('kytes-dev-gitlab-main', { privileged: true }))).toEqual([
      'container "kytes-dev-gitlab-main" runs privileged, which gives it every capability of the host; remove privileged: true',
    ]);
  });

  test('refuses the Docker socket as a volume host path or a bind mount source', () => {
    const agent = container('agent', {
      volumes: [{ hostPath: '/var/run/docker.sock', containerPath: '/var/run/docker.sock' }],
      mounts: [{ type: 'bind', source: '/run/docker.sock', target: '/docker.sock', readOnly: true }],
    });
    expect(noHostTakeover(agent)).toEqual([
      `container "agent" mounts /var/run/docker.sock from the host, ${TAKEOVER}`,
      `container "agent" mounts /run/docker.sock from the host, ${TAKEOVER}`,
    ]);
  });

  test('refuses a directory that contains the socket', () => {
    expect(
      noHostTakeover(container('agent', { volumes: [{ hostPath: '/var/run/', containerPath: '/host-run' }] })),
    ).toEqual([`container "agent" mounts /var/run/ from the host, ${TAKEOVER}`]);
  });
});
