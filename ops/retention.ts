import { BACKUP_ID } from './manifest';

/**
 * Which backups retention keeps. The same rules are implemented in bash in `kytes-prune`
 * (`templates/ops/kytes-lib.sh.hbs`, `retention_keep`); a property test runs both on random
 * backup lists and requires the same selection.
 *
 * Rules (restic's `--keep-*` semantics, on backup ids, which are UTC timestamps):
 * - only verified backups are candidates; unverified ones never count and are never kept;
 * - keep the newest `keepLast` verified backups — and always at least the newest one;
 * - keep the newest backup of each of the `keepDaily` most recent UTC days that have one;
 * - keep the newest backup of each of the `keepWeekly` most recent ISO weeks that have one.
 * Order is the id's byte order, newest first: for equal timestamps a suffixed id sorts after
 * (is "newer" than) the plain one, in TypeScript as in `LC_ALL=C sort`.
 */

export interface BackupEntry {
  /** Backup id (directory name), `YYYYMMDDTHHMMSSZ[-label]`. */
  readonly id: string;
  /** A `verified` marker exists: the backup passed verification when it was made or later. */
  readonly verified: boolean;
}

export interface RetentionPolicy {
  /** Newest verified backups kept. Config `kytes:backup.keepLast`, default 6; 0 still keeps the newest. */
  readonly keepLast: number;
  /** Most recent days (with a backup) whose newest backup is kept. `kytes:backup.keepDaily`, default 7. */
  readonly keepDaily: number;
  /** Most recent ISO weeks (with a backup) whose newest backup is kept. `kytes:backup.keepWeekly`, default 4. */
  readonly keepWeekly: number;
}

export interface RetentionDecision {
  /** Ids kept, newest first. */
  readonly keep: string[];
  /** Ids deleted, newest first: every backup id not kept, verified or not. */
  readonly remove: string[];
}

const byNewest = (a: string, b: string): number => (a < b ? 1 : a > b ? -1 : 0);

/** `YYYYMMDD` of an id. */
export function dayOf(id: string): string {
  return id.slice(0, 8);
}

/** ISO 8601 week of an id, `GGGG-Www` (what `date +%G-W%V` prints). */
export function isoWeekOf(id: string): string {
  const y = Number(id.slice(0, 4));
  const m = Number(id.slice(4, 6));
  const d = Number(id.slice(6, 8));
  const day = Date.UTC(y, m - 1, d);
  const mondayBased = (new Date(day).getUTCDay() + 6) % 7;
  // The Thursday of the same week decides the ISO year; week 1 holds that year's first Thursday.
  const thursday = new Date(day + (3 - mondayBased) * 86_400_000);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

function newestPerBucket(ids: readonly string[], bucket: (id: string) => string, buckets: number): string[] {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const id of ids) {
    if (seen.size >= buckets) break;
    const b = bucket(id);
    if (seen.has(b)) continue;
    seen.add(b);
    kept.push(id);
  }
  return kept;
}

/** Pure: the same entries and policy always give the same decision. Ids that are not backup ids are ignored. */
export function selectRetention(entries: readonly BackupEntry[], policy: RetentionPolicy): RetentionDecision {
  const valid = entries.filter((e) => BACKUP_ID.test(e.id));
  const verified = valid
    .filter((e) => e.verified)
    .map((e) => e.id)
    .sort(byNewest);
  const keep = new Set<string>(verified.slice(0, Math.max(1, policy.keepLast)));
  newestPerBucket(verified, dayOf, policy.keepDaily).forEach((id) => keep.add(id));
  newestPerBucket(verified, isoWeekOf, policy.keepWeekly).forEach((id) => keep.add(id));
  const all = [...new Set(valid.map((e) => e.id))].sort(byNewest);
  return { keep: all.filter((id) => keep.has(id)), remove: all.filter((id) => !keep.has(id)) };
}
