import { z } from 'zod';
import { checked, cronProblem } from './fields';
import { hostDirProblem, nested, offHostLocalDir, offHostProblem } from './paths';

/** `kytes:backup`: scheduled and on-demand backups. */
export const backupSection = z
  .strictObject({
    schedule: checked(cronProblem)
      .default('0 */4 * * *')
      .describe('Cron schedule of automatic backups. Default every 4 hours, `0 */4 * * *`.'),
    dir: checked(hostDirProblem)
      .optional()
      .describe(
        'Backup directory on the Docker host: absolute, normalised, not a system directory (Kytes makes it root-only). Default `/var/backups/kytes/<prefix>`.',
      ),
    keepLast: z.number().int().min(1).max(1000).default(6).describe('Keep the newest N backups. Default 6.'),
    keepDaily: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(7)
      .describe('Also keep the newest backup of each of the last N days. Default 7.'),
    keepWeekly: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(4)
      .describe('Also keep the newest backup of each of the last N weeks. Default 4.'),
    offHost: checked(offHostProblem)
      .optional()
      .describe(
        'Second location each verified backup is copied to: an absolute path (mounted remote storage, not inside `dir` nor holding it) `user@host:/path` (rsync over SSH), or `restic:<repository>` (encrypted, deduplicated snapshots: `restic:/path`, `restic:sftp:user@host:/path`, `restic:rest:https://host[:port]/path`). Default none.',
      ),
    trigger: z
      .string()
      .max(128)
      .optional()
      .describe('Change this value to take an on-demand backup during `pulumi up`.'),
  })
  .superRefine((b, ctx) => {
    // The default dir depends on the prefix and is checked by the topology; an explicit one here.
    const local = b.offHost === undefined ? undefined : offHostLocalDir(b.offHost);
    if (b.dir !== undefined && local !== undefined && nested(b.dir, local)) {
      ctx.addIssue({
        code: 'custom',
        path: ['offHost'],
        message: `a location on other storage: ${b.offHost} and kytes:backup.dir ${b.dir} are the same directory or one holds the other`,
      });
    }
  })
  .default({ schedule: '0 */4 * * *', keepLast: 6, keepDaily: 7, keepWeekly: 4 })
  .describe('Scheduled and on-demand backups.');

/** `kytes:restore`: restore from a backup during `pulumi up`. */
export const restoreSection = z
  .strictObject({
    from: z
      .string()
      .regex(/^[0-9]{8}T[0-9]{6}Z(-[a-z0-9]+)?$/, { error: 'a backup id such as 20261122T040000Z' })
      .optional()
      .describe('Backup id to restore during `pulumi up`; setting or changing it runs a restore.'),
  })
  .default({})
  .describe('Restore from a backup.');
