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
