import { execFileSync } from 'child_process';
import { offHostProblem, type KytesConfig } from '../lib/config';
import { hostDockerUrl } from '../lib/connection';
import { resticRepository } from '../lib/config/offhost';
import { MONGO_ROOT_USER_ENV, MONGO_SECRET_ENV } from '../lib/mongo';
import { renderTemplate } from '../lib/render';
import { commentText } from '../lib/sinks';
import type { Topology } from '../lib/topology';

/**
 * The ops scripts installed on the Docker host (into `t.ops.scriptsDir`), rendered from
 * `templates/ops/` with every name taken from the topology. They hold no secret: the containers
 * already hold what the dumps need (PostgreSQL's local socket, Mongo's root login in its container
 * environment), and restic reads its password from `t.ops.resticPasswordFile`, which `BackupOps`
 * writes. Host requirements: bash 4.4+, coreutils, util-linux (flock), tar, awk, sed, jq, zstd, the
 * docker CLI; rsync and ssh only for an `user@host:/path` off-host target (`KYTES_OFFHOST_SSH` on the
 * host overrides the SSH command: port, key, known_hosts), restic only for a `restic:` one. openssl is
 * optional: checksums use it when present (several times faster than coreutils' sha256sum).
 */

export const OPS_SCRIPTS = [
  'kytes-lib.sh',
  'kytes-backup',
  'kytes-verify',
  'kytes-restore',
  'kytes-backups',
  'kytes-prune',
  'kytes-offhost-copy',
  'kytes-offhost-fetch',
] as const;
export type OpsScriptName = (typeof OPS_SCRIPTS)[number];

export interface OpsOptions {
  /** Newest verified backups kept (`kytes:backup.keepLast`). */
  readonly keepLast: number;
  /** Days whose newest backup is kept (`kytes:backup.keepDaily`). */
  readonly keepDaily: number;
  /** ISO weeks whose newest backup is kept (`kytes:backup.keepWeekly`). */
  readonly keepWeekly: number;
  /**
   * Second location (`kytes:backup.offHost`): an absolute path, `user@host:/path` (rsync over SSH), or
   * `restic:<repository>` (lib/config/offhost.ts). Default none.
   */
  readonly offHost?: string;
  /** Git commit of the IaC that rendered the scripts; recorded in every manifest. */
  readonly projectCommit: string;
  /** Whether the IaC work tree had uncommitted changes. */
  readonly projectDirty: boolean;
  /** Version of the Kytes project (package.json). Default: recorded as null. */
  readonly projectVersion?: string;
  /** How long a restore waits for a restarted container to be healthy. Default 1800 s (GitLab is slow). */
  readonly healthTimeoutSeconds?: number;
}

/** GitLab's default `backup_path`, relative to its data path (`/var/opt/gitlab/backups`); Kytes does not change it. */
const GITLAB_BACKUP_SUBDIR = 'backups';

/** The retention and off-host part of {@link OpsOptions}, from the `kytes:backup.*` config. */
export function opsOptionsFromConfig(
  config: KytesConfig,
  project: Pick<OpsOptions, 'projectCommit' | 'projectDirty' | 'projectVersion'>,
): OpsOptions {
  const { keepLast, keepDaily, keepWeekly, offHost } = config.backup;
  return {
    keepLast,
    keepDaily,
    keepWeekly,
    offHost,
    ...project,
    healthTimeoutSeconds: config.gitlab.startTimeoutMinutes * 60,
  };
}

/** Commit and dirty flag of the git work tree at `dir`; `unknown` outside git (e.g. a tarball). */
export function projectGitState(dir: string): { projectCommit: string; projectDirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const status = execFileSync('git', ['status', '--porcelain'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return { projectCommit: commit, projectDirty: status.trim().length > 0 };
  } catch {
    return { projectCommit: 'unknown', projectDirty: true };
  }
}

function check(options: OpsOptions): void {
  const problems: string[] = [];
  const count = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min || v > 9999)
      problems.push(`${name}: ${v} is not a whole number from ${min} to 9999`);
  };
  count('keepLast', options.keepLast, 1);
  count('keepDaily', options.keepDaily, 0);
  count('keepWeekly', options.keepWeekly, 0);
  count('healthTimeoutSeconds', options.healthTimeoutSeconds ?? 1800, 1);
  const offHost = options.offHost === undefined ? undefined : offHostProblem(options.offHost);
  if (offHost !== undefined) problems.push(`offHost: ${JSON.stringify(options.offHost)}: allowed: ${offHost}`);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(options.projectCommit))
    problems.push(`projectCommit: "${options.projectCommit}" is not a commit id`);
  if (problems.length > 0) throw new Error(`Invalid ops options:\n  - ${problems.join('\n  - ')}`);
}

/** Everything the templates read; flat, with empty lists and '' for absent parts (strict templates). */
function view(t: Topology, o: OpsOptions) {
  const first = t.gitlab[0];
  return {
    project: t.project,
    // Also written bare into each script's header comment.
    stack: commentText(t.stack),
    prefix: t.prefix,
    backupDir: t.ops.backupDir,
    dockerHost: hostDockerUrl(t.docker),
    invocationLog: t.ops.invocationLog,
    schedule: t.ops.schedule,
    cronLog: t.ops.cronLog,
    alertFile: t.ops.alertFile,
    alertFormat: t.ops.alertFormat,
    commit: o.projectCommit,
    dirty: o.projectDirty ? 'true' : 'false',
    version: o.projectVersion ?? '',
    postgres: { container: t.postgres.container, superuser: t.postgres.superuser },
    gitlab: t.gitlab.map((g) => ({ name: g.name, container: g.container, dataVolume: g.volumes.data.name })),
    gitlabBackupPath: `${first.volumes.data.containerPath}/${GITLAB_BACKUP_SUBDIR}`,
    gitlabBackupSubdir: GITLAB_BACKUP_SUBDIR,
    gitlabConfigPath: first.volumes.config.containerPath,
    mongoMembers: t.mongo ? t.mongo.members.map((m) => m.container) : [],
    mongoPort: String(t.mongo?.port ?? ''),
    mongoReplicaSet: t.mongo?.replicaSet ?? '',
    mongoDatabase: t.mongo?.appDatabase ?? '',
    mongoRootUserEnv: MONGO_ROOT_USER_ENV,
    mongoRootPasswordEnv: MONGO_SECRET_ENV.rootPassword,
    rocketchatContainer: t.rocketchat?.container ?? '',
    rocketchatUploadsVolume: t.rocketchat?.uploads.name ?? '',
    tlsVolume: t.tls.volume?.name ?? '',
    nginxContainer: t.nginx.container,
    nginxConfig: t.nginx.configPath,
    containers: [
      { component: 'postgres', container: t.postgres.container },
      ...t.gitlab.flatMap((g) => [
        { component: `redis-${g.name}`, container: g.redis.container },
        { component: `gitlab-${g.name}`, container: g.container },
      ]),
      ...(t.mongo?.members ?? []).map((m) => ({ component: `mongo-${m.index}`, container: m.container })),
      ...(t.rocketchat ? [{ component: 'rocketchat', container: t.rocketchat.container }] : []),
      { component: 'nginx', container: t.nginx.container },
    ],
    keepLast: o.keepLast,
    keepDaily: o.keepDaily,
    keepWeekly: o.keepWeekly,
    offHost: o.offHost ?? '',
    resticRepository: o.offHost === undefined ? '' : (resticRepository(o.offHost)?.repository ?? ''),
    resticPasswordFile: t.ops.resticPasswordFile,
    healthTimeoutSeconds: o.healthTimeoutSeconds ?? 1800,
  };
}

/**
 * File name → content of every ops script, for `t.ops.scriptsDir` on the Docker host (mode 0755;
 * `kytes-lib.sh` is sourced by the others from the same directory). Pure and byte-stable.
 * Throws on options outside their ranges.
 */
export function renderOpsScripts(t: Topology, options: OpsOptions): Record<OpsScriptName, string> {
  check(options);
  const v = view(t, options);
  const out = {} as Record<OpsScriptName, string>;
  for (const name of OPS_SCRIPTS) {
    out[name] = renderTemplate(`ops/${name}.hbs`, v);
  }
  return out;
}
