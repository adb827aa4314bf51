import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { ROCKETCHAT_SMTP_PASSWORD_ENV, rocketchatSmtpEnv } from '../lib/mail';
import { rocketchatHealthcheck, rocketchatMongoUrl } from '../lib/mongo';
import { MongoTopology, ROCKETCHAT_PROBE_TIMEOUT_SECONDS, RocketchatTopology, Topology } from '../lib/topology';
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

export interface RocketChatArgs {
  readonly topology: Topology;
  /** `topology.rocketchat`: name, port, ROOT_URL, uploads volume. */
  readonly rocketchat: RocketchatTopology;
  /** `topology.mongo`, for the replica-set URL. */
  readonly mongo: MongoTopology;
  /** Network the container joins under its alias. */
  readonly network: pulumi.Input<string>;
  /** Password of the Mongo application user. */
  readonly mongoPassword: pulumi.Input<string>;
  /** Initial administrator; `ADMIN_*` act only while no administrator exists. */
  readonly admin: {
    readonly username: string;
    readonly name: string;
    readonly email: string;
    readonly password: pulumi.Input<string>;
  };
  /** SMTP password, when `topology.mail` authenticates. */
  readonly smtpPassword?: pulumi.Input<string>;
  /** The replica-set initiation step: Rocket.Chat needs a writable primary, not just a running mongod. */
  readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** Rocket.Chat, with ROOT_URL equal to the proxy hostname's URL (rule 5) and PORT = its proxy_pass port (rule 3). */
export class RocketChat extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly uploads: docker.Volume;

  constructor(name: string, args: RocketChatArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kytes:app:RocketChat', name, {}, opts);
    const t = args.topology;
    const rc = args.rocketchat;
    const image = pinnedImage(`${name}-image`, rc.image, this);
    this.uploads = retainedVolume(`${name}-uploads`, rc.uploads, t.prefix, this);
    const mongoUrl = pulumi.secret(pulumi.output(args.mongoPassword).apply((p) => rocketchatMongoUrl(args.mongo, p)));

    const environment = containerEnv(
      {
        ROOT_URL: rc.rootUrl,
        PORT: String(rc.port),
        DEPLOY_METHOD: 'docker',
        // No INITIAL_USER: the server parses it as a JSON user document (server/startup/initialData.ts);
        // the administrator comes from ADMIN_PASS and ADMIN_*.
        ADMIN_USERNAME: args.admin.username,
        ADMIN_NAME: args.admin.name,
        ADMIN_EMAIL: args.admin.email,
        OVERWRITE_SETTING_Show_Setup_Wizard: 'completed',
        // The stored Site_Url setting, not ROOT_URL, is what the server and clients use once set
        // (the server watches the Site_Url setting): pinning it keeps rule 5 true after a URL change (HTTPS).
        OVERWRITE_SETTING_Site_Url: rc.rootUrl,
        // /livez thresholds (see topology.rocketchat.liveness): healthy = alive and connected to MongoDB.
        HEAP_USAGE_PERCENT: String(rc.liveness.heapUsageRatio),
        EVENT_LOOP_LAG_MS: String(rc.liveness.eventLoopLagMs),
        TZ: t.timezone,
        ...rocketchatSmtpEnv(t.mail),
      },
      {
        MONGO_URL: mongoUrl,
        ADMIN_PASS: args.admin.password,
        ...(args.smtpPassword === undefined ? {} : { [ROCKETCHAT_SMTP_PASSWORD_ENV]: args.smtpPassword }),
      },
    );
    this.container = new docker.Container(
      `${name}-container`,
      {
        name: rc.container,
        image: image.imageId,
        hostname: rc.alias,
        networksAdvanced: networkAttachment(args.network, rc.alias),
        envs: environment.envs,
        volumes: [{ volumeName: this.uploads.name, containerPath: rc.uploads.containerPath }],
        healthcheck: {
          tests: rocketchatHealthcheck(rc),
          interval: seconds(30),
          timeout: seconds(ROCKETCHAT_PROBE_TIMEOUT_SECONDS),
          retries: 5,
          startPeriod: seconds(300),
          startInterval: seconds(5),
        },
        wait: true,
        waitTimeout: 600,
        restart: 'unless-stopped',
        memory: rc.memoryMB,
        stopTimeout: 30,
        // Stopped (SIGTERM, then stopTimeout) before removal on destroy or replace, never killed outright.
        destroyGraceSeconds: 60,
        ...containerLogging(t.logs),
        labels: containerLabels(t.prefix, 'rocketchat', {}, environment.secretNames),
      },
      containerOptions(this, args.dependsOn),
    );
    this.registerOutputs({ container: this.container.name, url: rc.rootUrl });
  }
}
