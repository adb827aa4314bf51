import { LABELS } from '../../lib/labels';
import { noDatabasePortOnHost } from '../rules/database-ports';
import { IMAGE_ID, container, labels } from './fixtures';

const ADVICE = 'PostgreSQL, Redis and MongoDB must be reachable only over the stack network';

describe('no-database-port-on-host', () => {
  test('accepts databases without published ports and a proxy that publishes its own port', () => {
    for (const service of ['postgres', 'redis', 'mongo']) {
      expect(
        noDatabasePortOnHost(container(`kytes-dev-${service}`, { labels: labels({ [LABELS.service]: service }) })),
      ).toEqual([]);
    }
    const nginx = container('kytes-dev-nginx', {
      labels: labels({ [LABELS.service]: 'nginx' }),
      ports: [{ internal: 80, external: 80, ip: '0.0.0.0', protocol: 'tcp' }],
    });
    expect(noDatabasePortOnHost(nginx)).toEqual([]);
  });

  test('refuses MongoDB published on every interface, as the original recipe did', () => {
    const mongo = container('kytes-dev-mongo-0', {
      labels: labels({ [LABELS.service]: 'mongo' }),
      ports: [{ internal: 27017, external: 27017, ip: '0.0.0.0' }],
    });
    expect(noDatabasePortOnHost(mongo)).toEqual([
      `container "kytes-dev-mongo-0" publishes MongoDB port 27017 on the host at 0.0.0.0:27017; ${ADVICE}: remove this ports entry`,
    ]);
  });

  test('refuses a database port on localhost, and one without external (a random host port)', () => {
    const redis = container('kytes-dev-redis', {
      ports: [{ internal: 6379, external: 6379, ip: '127.0.0.1' }, { internal: 5432 }],
    });
    expect(noDatabasePortOnHost(redis)).toEqual([
      `container "kytes-dev-redis" publishes Redis port 6379 on the host at 127.0.0.1:6379; ${ADVICE}: remove this ports entry`,
      `container "kytes-dev-redis" publishes PostgreSQL port 5432 on the host at 0.0.0.0:<random port>; ${ADVICE}: remove this ports entry`,
    ]);
  });

  test('refuses any port of a container that runs a database, by label or by image', () => {
    const byLabel = container('pg-extra', {
      labels: labels({ [LABELS.service]: 'postgres' }),
      ports: [{ internal: 5433, external: 15433 }],
    });
    expect(noDatabasePortOnHost(byLabel)).toEqual([
      `container "pg-extra" publishes port 5433 of a PostgreSQL container on the host at 0.0.0.0:15433; ${ADVICE}: remove this ports entry`,
    ]);
    const byImage = container('cache', { image: 'valkey/valkey:8.1.4', ports: [{ internal: 7000, external: 7000 }] });
    expect(noDatabasePortOnHost(byImage)).toEqual([
      `container "cache" publishes port 7000 of a Redis container on the host at 0.0.0.0:7000; ${ADVICE}: remove this ports entry`,
    ]);
  });

  test("resolves an image ID through the stack's images when given them", () => {
    const byId = container('rs-extra', { image: IMAGE_ID, ports: [{ internal: 27018, external: 27018 }] });
    expect(noDatabasePortOnHost(byId)).toEqual([]);
    expect(noDatabasePortOnHost(byId, new Map([[IMAGE_ID, 'mongo:8.0.16-noble']]))).toEqual([
      `container "rs-extra" publishes port 27018 of a MongoDB container on the host at 0.0.0.0:27018; ${ADVICE}: remove this ports entry`,
    ]);
  });

  test('refuses the host network and publishAllPorts on a database', () => {
    const pg = container('kytes-dev-postgres', {
      image: 'postgres:17.10-bookworm',
      networkMode: 'host',
      publishAllPorts: true,
    });
    expect(noDatabasePortOnHost(pg)).toEqual([
      `container "kytes-dev-postgres" (PostgreSQL) uses the host network, which publishes every port it listens on; ${ADVICE}`,
      `container "kytes-dev-postgres" (PostgreSQL) sets publishAllPorts, which publishes every port its image exposes; ${ADVICE}`,
    ]);
  });

  test('refuses a kytes.service label that names no service, since it would hide a database', () => {
    expect(
      noDatabasePortOnHost(container('kytes-dev-postgres', { labels: labels({ [LABELS.service]: 'postgresql' }) })),
    ).toEqual([
      'container "kytes-dev-postgres": label kytes.service="postgresql" is not one of postgres, redis, gitlab, mongo, rocketchat, nginx',
    ]);
  });
});
