import * as pulumi from '@pulumi/pulumi';
import { SCHEDULE_OFF } from '../lib/config/backup';
import { commentText, cronCommandWord, cronEnvLine, cronTimeFields, curlConfigString, shellWord } from '../lib/sinks';
import { opsScriptPath, skipBackupFile, Topology } from '../lib/topology';
import { AS_ROOT, bashScript, HostCommand, hostCommand, HostCommandArgs, installCronFileScript, say } from './host';

/**
 * Backups as resources: the ops scripts and their cron schedule on the Docker host, an on-demand backup
 * and a restore driven by config, and backups taken before containers go away. Every path comes from
 * `topology.ops`; the scripts themselves come from `ops/scripts.ts`.
 */
export interface BackupOpsArgs {
  /** Names and paths: `ops.scriptsDir`, `ops.backupDir`, `ops.cronFile`, the Docker host, the GitLab instances. */
  readonly topology: Topology;
  /**
   * The rendered ops scripts by file name (`renderOpsScripts`), installed executable into
   * `ops.scriptsDir`. Must contain `kytes-backup` (its last stdout line is the new backup id) and
   * `kytes-restore <id>`. They contain no secret.
   */
  readonly scripts: Readonly<Record<string, string>>;
  /**
   * Five-field cron schedule of automatic backups, or `off` (no cron file; an installed one is removed).
   * Default `topology.ops.schedule` (`kytes:backup.schedule`, `0 *\/4 * * *`).
   */
  readonly schedule?: string;
  /** `kytes:backup.trigger`: each new value takes a backup during `pulumi up`. Default none: no on-demand backup. */
  readonly backupTrigger?: string;
  /** `kytes:restore.from`: a backup id; setting or changing it restores that backup during `pulumi up`. Default none. */
  readonly restoreFrom?: string;
  /** The GitLab container of each instance in `topology.gitlab`, by instance name. */
  readonly gitlabContainers: Readonly<Record<string, pulumi.Resource>>;
  /**
   * Everything else a backup or restore needs running: PostgreSQL, Redis, the Mongo members and the
   * replica-set initiation, Rocket.Chat. Backups taken on delete run before these are removed. Default none.
   */
  readonly dependsOn?: readonly pulumi.Resource[];
  /**
   * Password of the restic repository named by `kytes:backup.offHost` (`restic:…`), a Pulumi secret
   * (derived from the master secret). Written to `topology.ops.resticPasswordFile` on the host (root
   * only, 0600) from the command's standard input, never its command string, environment or log.
   * Default none: no password file (an off-host location that is not a restic repository).
   */
  readonly resticPassword?: pulumi.Input<string>;
  /**
   * Webhook URL of `kytes:backup.alert`, a Pulumi secret: told when a scheduled backup fails. Written to
   * `topology.ops.alertFile` on the host (root only, 0600) as a curl config file, from the command's
   * standard input, never its command string, environment or log. Default none: no alert.
   */
  readonly alertWebhook?: pulumi.Input<string>;
  /**
   * Resources the scripts are installed after: the upgrade guards, whose pre-upgrade backup must run the
   * scripts installed before this `pulumi up` (they know only the containers that exist), not the new
   * ones (which may name an instance this `up` has not created yet). Default none.
   */
  readonly installAfter?: readonly pulumi.Resource[];
}

/** Set on the machine running `pulumi` to delete without the backup (local Docker host only). */
export const SKIP_ENV = 'KYTES_SKIP_PREDESTROY_BACKUP';
/**
 * Written by each backup taken on delete: its id, then the GitLab instances it holds, one per line.
 * A later delete of the same `pulumi` run finds its instance there and takes no second backup.
 * Cleared whenever the scripts are (re)installed, i.e. by any `pulumi up` that changes the instances.
 */
export const ONDELETE_MARK = 'last-ondelete-backup';
/**
 * Seconds a backup or restore run by Pulumi waits for one already running (a scheduled backup) to end;
 * the scripts' own default is to fail at once (`KYTES_LOCK_WAIT` of `kytes-lib.sh`).
 */
export const LOCK_WAIT_SECONDS = 3600;

const SCRIPT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9]+)?$/;
const REQUIRED_SCRIPTS = ['kytes-backup', 'kytes-restore'];
const CRON_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The cron file of this stack: a file of its own in `/etc/cron.d` (named without dots, which cron
 * would skip), never root's crontab. `CRON_TZ` is honoured by cronie; Debian's cron reads the schedule
 * in the host's time zone and only passes the variable on. Every value goes through its cron sink
 * function: the command words are shell-quoted with `%` escaped (cron reads `%` as a newline).
 */
export function renderCronFile(t: Topology, schedule: string): string {
  // `--scheduled`: kytes-backup appends its output to cron.log itself (rotated, bounded) and tells the alert
  // webhook about a failure; the redirection here only catches what fails before it gets that far.
  return [
    commentText(
      `# Kytes stack ${t.stack} (${t.prefix}): scheduled backups. Managed by Pulumi; set kytes:backup.schedule instead of editing.`,
    ),
    cronEnvLine('SHELL', '/bin/bash'),
    cronEnvLine('PATH', CRON_PATH),
    cronEnvLine('CRON_TZ', t.timezone),
    `${cronTimeFields(schedule)} root ${cronCommandWord(opsScriptPath(t.ops, 'kytes-backup'))} --scheduled >> ${cronCommandWord(t.ops.cronLog)} 2>&1`,
    '',
  ].join('\n');
}

/** One line per script, `name base64`, read by {@link unpackScripts}: bytes arrive intact, no quoting games. */
export function encodeScripts(scripts: Readonly<Record<string, string>>): string {
  return Object.keys(scripts)
    .sort()
    .map((file) => `${file} ${Buffer.from(scripts[file], 'utf8').toString('base64')}\n`)
    .join('');
}

/** Writes each script from stdin into `dir` (a shell word) under a dotted name, then renames it. */
function unpackScripts(dir: string): string[] {
  return [
    'while read -r file content; do',
    `  base64 -d <<<"$content" > ${dir}/".$file.tmp"`,
    `  chmod 0755 ${dir}/".$file.tmp"`,
    `  mv -f ${dir}/".$file.tmp" ${dir}/"$file"`,
    'done',
  ];
}

function validate(args: BackupOpsArgs, schedule: string): void {
  const problems: string[] = [];
  const files = Object.keys(args.scripts);
  files
    .filter((f) => !SCRIPT_NAME.test(f))
    .forEach((f) => problems.push(`script name ${JSON.stringify(f)} is not a plain file name`));
  REQUIRED_SCRIPTS.filter((f) => !files.includes(f)).forEach((f) => problems.push(`script ${f} is missing`));
  if (schedule !== SCHEDULE_OFF && !/^\S+( \S+){4}$/.test(schedule))
    problems.push(`schedule ${JSON.stringify(schedule)} is not five cron fields, nor off`);
  const instances = args.topology.gitlab.map((g) => g.name);
  instances
    .filter((i) => !args.gitlabContainers[i])
    .forEach((i) => problems.push(`no container given for GitLab instance ${i}`));
  Object.keys(args.gitlabContainers)
    .filter((i) => !instances.includes(i))
    .forEach((i) => problems.push(`container given for ${i}, which is not a GitLab instance of the topology`));
  if (problems.length > 0) throw new Error(`BackupOps: ${problems.join('; ')}`);
}

/**
 * Installs the scripts read from stdin ({@link encodeScripts}) into `ops.scriptsDir`, removes scripts an
 * earlier version installed and this one does not, creates the 0700 backup dir. As root (AS_ROOT).
 */
export function installScriptsScript(t: Topology, files: readonly string[]): string {
  const dir = shellWord(t.ops.scriptsDir);
  return bashScript(
    AS_ROOT,
    `install -d -m 0755 ${dir}`,
    `install -d -m 0700 ${shellWord(t.ops.backupDir)}`,
    ...unpackScripts(dir),
    // Scripts a previous version installed and this one no longer renders.
    `for f in ${dir}/kytes-*; do`,
    '  case "${f##*/}" in',
    `    ${files.map(shellWord).join('|')}) ;;`,
    '    *) rm -f -- "$f" ;;',
    '  esac',
    'done',
    `rm -f -- ${shellWord(`${t.ops.backupDir}/${ONDELETE_MARK}`)}`,
  );
}

/** Removes exactly the installed files, then the dir if empty. The backups are never touched. */
function removeScriptsScript(t: Topology, files: readonly string[]): string {
  const dir = shellWord(t.ops.scriptsDir);
  return bashScript(
    AS_ROOT,
    `rm -f -- ${files.map((f) => `${dir}/${shellWord(f)}`).join(' ')}`,
    `rmdir --ignore-fail-on-non-empty -- ${dir} 2>/dev/null || true`,
  );
}

/**
 * Writes a secret from stdin into a root-only file: umask first, so it is never readable by anyone
 * else, not even for an instant; a temporary name, then a rename; nothing printed.
 */
function installSecretFileScript(file: string, what: string): string {
  const dir = shellWord(file.slice(0, file.lastIndexOf('/')));
  const tmp = shellWord(`${file}.tmp`);
  return bashScript(
    AS_ROOT,
    'umask 077',
    `install -d -m 0700 ${dir}`,
    `cat > ${tmp}`,
    `test -s ${tmp} || { echo "kytes: empty ${what} on stdin" >&2; exit 1; }`,
    `chmod 0600 ${tmp}`,
    `mv -f ${tmp} ${shellWord(file)}`,
  );
}

/** Writes the restic password (from stdin) to `ops.resticPasswordFile`. */
export function installResticPasswordScript(t: Topology): string {
  return installSecretFileScript(t.ops.resticPasswordFile, 'restic password');
}

/** Writes the alert webhook's curl config (from stdin) to `ops.alertFile`. */
export function installAlertScript(t: Topology): string {
  return installSecretFileScript(t.ops.alertFile, 'alert webhook');
}

/** The curl config file that names the webhook: curl reads the URL from it, never from its arguments. */
export function alertCurlConfig(url: string): string {
  return `url = ${curlConfigString(url)}\n`;
}

/** Removes the cron file of the stack, saying the schedule is off. */
function scheduleOffScript(t: Topology): string {
  return bashScript(
    AS_ROOT,
    `if [ -e ${shellWord(t.ops.cronFile)} ]; then rm -f -- ${shellWord(t.ops.cronFile)}; ${say('kytes:backup.schedule is off: removed %s, no scheduled backups', t.ops.cronFile)}; else ${say('kytes:backup.schedule is off: no scheduled backups')}; fi`,
  );
}

interface OnDelete {
  /** What is being deleted, for messages. */
  readonly what: string;
  /** The GitLab instance whose backup a fresh mark may already hold. Default: always back up. */
  readonly instance?: string;
  /** Lines that leave the backup script's path in `$backup`. */
  readonly locate: string[];
  readonly label: string;
  /** GitLab instances the scripts run by this command know, i.e. what the backup holds. */
  readonly covers: readonly string[];
}

/**
 * The backup run when a resource that guards containers is deleted. A failure fails the delete, so
 * Pulumi keeps the containers. An operator who accepts losing the data since the last backup skips it:
 * on a local Docker host with `KYTES_SKIP_PREDESTROY_BACKUP=1 pulumi destroy`; on any host by running
 * `sudo touch <backupDir>/skip-predestroy-backup` there, honoured for an hour (an environment variable
 * of the machine running Pulumi never reaches an SSH host's command).
 */
function backupOnDeleteScript(t: Topology, d: OnDelete): string {
  const skip = skipBackupFile(t.ops, 'predestroy');
  const skipFile = shellWord(skip);
  const mark = shellWord(`${t.ops.backupDir}/${ONDELETE_MARK}`);
  return bashScript(
    `if [ "\${${SKIP_ENV}:-}" = 1 ]; then ${say(`${SKIP_ENV}=1: deleting %s WITHOUT a backup`, d.what)}; exit 0; fi`,
    AS_ROOT,
    `if [ -n "$(find ${skipFile} -maxdepth 0 -mmin -60 2>/dev/null)" ]; then ${say('%s is less than an hour old: deleting %s WITHOUT a backup', skip, d.what)}; exit 0; fi`,
    ...(d.instance === undefined
      ? []
      : [
          `if [ -n "$(find ${mark} -maxdepth 0 -mmin -30 2>/dev/null)" ] && tail -n +2 ${mark} | grep -qxF -- ${shellWord(d.instance)}; then`,
          `  printf 'kytes: %s is in backup %s, taken just before\\n' ${shellWord(d.what)} "$(head -n 1 ${mark})" >&2`,
          '  exit 0',
          'fi',
        ]),
    ...d.locate,
    say('backup before deleting %s', d.what),
    `id="$(KYTES_LOCK_WAIT=${LOCK_WAIT_SECONDS} "$backup" --label ${d.label} | tail -n 1)"`,
    `printf '%s\\n' "$id" ${d.covers.map(shellWord).join(' ')} > ${mark}`,
  );
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1].trim();
}

export class BackupOps extends pulumi.ComponentResource {
  /** Installs the scripts into `ops.scriptsDir` and creates `ops.backupDir`. */
  readonly scripts: HostCommand;
  /** The cron file at `ops.cronFile`; absent when the schedule is `off`. */
  readonly backupSchedule?: HostCommand;
  /** Present when the schedule is `off`: removes a cron file left by an earlier schedule. */
  readonly scheduleOff?: HostCommand;
  /** Present when `alertWebhook` is set: the root-only curl config naming the webhook. */
  readonly alertFile?: HostCommand;
  /** Present when `backupTrigger` is set. */
  readonly onDemandBackup?: HostCommand;
  /** Present when `restoreFrom` is set. */
  readonly restore?: HostCommand;
  /** Takes a full backup when deleted (`pulumi destroy`), before any container it depends on. */
  readonly predestroyBackup: HostCommand;
  /** Present when `resticPassword` is set: the root-only password file of the restic repository. */
  readonly resticPasswordFile?: HostCommand;
  /** Per GitLab instance: when it leaves the config, takes a full backup that still holds it. */
  readonly decommissionBackups: Readonly<Record<string, HostCommand>>;
  readonly backupDir: string;
  readonly scriptsDir: string;
  readonly cronFile: string;
  /** Id of the backup taken by the last on-demand run; undefined without `backupTrigger`. */
  readonly lastBackupId: pulumi.Output<string | undefined>;

  constructor(name: string, args: BackupOpsArgs, opts?: pulumi.ComponentResourceOptions) {
    const t = args.topology;
    // One line of five fields: a newline in the value could not add a cron line of its own.
    const schedule = (args.schedule ?? t.ops.schedule).trim().split(/\s+/).join(' ');
    // Before super(): invalid arguments register nothing.
    validate(args, schedule);
    super('kytes:ops:BackupOps', name, {}, opts);
    const files = Object.keys(args.scripts).sort();
    const packedScripts = encodeScripts(args.scripts);
    const run = (file: string) => shellWord(opsScriptPath(t.ops, file));
    const cmd = (suffix: string, a: HostCommandArgs, dependsOn: pulumi.Resource[] = []) =>
      hostCommand(`${name}-${suffix}`, t.docker, a, { parent: this, dependsOn, deleteBeforeReplace: true });
    const others = [...(args.dependsOn ?? [])];
    const allGitlab = t.gitlab.map((g) => args.gitlabContainers[g.name]);

    // Changed script content changes stdin: an update, which re-runs create in place. No triggers, so
    // nothing replaces it; should anything else, deleteBeforeReplace (on every command here, since each
    // owns fixed paths) runs the old delete before the new create, not after it.
    this.scripts = cmd(
      'scripts',
      {
        create: installScriptsScript(t, files),
        delete: removeScriptsScript(t, files),
        stdin: packedScripts,
        logging: 'stdoutAndStderr',
      },
      [...(args.installAfter ?? [])],
    );

    if (schedule === SCHEDULE_OFF) {
      // A command of another name: switching a schedule off deletes `backup-schedule`, whose delete removes
      // the cron file; this one removes a file no state knows of, and says the schedule is off. No delete:
      // switching back on creates `backup-schedule` before this one goes.
      this.scheduleOff = cmd('backup-schedule-off', { create: scheduleOffScript(t), logging: 'stdoutAndStderr' }, [
        this.scripts,
      ]);
    } else {
      this.backupSchedule = cmd(
        'backup-schedule',
        {
          create: installCronFileScript(t.ops.cronFile, 'scheduled backups'),
          delete: bashScript(AS_ROOT, `rm -f -- ${shellWord(t.ops.cronFile)}`),
          stdin: renderCronFile(t, schedule),
          logging: 'stdoutAndStderr',
        },
        [this.scripts],
      );
    }
    if (args.alertWebhook !== undefined) {
      // Like the restic password: the secret is stdin only, logging off. Deleted with the setting (or the
      // stack): no alert without a schedule to report on.
      this.alertFile = cmd(
        'backup-alert',
        {
          create: installAlertScript(t),
          delete: bashScript(AS_ROOT, `rm -f -- ${shellWord(t.ops.alertFile)}`),
          stdin: pulumi.secret(pulumi.output(args.alertWebhook).apply(alertCurlConfig)),
          logging: 'none',
        },
        [this.scripts],
      );
    }

    // The secret is this command's stdin only: pulumi-command passes stdin to the process (locally) or
    // the SSH session (remotely) and never repeats it in an error, unlike the command string and output.
    // logging 'none' in case a shell ever echoed it. No delete: the file outlives `destroy`, so the backup
    // taken then and any run by hand later still reach the repository; the next `up` rewrites the same one.
    if (args.resticPassword !== undefined) {
      this.resticPasswordFile = cmd(
        'restic-password',
        {
          create: installResticPasswordScript(t),
          stdin: pulumi.secret(args.resticPassword),
          logging: 'none',
        },
        [this.scripts],
      );
    }
    const services = [
      this.scripts,
      ...(this.resticPasswordFile ? [this.resticPasswordFile] : []),
      ...allGitlab,
      ...others,
    ];
    const lockWait = `KYTES_LOCK_WAIT=${LOCK_WAIT_SECONDS}`;
    if (args.backupTrigger !== undefined) {
      this.onDemandBackup = cmd(
        'backup-on-demand',
        {
          create: bashScript(AS_ROOT, `${lockWait} exec ${run('kytes-backup')} --label ondemand`),
          triggers: [args.backupTrigger],
          logging: 'stdoutAndStderr',
        },
        services,
      );
    }
    if (args.restoreFrom !== undefined) {
      // With both set in one `up`, the current data is backed up before the restore replaces it.
      this.restore = cmd(
        'restore',
        {
          // --yes: nobody is there to confirm; --once: a later `up` (even after destroy) with the same
          // kytes:restore.from finds it recorded in the backup dir and restores nothing.
          create: bashScript(
            AS_ROOT,
            `${lockWait} exec ${run('kytes-restore')} --yes --once ${shellWord(args.restoreFrom)}`,
          ),
          triggers: [args.restoreFrom],
          logging: 'stdoutAndStderr',
        },
        this.onDemandBackup ? [...services, this.onDemandBackup] : services,
      );
    }

    // When an instance leaves the config, the installed scripts have already been updated without it
    // (Pulumi deletes last), so its guard runs the scripts it was last given, which still know it. The
    // guards are chained so that, removing several at once, the first backup holds them all and the
    // next ones find it in the mark instead of backing up around a container already gone.
    const covers = t.gitlab.map((g) => g.name);
    const decommission: Record<string, HostCommand> = {};
    let previous: HostCommand | undefined;
    const snapshot = shellWord(`${t.ops.scriptsDir}/.ondelete.XXXXXX`);
    for (const g of t.gitlab) {
      previous = cmd(
        `decommission-backup-${g.name}`,
        {
          create: 'cat >/dev/null',
          stdin: packedScripts,
          delete: backupOnDeleteScript(t, {
            what: `GitLab instance ${g.name}`,
            instance: g.name,
            locate: [
              `install -d -m 0755 ${shellWord(t.ops.scriptsDir)}`,
              `snapshot="$(mktemp -d ${snapshot})"`,
              `trap 'rm -rf -- "$snapshot"' EXIT`,
              ...unpackScripts('"$snapshot"'),
              'backup="$snapshot/kytes-backup"',
            ],
            label: 'decommission',
            covers,
          }),
          logging: 'stdoutAndStderr',
        },
        [this.scripts, args.gitlabContainers[g.name], ...others, ...(previous ? [previous] : [])],
      );
      decommission[g.name] = previous;
    }
    this.decommissionBackups = decommission;

    // Depends on every container, so `pulumi destroy` deletes it (taking the backup) before them, and on
    // the decommission guards, so it runs first and they find their instances in its mark.
    const installed = opsScriptPath(t.ops, 'kytes-backup');
    this.predestroyBackup = cmd(
      'predestroy-backup',
      {
        create: 'true',
        delete: backupOnDeleteScript(t, {
          what: `the containers of ${t.prefix}`,
          locate: [
            `backup=${shellWord(installed)}`,
            `if [ ! -x "$backup" ]; then ${say(`%s is missing, so no backup can be taken before deleting the containers of %s; run pulumi up to reinstall it, or skip the backup (${SKIP_ENV}=1 or %s)`, installed, t.prefix, skipBackupFile(t.ops, 'predestroy'))}; exit 1; fi`,
          ],
          label: 'predestroy',
          covers,
        }),
        logging: 'stdoutAndStderr',
      },
      [...services, ...Object.values(decommission)],
    );

    this.backupDir = t.ops.backupDir;
    this.scriptsDir = t.ops.scriptsDir;
    this.cronFile = t.ops.cronFile;
    this.lastBackupId = this.onDemandBackup ? this.onDemandBackup.stdout.apply(lastLine) : pulumi.output(undefined);

    this.registerOutputs({
      backupDir: this.backupDir,
      scriptsDir: this.scriptsDir,
      cronFile: this.cronFile,
      schedule,
      lastBackupId: this.lastBackupId,
    });
  }
}
