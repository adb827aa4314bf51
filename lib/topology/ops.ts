import * as path from 'path';
import { KytesConfig } from '../config';
import { StackBasics } from './common';
import { OpsTopology } from './types';

/** Where the ops scripts, backups, cron file and invocation log live on the Docker host. */
export function deriveOps(config: KytesConfig, s: StackBasics): OpsTopology {
  const backupDir = config.backup.dir ?? `/var/backups/kytes/${s.prefix}`;
  return {
    backupDir,
    scriptsDir: `/opt/kytes/${s.prefix}`,
    cronFile: `/etc/cron.d/kytes-${s.prefix}`,
    schedule: config.backup.schedule,
    invocationLog: `${backupDir}/invocations.jsonl`,
    resticPasswordFile: `/etc/kytes/${s.prefix}/restic-password`,
    cronLog: `${backupDir}/cron.log`,
    alertFile: `/etc/kytes/${s.prefix}/backup-alert.curl`,
    alertFormat: config.backup.alertFormat,
  };
}

/** An installed ops script on the Docker host (`kytes-backup`, `kytes-lib.sh`, …): in `scriptsDir`. */
export function opsScriptPath(ops: Pick<OpsTopology, 'scriptsDir'>, script: string): string {
  return path.posix.join(ops.scriptsDir, script);
}

/**
 * Files in the backup dir on the Docker host; one touched less than an hour ago skips the backup Kytes
 * takes before deleting containers (`predestroy`) or before upgrading an image (`preupgrade`).
 */
export const SKIP_BACKUP_FILES = {
  predestroy: 'skip-predestroy-backup',
  preupgrade: 'skip-preupgrade-backup',
} as const;

export function skipBackupFile(ops: Pick<OpsTopology, 'backupDir'>, before: keyof typeof SKIP_BACKUP_FILES): string {
  return path.posix.join(ops.backupDir, SKIP_BACKUP_FILES[before]);
}
