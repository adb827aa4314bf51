import { ImageRefs, serviceOf } from './services';
import { ResourceView, TYPES, displayName, isCommand } from './view';

/** Kytes' ops module names the command that installs the cron file `<prefix>-backup-schedule`. */
export const BACKUP_SCHEDULE_SUFFIX = '-backup-schedule';

/**
 * Advisory, stack-wide: a GitLab without scheduled backups loses everything since the last manual
 * one. The schedule is recognised by the name of the command that installs it.
 */
export function backupScheduled(resources: readonly ResourceView[], imageRefs: ImageRefs): string[] {
  const gitlab = resources.filter((r) => r.type === TYPES.container && serviceOf(r, imageRefs) === 'gitlab');
  if (gitlab.length === 0) return [];
  if (resources.some((r) => isCommand(r.type) && r.name.endsWith(BACKUP_SCHEDULE_SUFFIX))) return [];
  const names = gitlab.map((r) => `"${displayName(r)}"`).join(', ');
  const containers = gitlab.length === 1 ? 'container' : 'containers';
  return [
    `GitLab runs in this stack (${containers} ${names}) but no backup schedule is installed; add a command:local:Command or command:remote:Command whose name ends with "${BACKUP_SCHEDULE_SUFFIX}" and installs the cron file, as Kytes' ops module does`,
  ];
}
