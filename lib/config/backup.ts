import { z } from 'zod';
import { checked, cronProblem } from './fields';
import { hostDirProblem, nested, offHostLocalDir, offHostProblem } from './paths';

/** `kytes:backup.schedule` turned off: no scheduled backups. */
export const SCHEDULE_OFF = 'off';

/** Why `value` is neither a cron schedule nor `off`; undefined when it is one. */
export function scheduleProblem(value: string): string | undefined {
  if (value === SCHEDULE_OFF) return undefined;
  const cron = cronProblem(value);
  return cron === undefined ? undefined : `${cron}, or off (no scheduled backups)`;
}

export const BACKUP_ALERT_FORMATS = ['rocketchat', 'json'] as const;
export type BackupAlertFormat = (typeof BACKUP_ALERT_FORMATS)[number];

/** The secret leaf of `kytes:backup`: the webhook told when a scheduled backup fails. */
export const BACKUP_ALERT_KEY = 'kytes:backup.alert';
export const BACKUP_ALERT_HOW_TO_SET =
  'set it with `npm run pulumi -- config set --path --secret kytes:backup.alert` (prompts for the URL)';
export const BACKUP_ALERT_REFERENCE =
  '| `kytes:backup.alert` | secret string | Webhook URL (`https://…`) that receives a JSON message (`alertFormat`) when a scheduled backup fails, e.g. a Rocket.Chat incoming webhook. Set with `npm run pulumi -- config set --path --secret kytes:backup.alert` (prompts for it); it reaches the Docker host only as a root-only file. Default none: a failure is only in `cron.log`, the invocation log and `npm run backups`. |';

/**
 * What a webhook URL must be: http(s), a host, at most 2048 printable ASCII characters without space,
 * quote or backslash (it is written into a curl config file, `lib/sinks.ts` curlConfigString). Never
 * shows the value: a webhook URL holds its token.
 */
export function backupAlertProblem(url: string): string | undefined {
  const allowed =
    'an http:// or https:// URL with a host, at most 2048 printable characters without spaces, quotes or backslashes';
  if (url.length > 2048 || !/^[\x21-\x7e]+$/.test(url) || /["\\]/.test(url)) return allowed;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return allowed;
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '') return allowed;
  return undefined;
}

/** `kytes:backup`: scheduled and on-demand backups. */
export const backupSection = z
  .strictObject({
    schedule: checked(scheduleProblem)
      .default('0 */4 * * *')
      .describe(
        'Cron schedule of automatic backups (`/etc/cron.d/kytes-<prefix>`, run as root), or `off`: no cron file (an existing one is removed); backups are then taken only on demand, before `destroy` and upgrades. Default every 4 hours, `0 */4 * * *`; the dev stack sets `off`.',
      ),
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
    alertFormat: z
      .enum(BACKUP_ALERT_FORMATS, { error: 'one of rocketchat, json' })
      .default('rocketchat')
      .describe(
        'JSON message `kytes:backup.alert` receives when a scheduled backup fails: `rocketchat`, `{"text": …}` as Rocket.Chat incoming webhooks take it (Slack and Mattermost read it too); `json`, the same `text` plus the details under `kytes` (event, stack, host, time, message, last verified backup). Default `rocketchat`.',
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
  .default({ schedule: '0 */4 * * *', keepLast: 6, keepDaily: 7, keepWeekly: 4, alertFormat: 'rocketchat' })
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
