import * as command from '@pulumi/command';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import {
  MONGO_ROOT_USER_ENV,
  MONGO_SECRET_ENV,
  MONGOD_NOFILE,
  mongodCommand,
  mongoHealthcheck,
  renderMongoInit,
} from '../lib/mongo';
import { MongoTopology, Topology } from '../lib/topology';
import {
  containerEnv,
  containerLabels,
  containerLogging,
  containerOptions,
  networkAttachment,
  pinnedImage,
  retainedVolume,
  seconds,
} from './common';
import { dockerExec } from './dockerExec';

/** uid/gid of the `mongodb` user in the official image: the keyfile must be its own and mode 0400. */
const MONGODB_UID = '999';

export interface MongoReplicaSetArgs {
  readonly topology: Topology;
  /** `topology.mongo`: replica-set name, members, users. */
  readonly mongo: MongoTopology;
  /** Network the members join under their aliases. Never published on the host. */
  readonly network: pulumi.Input<string>;
  /** Root password (created on first initiation, checked on kept data). */
  readonly rootPassword: pulumi.Input<string>;
  /** Rocket.Chat's user password, (re)applied on every initiation run. */
  readonly appPassword: pulumi.Input<string>;
  /** What must run before members are created or replaced: the MongoDB upgrade guard. Default none. */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * MongoDB replica set with keyfile authentication. Members are not "healthy" until they belong to the
 * replica set; the initiation step returns only once member 0 is a writable primary, and Rocket.Chat
 * depends on that step, not on the containers.
 */
export class MongoReplicaSet extends pulumi.ComponentResource {
  readonly members: docker.Container[];
  readonly volumes: docker.Volume[];
  readonly initiation: command.local.Command;

  constructor(name: string, args: MongoReplicaSetArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kytes:data:MongoReplicaSet', name, {}, opts);
    const t = args.topology;
    const m = args.mongo;
    const image = pinnedImage(`${name}-image`, m.image, this);
    // Member-to-member authentication only: no stored data depends on it, so a new one after
    // destroy + up is harmless, and it is the same for every member.
    const keyfile = new random.RandomPassword(`${name}-keyfile`, { length: 756, special: false }, { parent: this });

    const environment = containerEnv(
      { [MONGO_ROOT_USER_ENV]: m.rootUser, TZ: t.timezone },
      { [MONGO_SECRET_ENV.rootPassword]: args.rootPassword },
    );
    this.volumes = m.members.map((mb) => retainedVolume(`${name}-${mb.index}-data`, mb.data, t.prefix, this));
    this.members = m.members.map(
      (mb, i) =>
        new docker.Container(
          `${name}-${mb.index}`,
          {
            name: mb.container,
            image: image.imageId,
            hostname: mb.alias,
            networksAdvanced: networkAttachment(args.network, mb.alias),
            command: mongodCommand(m),
            ulimits: [{ name: 'nofile', soft: MONGOD_NOFILE, hard: MONGOD_NOFILE }],
            uploads: [
              {
                file: m.keyfilePath,
                content: pulumi.secret(keyfile.result),
                owner: MONGODB_UID,
                group: MONGODB_UID,
                permissions: '0400',
              },
            ],
            envs: environment.envs,
            volumes: [{ volumeName: this.volumes[i].name, containerPath: mb.data.containerPath }],
            healthcheck: {
              tests: mongoHealthcheck(m),
              interval: seconds(15),
              timeout: seconds(10),
              retries: 8,
              startPeriod: seconds(120),
              startInterval: seconds(3),
            },
            // Unhealthy until initiated: waiting here would deadlock with the initiation below.
            wait: false,
            restart: 'unless-stopped',
            stopTimeout: 60,
            destroyGraceSeconds: 90,
            ...containerLogging(t.logs),
            labels: containerLabels(t.prefix, 'mongo', { 'kytes.member': String(mb.index) }, environment.secretNames),
          },
          containerOptions(this, args.dependsOn),
        ),
    );

    const primary = m.members[0];
    this.initiation = dockerExec(
      `${name}-initiate`,
      {
        docker: t.docker,
        container: primary.container,
        command: ['sh', '-c', 'exec mongosh --quiet --nodb --eval "$(cat)"'],
        stdin: renderMongoInit(m),
        secretEnv: {
          [MONGO_SECRET_ENV.rootPassword]: args.rootPassword,
          [MONGO_SECRET_ENV.appPassword]: args.appPassword,
        },
        triggers: this.members.map((c) => c.id),
      },
      { parent: this, dependsOn: this.members },
    );
    this.registerOutputs({ members: this.members.map((c) => c.name), replicaSet: m.replicaSet });
  }
}
