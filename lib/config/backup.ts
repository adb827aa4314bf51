import { z } from 'zod';
import { isCron } from './fields';
import { isResticOffHost, RESTIC_FORMS } from './offhost';

/** `kytes:backup`: scheduled and on-demand backups. */
export const backupSection = z
  .strictObject({
    schedule: z
      .string()
      .refine(isCron, { error: 'a five-field cron expression such as "0 */4 * * *"' })
      .default('0 */4 * * *')
      .describe('Cron schedule of automatic backups. Default every 4 hours, `0 */4 * * *`.'),
    dir: z
      .string()
      .regex(/^\/[^\s]*$/, { error: 'an absolute path on the Docker host, without spaces' })
      .optional()
      .describe('Backup directory on the Docker host. Default `/var/backups/kytes/<prefix>`.'),
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
    offHost: z
      .string()
      .refine((v) => /^(\/[^\s]*|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\/[^\s]*)$/.test(v) || isResticOffHost(v), {
        error: `an absolute path (mounted remote storage), user@host:/path for rsync over SSH, or a restic repository (${RESTIC_FORMS})`,
      })
      .optional()
      .describe(
        'Second location each verified backup is copied to: a path, `user@host:/path` (rsync), or `restic:<repository>` (encrypted, deduplicated snapshots). Default none.',
      ),
    trigger: z
      .string()
      .max(128)
      .optional()
      .describe('Change this value to take an on-demand backup during `pulumi up`.'),
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
