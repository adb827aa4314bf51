import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { GitlabInstance } from './components/gitlab';
import { MongoReplicaSet } from './components/mongo';
import { StackNetwork } from './components/network';
import { ReverseProxy } from './components/nginx';
import { Postgres } from './components/postgres';
import { Redis } from './components/redis';
import { RocketChat } from './components/rocketchat';
import { providerSshOpts } from './lib/connection';
import { TlsCertificates } from './components/tls';
import { loadStack } from './lib/load';
import { BackupOps } from './ops/backupOps';
import { opsOptionsFromConfig, projectGitState, renderOpsScripts } from './ops/scripts';
import { UpgradeGuard } from './ops/upgradeGuard';
import { deriveStackSecrets } from './lib/secrets';
import { isResticOffHost } from './lib/config/offhost';

// Wiring only: every name, port and URL below comes from the topology.
const { config, topology: t, masterSecret, smtpPassword, backupAlert, tlsPem } = loadStack();
const secrets = deriveStackSecrets(masterSecret, t);

// The same connection as every other step (lib/connection.ts): user, port, sshOpts, host-key checking.
const provider = new docker.Provider(`${t.prefix}-docker`, { host: t.docker.url, sshOpts: providerSshOpts(t.docker) });
const opts = { providers: [provider] };

const network = new StackNetwork(`${t.prefix}-network`, { topology: t }, opts);
// Runs before any GitLab, PostgreSQL or MongoDB container is replaced by one of another image.
const guard = new UpgradeGuard(`${t.prefix}-upgrade-guard`, { topology: t });
const postgres = new Postgres(
  `${t.prefix}-postgres`,
  {
    topology: t,
    network: network.name,
    superuserPassword: secrets.postgresSuperuser,
    gitlabPasswords: secrets.gitlabDatabase,
    dependsOn: [guard.postgres],
  },
  opts,
);

const redis = t.gitlab.map(
  (g) =>
    new Redis(
      `${t.prefix}-redis-${g.name}`,
      { topology: t, redis: g.redis, network: network.name, password: secrets.redis[g.name] },
      opts,
    ),
);

const gitlab = t.gitlab.map(
  (g, i) =>
    new GitlabInstance(
      `${t.prefix}-gitlab-${g.name}`,
      {
        topology: t,
        instance: g,
        network: network.name,
        databasePassword: secrets.gitlabDatabase[g.name],
        redisPassword: secrets.redis[g.name],
        rootPassword: secrets.gitlabRoot[g.name],
        smtpPassword,
        startTimeoutMinutes: config.gitlab.startTimeoutMinutes,
        dependsOn: [postgres.setup, redis[i].container, guard.gitlab],
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
      dependsOn: guard.mongo ? [guard.mongo] : [],
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
      smtpPassword,
      dependsOn: [mongo.initiation],
    },
    opts,
  );
}

// nginx starts only once the certificate files it names are checked and in place; ACME issuance needs it running.
const certificates = t.tls.mode === 'off' ? undefined : new TlsCertificates(`${t.prefix}-tls`, { topology: t }, opts);
const proxy = new ReverseProxy(
  `${t.prefix}-nginx`,
  { topology: t, network: network.name, tls: certificates, tlsPem },
  opts,
);
certificates?.issueAfter(proxy.container);

const ops = new BackupOps(`${t.prefix}-ops`, {
  topology: t,
  scripts: renderOpsScripts(t, opsOptionsFromConfig(config, projectGitState(__dirname))),
  backupTrigger: config.backup.trigger,
  restoreFrom: config.restore.from,
  gitlabContainers: Object.fromEntries(t.gitlab.map((g, i) => [g.name, gitlab[i].container])),
  resticPassword:
    config.backup.offHost !== undefined && isResticOffHost(config.backup.offHost) ? secrets.restic : undefined,
  alertWebhook: backupAlert,
  // A pre-upgrade backup runs the scripts installed before this `up`, which know only existing containers.
  installAfter: [guard.gitlab, guard.postgres, ...(guard.mongo ? [guard.mongo] : [])],
  dependsOn: [
    postgres.container,
    postgres.setup,
    ...redis.map((r) => r.container),
    ...(mongo ? [...mongo.members, mongo.initiation] : []),
    ...(rocketchat ? [rocketchat.container] : []),
    // Backups read the TLS volume with nginx's image (and restores reload nginx): so that `destroy` takes
    // the pre-destroy backup before nginx goes, and an on-demand backup or restore waits for it.
    proxy.container,
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
  redis: redis.map((r) => r.container.name),
  gitlab: gitlab.map((g) => g.container.name),
  mongo: mongo?.members.map((m) => m.name) ?? [],
  rocketchat: rocketchat?.container.name,
  nginx: proxy.container.name,
};
export const tls = {
  mode: t.tls.mode,
  hostnames: t.tls.certificates.map((c) => c.hostname),
  volume: t.tls.volume?.name,
  // `sudo <script> status` on the Docker host lists each certificate's expiry.
  script: t.tls.host?.script,
};
export const volumes = {
  postgres: postgres.volume.name,
  redis: redis.map((r) => r.volume.name),
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
  // `off`: no scheduled backups (kytes:backup.schedule).
  schedule: t.ops.schedule,
  lastOnDemandBackup: ops.lastBackupId,
  // For restic run by hand (docs/operations.md): the repository's password, as a Pulumi secret.
  resticPassword: ops.resticPasswordFile ? secrets.restic : undefined,
};
