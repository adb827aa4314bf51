import { compareSeries, parseVersion, series, Version } from './versions';

/**
 * GitLab's required upgrade stops (docs.gitlab.com/update/upgrade_paths): versions an instance must run,
 * and let its background migrations finish on, before it may go further. Up to 17.3 they are listed one by
 * one (the unconditional ones; the conditional 15.1, 16.0, 16.1, 16.2 and 17.1 are in docs/upgrades.md);
 * from 17.5 on they follow the published schedule x.2, x.5, x.8, x.11, which omnibus' own
 * `gitlab-ctl upgrade-check` enforces at start (its `min_version` is 18.2, 18.5, 18.8, 18.11 and 19.2 in
 * the 18.3 … 19.3 tags). docs/versions.md records where each was read.
 */
export const LISTED_GITLAB_STOPS = ['15.0', '15.4', '15.11', '16.3', '16.7', '16.11', '17.3'] as const;
export const SCHEDULED_STOPS_FROM = { major: 17, minor: 5 } as const;
export const SCHEDULED_STOP_MINORS = [2, 5, 8, 11] as const;
/** Older than this, Kytes does not know the stops: the upgrade must be planned by hand. */
export const OLDEST_KNOWN_GITLAB = { major: 15, minor: 0 } as const;

type Series = Pick<Version, 'major' | 'minor'>;
const parseSeries = (text: string): Series => {
  const v = parseVersion(text);
  if (!v) throw new Error(`not a version: ${text}`);
  return v;
};

/** Every required stop up to and including the release series of `upTo`, oldest first, as `major.minor`. */
export function gitlabStopsUpTo(upTo: Series): string[] {
  const stops = LISTED_GITLAB_STOPS.filter((s) => compareSeries(parseSeries(s), upTo) <= 0).map(String);
  for (let major = SCHEDULED_STOPS_FROM.major; major <= upTo.major; major++) {
    for (const minor of SCHEDULED_STOP_MINORS) {
      const s = { major, minor };
      if (compareSeries(s, SCHEDULED_STOPS_FROM) >= 0 && compareSeries(s, upTo) <= 0) stops.push(series(s));
    }
  }
  return stops;
}

export type UpgradeDecision =
  | { readonly kind: 'same' }
  | { readonly kind: 'downgrade' }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'allowed' }
  | { readonly kind: 'blocked'; readonly stops: readonly string[] };

const fullKey = (v: Version) => [v.major, v.minor, v.patch ?? 0];
function compareFull(a: Version, b: Version): number {
  const [x, y] = [fullKey(a), fullKey(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/**
 * What the GitLab upgrade guard decides for an instance that runs `running` when the image holds
 * `target`: the same rules as the bash in ops/upgradeGuard.ts, which a test runs against this one.
 */
export function gitlabUpgradeDecision(running: Version, target: Version): UpgradeDecision {
  const order = compareFull(running, target);
  if (order === 0) return { kind: 'same' };
  if (order > 0) return { kind: 'downgrade' };
  if (compareSeries(running, OLDEST_KNOWN_GITLAB) < 0) return { kind: 'unknown' };
  const stops = gitlabStopsUpTo(target).filter((s) => {
    const v = parseSeries(s);
    return compareSeries(running, v) < 0 && compareSeries(v, target) < 0;
  });
  return stops.length > 0 ? { kind: 'blocked', stops } : { kind: 'allowed' };
}

/**
 * MongoDB's release series in upgrade order: a deployment moves one series at a time, with its
 * featureCompatibilityVersion set to the series it runs before the binaries change (MongoDB manual,
 * "Upgrade a Replica Set to 8.0" and its 7.0/6.0 counterparts). Rapid releases (7.1–7.3, 8.1–8.3) are not
 * upgrade steps Kytes takes.
 */
export const MONGO_SERIES = ['4.4', '5.0', '6.0', '7.0', '8.0'] as const;
