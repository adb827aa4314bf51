import { PolicyResource, StackValidationPolicy, unknownCheckingProxy } from '@pulumi/policy';
import { LABELS } from '../../lib/labels';
import { policies } from '../pack';
import { ResourceView } from '../rules/view';
import { IMAGE_ID, OTHER_IMAGE_ID, command, container, labels, remoteImage, volume } from './fixtures';
import { evaluatePack, urnOf } from './harness';

/** The engine's marker for a string not known during a preview (`unknownStringValue` in @pulumi/policy). */
const UNKNOWN_STRING = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';

const DB_ADVICE = 'PostgreSQL, Redis and MongoDB must be reachable only over the stack network';

describe('the kytes-guard-rails pack', () => {
  test('holds seven mandatory and three advisory policies, each validating resources or the stack', () => {
    const kind = (p: object) => ('validateResource' in p ? 'resource' : '') + ('validateStack' in p ? 'stack' : '');
    expect(policies.map((p) => [p.name, p.enforcementLevel, kind(p)])).toEqual([
      ['image-pinned', 'mandatory', 'resource'],
      ['healthcheck-present', 'mandatory', 'resource'],
      ['no-database-port-on-host', 'mandatory', 'resource'],
      ['no-database-port-on-host-by-image', 'mandatory', 'stack'],
      ['no-privileged-or-docker-socket', 'mandatory', 'resource'],
      ['volume-retained-on-destroy', 'mandatory', 'resource'],
      ['no-plain-secrets', 'mandatory', 'resource'],
      ['memory-limit', 'advisory', 'resource'],
      ['memory-limit-by-image', 'advisory', 'stack'],
      ['backup-schedule', 'advisory', 'stack'],
    ]);
  });

  test('reports nothing for a well-formed stack', async () => {
    const stack: ResourceView[] = [
      remoteImage('gitlab-image', 'gitlab/gitlab-ce:19.3.0-ce.0', IMAGE_ID),
      container('kytes-dev-gitlab-main', { labels: labels({ [LABELS.service]: 'gitlab' }), memory: 4096 }),
      volume('kytes-dev-gitlab-main-data'),
      command('kytes-dev-backup-schedule', { create: 'install -m 0644 /dev/stdin /etc/cron.d/kytes-dev' }),
    ];
    expect(await evaluatePack(stack)).toEqual([]);
  });

  test('reports each violation under its policy and enforcement level, through validateResource and validateStack', async () => {
    const stack: ResourceView[] = [
      remoteImage('mongo-image', 'mongo:latest', OTHER_IMAGE_ID),
      container('kytes-dev-mongo-0', {
        image: OTHER_IMAGE_ID,
        healthcheck: undefined,
        privileged: true,
        ports: [{ internal: 27018, external: 27018 }],
        envs: ['MONGO_INITDB_ROOT_PASSWORD=hunter2'],
      }),
      container('kytes-dev-gitlab-main', { labels: labels({ [LABELS.service]: 'gitlab' }) }),
      volume('kytes-dev-mongo-0-data', {}),
    ];
    expect(await evaluatePack(stack)).toEqual([
      {
        policy: 'image-pinned',
        level: 'mandatory',
        message:
          'remote image "mongo-image": "mongo:latest" is not pinned; use an explicit tag other than latest (such as postgres:17.10-bookworm) or a digest (@sha256:…)',
      },
      {
        policy: 'healthcheck-present',
        level: 'mandatory',
        message:
          'container "kytes-dev-mongo-0" has no healthcheck; set healthcheck.tests to ["CMD", program, args…] or ["CMD-SHELL", command]',
      },
      {
        policy: 'no-database-port-on-host-by-image',
        level: 'mandatory',
        message: `container "kytes-dev-mongo-0" publishes port 27018 of a MongoDB container on the host at 0.0.0.0:27018; ${DB_ADVICE}: remove this ports entry`,
        resource: 'kytes-dev-mongo-0-container',
      },
      {
        policy: 'no-privileged-or-docker-socket',
        level: 'mandatory',
        message:
          'container "kytes-dev-mongo-0" runs privileged, which gives it every capability of the host; remove privileged: true',
      },
      {
        policy: 'volume-retained-on-destroy',
        level: 'mandatory',
        message:
          'volume "kytes-dev-mongo-0-data" lacks the label kytes.retain-on-delete=true; create volumes through Kytes\' volume helper, which sets retainOnDelete: true together with this label, so pulumi destroy keeps the data',
      },
      {
        policy: 'no-plain-secrets',
        level: 'mandatory',
        message:
          'container "kytes-dev-mongo-0": env var MONGO_INITDB_ROOT_PASSWORD looks secret but is not declared as a Pulumi secret; declare MONGO_INITDB_ROOT_PASSWORD in the label kytes.secret-env and give it a Pulumi secret, or pass a file path in MONGO_INITDB_ROOT_PASSWORD_FILE',
      },
      {
        policy: 'memory-limit',
        level: 'advisory',
        message:
          'container "kytes-dev-gitlab-main" (GitLab) has no memory limit; set memory (in MB) so it cannot starve the other services on the host',
      },
      {
        policy: 'backup-schedule',
        level: 'advisory',
        message:
          'GitLab runs in this stack (container "kytes-dev-gitlab-main") but no backup schedule is installed; add a command:local:Command or command:remote:Command whose name ends with "-backup-schedule" and installs the cron file, as Kytes\' ops module does',
      },
    ]);
  });

  test('does not report a database port twice when the resource check already found it', async () => {
    const redis = container('kytes-dev-redis', {
      labels: labels({ [LABELS.service]: 'redis' }),
      ports: [{ internal: 6379, external: 6379 }],
    });
    expect(await evaluatePack([remoteImage('redis-image', 'redis:7.4.7-bookworm', IMAGE_ID), redis])).toEqual([
      {
        policy: 'no-database-port-on-host',
        level: 'mandatory',
        message: `container "kytes-dev-redis" publishes Redis port 6379 on the host at 0.0.0.0:6379; ${DB_ADVICE}: remove this ports entry`,
      },
    ]);
  });

  test('during a preview, skips resources whose image is not known yet and still checks the others', async () => {
    const policy = policies.find((p) => p.name === 'no-database-port-on-host-by-image') as StackValidationPolicy;
    const pending = [
      remoteImage('mongo-image', 'mongo:8.0.16-noble', UNKNOWN_STRING),
      container('kytes-dev-mongo-0', { image: UNKNOWN_STRING, ports: [{ internal: 27018 }] }),
    ];
    const known = [
      remoteImage('pg-image', 'postgres:17.10-bookworm', IMAGE_ID),
      container('pg-extra', { image: IMAGE_ID, ports: [{ internal: 5433 }] }),
    ];
    const asEngine = (view: ResourceView): PolicyResource => ({
      type: view.type,
      name: view.name,
      props: unknownCheckingProxy({ ...view.props }),
      urn: urnOf(view),
      opts: {
        protect: false,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
      },
      dependencies: [],
      propertyDependencies: {},
      isType: () => false,
      asType: () => undefined,
    });
    const resources = [...pending, ...known].map(asEngine);
    expect(() => resources[1].props.image).toThrow("string value at .image can't be known during preview");
    const reported: [string, string | undefined][] = [];
    await policy.validateStack(
      {
        resources,
        stackTags: new Map(),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: () => {
          throw new Error('not applicable');
        },
      },
      (message, urn) => reported.push([message, urn]),
    );
    expect(reported).toEqual([
      [
        `container "pg-extra" publishes port 5433 of a PostgreSQL container on the host at 0.0.0.0:<random port>; ${DB_ADVICE}: remove this ports entry`,
        urnOf(known[1]),
      ],
    ]);
  });
});
