/**
 * Version numbers read from image references, and compared. Version rules (which PostgreSQL a GitLab
 * needs, which MongoDB a Rocket.Chat needs, which GitLab keys to emit, which upgrades are allowed) work on
 * these, never on the raw reference text: `postgres@sha256:16aa…` holds no version at all, and a tag such
 * as `bookworm` holds none either.
 */

export interface Version {
  readonly major: number;
  readonly minor: number;
  /** Absent when the text gave only `major.minor` (`17.11`) or a major alone (`17`). */
  readonly patch?: number;
  /** How many parts the text gave: 1 (`17`, a moving line), 2 (`17.11`) or 3 (`19.3.0`). */
  readonly precision: 1 | 2 | 3;
  /** The text it was read from, for messages: `19.3.0`, `17.11`, `8.0`. */
  readonly text: string;
}

/** A reference split into its parts: `[registry[:port]/]path[:tag][@sha256:digest]`. */
export interface ImageRef {
  /** Everything before the tag and digest: `gitlab/gitlab-ce`, `registry.example.com:5000/team/app`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export function parseImageRef(ref: string): ImageRef {
  const at = ref.indexOf('@');
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const named = at >= 0 ? ref.slice(0, at) : ref;
  // A tag is after the last ':' of the last path segment; a ':' before the last '/' is a registry port.
  const slash = named.lastIndexOf('/');
  const colon = named.indexOf(':', slash + 1);
  if (colon < 0) return { repository: named, digest };
  return { repository: named.slice(0, colon), tag: named.slice(colon + 1), digest };
}

/**
 * `major.minor[.patch]` at the start of a version text; what follows (`-ce.0`, `-bookworm`, `-noble`) is
 * ignored. A lone major (`postgres:17`) reads as `17.0` with `text` `17`: it names a moving line, which
 * rules that need a minor treat as its first release. Undefined when the text does not start with a digit.
 */
export function parseVersion(text: string): Version | undefined {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?=$|[^0-9.])/.exec(text);
  if (!m) return undefined;
  return {
    major: Number(m[1]),
    minor: m[2] === undefined ? 0 : Number(m[2]),
    patch: m[3] === undefined ? undefined : Number(m[3]),
    precision: m[3] !== undefined ? 3 : m[2] !== undefined ? 2 : 1,
    text: m[0],
  };
}

/** The version a reference's tag names, if it has a tag that starts with one. Digests are never read. */
export function tagVersion(ref: string): Version | undefined {
  const { tag } = parseImageRef(ref);
  return tag === undefined ? undefined : parseVersion(tag);
}

/** Two readings of one version agree on every part both of them give (`17` and `17.11` agree). */
export function agree(a: Version, b: Version): boolean {
  const n = Math.min(a.precision, b.precision);
  return a.major === b.major && (n < 2 || a.minor === b.minor) && (n < 3 || (a.patch ?? 0) === (b.patch ?? 0));
}

/** Negative, zero or positive as `a` is older than, the same release series as, or newer than `b` (major.minor only). */
export function compareSeries(a: Pick<Version, 'major' | 'minor'>, b: Pick<Version, 'major' | 'minor'>): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

/** `a` is at least `major.minor`. */
export function atLeast(a: Version, major: number, minor = 0): boolean {
  return compareSeries(a, { major, minor }) >= 0;
}

export const series = (v: Pick<Version, 'major' | 'minor'>) => `${v.major}.${v.minor}`;
