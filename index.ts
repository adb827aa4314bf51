import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { GitlabInstance } from './components/gitlab';
import { MongoReplicaSet } from './components/mongo';
import { StackNetwork } from './components/network';
import { ReverseProxy } from './components/nginx';
import { Postgres } from './components/postgres';
import { Redis } from './components/redis';
import { RocketChat } from './components/rocketchat';
import { loadStack } from './lib/load';
import { BackupOps } from './ops/backupOps';
import { opsOptionsFromConfig, projectGitState, renderOpsScripts } from './ops/scripts';
import { deriveStackSecrets } from './lib/secrets';
import { isResticOffHost } from './lib/config/offhost';

// Wiring only: every name, port and URL below comes from the topology.
const { config, topology: t, masterSecret } = loadStack();
const secrets = deriveStackSecrets(masterSecret, t);

const provider = new docker.Provider(`${t.prefix}-docker`, { host: t.docker.url, sshOpts: [...t.docker.sshOpts] });
const opts = { providers: [provider] };

const network = new StackNetwork(`${t.prefix}-network`, { topology: t }, opts);
const postgres = new Postgres(
  `${t.prefix}-postgres`,
  {
    topology: t,
    network: network.name,
    superuserPassword: secrets.postgresSuperuser,
    gitlabPasswords: secrets.gitlabDatabase,
  },
  opts,
);
const redis = new Redis(`${t.prefix}-redis`, { topology: t, network: network.name, password: secrets.redis }, opts);

const gitlab = t.gitlab.map(
  (g) =>
    new GitlabInstance(
      `${t.prefix}-gitlab-${g.name}`,
      {
        topology: t,
        instance: g,
        network: network.name,
        memoryProfile: config.memoryProfile,
        databasePassword: secrets.gitlabDatabase[g.name],
        redisPassword: secrets.redis,
        rootPassword: secrets.gitlabRoot[g.name],
        startTimeoutMinutes: config.gitlab.startTimeoutMinutes,
        dependsOn: [postgres.setup, redis.container],
      },
      opts,
    ),
);

let mongo: MongoReplicaSet | undefined;
let rocketchat: RocketChat | undefined;
if (t.mongo && t.rocketchat) {
  mongo = new MongoReplicaSet(
    `${t.prefix}-mongo`,
    {
      topology: t,
      mongo: t.mongo,
      network: network.name,
      rootPassword: secrets.mongoRoot,
      appPassword: secrets.mongoApp,
    },
    opts,
  );
  rocketchat = new RocketChat(
    `${t.prefix}-rocketchat`,
    {
      topology: t,
      rocketchat: t.rocketchat,
      mongo: t.mongo,
      network: network.name,
      mongoPassword: secrets.mongoApp,
      admin: {
        username: config.admin.username,
        name: config.admin.name,
        email: config.admin.email ?? `admin@${t.domain}`,
        password: secrets.rocketchatAdmin,
      },
      memoryProfile: config.memoryProfile,
      dependsOn: [mongo.initiation],
    },
    opts,
  );
}

const proxy = new ReverseProxy(`${t.prefix}-nginx`, { topology: t, network: network.name }, opts);

const ops = new BackupOps(`${t.prefix}-ops`, {
  topology: t,
  scripts: renderOpsScripts(t, opsOptionsFromConfig(config, projectGitState(__dirname))),
  backupTrigger: config.backup.trigger,
  restoreFrom: config.restore.from,
  gitlabContainers: Object.fromEntries(t.gitlab.map((g, i) => [g.name, gitlab[i].container])),
  resticPassword:
    config.backup.offHost !== undefined && isResticOffHost(config.backup.offHost) ? secrets.restic : undefined,
  dependsOn: [
    postgres.container,
    postgres.setup,
    redis.container,
    ...(mongo ? [...mongo.members, mongo.initiation] : []),
    ...(rocketchat ? [rocketchat.container] : []),
  ],
});

export const networkName = network.name;
export const urls = {
  gitlab: Object.fromEntries(t.gitlab.map((g) => [g.name, g.externalUrl])),
  rocketchat: t.rocketchat?.rootUrl,
};
export const gitlabInstances = t.gitlab.map((g) => ({
  name: g.name,
  url: g.externalUrl,
  sshClone: g.sshCloneHost,
  container: g.container,
}));
export const containers = {
  postgres: postgres.container.name,
  redis: redis.container.name,
  gitlab: gitlab.map((g) => g.container.name),
  mongo: mongo?.members.map((m) => m.name) ?? [],
  rocketchat: rocketchat?.container.name,
  nginx: proxy.container.name,
};
export const volumes = {
  postgres: postgres.volume.name,
  redis: redis.volume.name,
  gitlab: gitlab.map((g) => [g.volumes.config.name, g.volumes.data.name, g.volumes.logs.name]),
  mongo: mongo?.volumes.map((v) => v.name) ?? [],
  rocketchat: rocketchat?.uploads.name,
};
export const adminCredentials = pulumi.secret({
  gitlab: Object.fromEntries(t.gitlab.map((g) => [g.name, { username: 'root', password: secrets.gitlabRoot[g.name] }])),
  rocketchat: t.rocketchat ? { username: config.admin.username, password: secrets.rocketchatAdmin } : undefined,
});
export const backups = {
  dir: ops.backupDir,
  scriptsDir: ops.scriptsDir,
  cronFile: ops.cronFile,
  lastOnDemandBackup: ops.lastBackupId,
  // For restic run by hand (docs/operations.md): the repository's password, as a Pulumi secret.
  resticPassword: ops.resticPasswordFile ? secrets.restic : undefined,
};
