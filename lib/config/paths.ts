import * as path from 'path';
import { hostnameProblem } from './names';
import { isIPv4Literal } from './net';
import { resticRepository, RESTIC_FORMS, RESTIC_PREFIX } from './offhost';

/**
 * Directories on the Docker host that Kytes makes root-owned and mode 0700 (`install -d -m 0700`,
 * `chmod 0700`): a wrong one locks every other user out of it. So a path must be absolute, already
 * normalised (what you read is what is used), made of portable file-name characters, and neither a
 * system directory nor inside a tree the system owns.
 */

/** Portable file-name characters (POSIX), plus `+` and `@`; no space, quote, `$`, `%`, `*` or newline. */
const SEGMENT = /^[A-Za-z0-9._+@-]+$/;
/** Directories that must never be made 0700 root, nor hold backups. */
export const SYSTEM_DIRS: ReadonlySet<string> = new Set([
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/media',
  '/mnt',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/srv',
  '/sys',
  '/tmp',
  '/usr',
  '/usr/local',
  '/var',
  '/var/backups',
  '/var/cache',
  '/var/lib',
  '/var/local',
  '/var/log',
  '/var/mail',
  '/var/opt',
  '/var/spool',
  '/var/tmp',
]);
/** Trees owned by the system or by a daemon: nothing of Kytes' may live inside. */
export const SYSTEM_TREES = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
  '/var/lib/docker',
  '/var/run',
];

/** `a` equals `b` or one holds the other. Both normalised absolute paths. */
export function nested(a: string, b: string): boolean {
  const within = (x: string, y: string) => x === y || y === '/' || x.startsWith(`${y}/`);
  return within(a, b) || within(b, a);
}

/** Why `p` cannot be a directory Kytes owns on a host; undefined when it can. */
export function hostDirProblem(p: string): string | undefined {
  if (!p.startsWith('/')) return 'an absolute path such as /srv/kytes/backups';
  const normal = path.posix.normalize(p).replace(/(.)\/$/, '$1');
  if (normal !== p) return `a normalised path: ${normal}, not ${p} (no "//", ".", ".." or trailing "/")`;
  if (SYSTEM_DIRS.has(p)) return `a directory of its own, not the system directory ${p} (Kytes makes it root-only)`;
  const bad = p
    .split('/')
    .slice(1)
    .find((s) => !SEGMENT.test(s));
  if (bad !== undefined) return `a path of letters, digits and . _ + @ - (not ${JSON.stringify(bad)})`;
  if (p.length > 1024) return 'a path of at most 1024 characters';
  const tree = SYSTEM_TREES.find((t) => p.startsWith(`${t}/`));
  if (tree) return `a directory outside ${tree}, which belongs to the system`;
  return undefined;
}

/** A POSIX user name as Debian's adduser accepts it (NAME_REGEX), at most 32 characters. */
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

export interface RsyncTarget {
  readonly user: string;
  readonly host: string;
  readonly path: string;
}

/** `user@host:/path` split in its parts; undefined for anything else. */
export function parseRsyncTarget(s: string): RsyncTarget | undefined {
  const m = /^([^@:/]+)@([^@:/]+):(\/.*)$/.exec(s);
  return m ? { user: m[1], host: m[2], path: m[3] } : undefined;
}

/**
 * Why `target` cannot be the off-host copy location; undefined when it can. A path is a mounted
 * remote storage and follows {@link hostDirProblem}; `user@host:/path` is rsync over SSH, where no
 * part may start with `-` (ssh and rsync would read an option) and the path is checked the same way.
 */
export function offHostProblem(target: string): string | undefined {
  if (target.startsWith('/')) return hostDirProblem(target);
  if (target.startsWith(RESTIC_PREFIX)) {
    const restic = resticRepository(target);
    if (!restic) return `a restic repository: ${RESTIC_FORMS}`;
    const dir = restic.kind === 'local' ? restic.repository.replace(/(.)\/$/, '$1') : undefined;
    const problem = dir === undefined ? undefined : hostDirProblem(dir);
    return problem ? `a restic repository path that is ${problem}` : undefined;
  }
  const r = parseRsyncTarget(target);
  if (!r)
    return `an absolute path (mounted remote storage), user@host:/path for rsync over SSH, or a restic repository (${RESTIC_FORMS})`;
  if (!USER.test(r.user)) return `a user name of lower-case letters, digits, _ and - (not ${JSON.stringify(r.user)})`;
  if (
    !isIPv4Literal(r.host) &&
    hostnameProblem(r.host) !== undefined &&
    !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(r.host)
  ) {
    return `a host that is a DNS name or an IPv4 address (not ${JSON.stringify(r.host)})`;
  }
  const pathProblem = hostDirProblem(r.path);
  return pathProblem ? `a remote path that is ${pathProblem}` : undefined;
}

/**
 * The directory an off-host value writes to on the Docker host itself, if any: a path, a restic
 * repository path, or an rsync / restic SFTP target whose host is `dockerHost` (the `ssh://` host). The
 * off-host copy must never be there and the backup directory at once.
 */
export function offHostLocalDir(offHost: string, dockerHost?: string): string | undefined {
  if (offHost.startsWith('/')) return offHost;
  const restic = resticRepository(offHost);
  if (restic?.kind === 'local') return restic.repository.replace(/(.)\/$/, '$1');
  const remote = parseRsyncTarget(restic?.kind === 'sftp' ? restic.repository.slice('sftp:'.length) : offHost);
  return remote !== undefined && dockerHost !== undefined && remote.host === dockerHost ? remote.path : undefined;
}
