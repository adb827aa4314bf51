/**
 * The restic form of `kytes:backup.offHost`: `restic:` followed by a restic repository, in one of the
 * three forms restic itself accepts (restic docs, "Preparing a new repository"):
 *
 * - `restic:/srv/restic/kytes`: a local path (mounted remote storage, a second disk);
 * - `restic:sftp:user@host:/srv/restic/kytes`: SFTP over SSH (the SSH command is `KYTES_OFFHOST_SSH`,
 *   as for the rsync form);
 * - `restic:rest:https://host:8000/kytes` (or `rest:http://…`): a restic REST server.
 *
 * The value reaches the ops scripts on the Docker host as one shell word and restic as one argument,
 * so only a conservative alphabet passes: nothing that could start an option (`-`), carry shell syntax
 * (quotes, `$`, backquotes, `;`, `|`, `&`, spaces, newlines, globs), a relative path, a `..` segment,
 * or credentials (a REST URL with `user:password@` would put a secret in stack config; restic's
 * repository password is derived from the master secret instead, never configured).
 * The path and `user@host:/path` (rsync) forms are validated in `backup.ts`.
 */

export const RESTIC_PREFIX = 'restic:';

/** Path segments: letters, digits, `.`, `_`, `-`, never `..` alone, never empty (no `//`). */
const SEGMENT = '(?!\\.\\.?(?:/|$))[A-Za-z0-9._-]+';
const ABS_PATH = `/${SEGMENT}(?:/${SEGMENT})*/?`;
/** A login name or a host name: starts with a letter or digit, so never an option. */
const USER = '[A-Za-z0-9][A-Za-z0-9._-]{0,63}';
const HOST = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*';
const PORT = '(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';

const LOCAL = new RegExp(`^${ABS_PATH}$`);
const SFTP = new RegExp(`^sftp:${USER}@${HOST}:${ABS_PATH}$`);
const REST = new RegExp(`^rest:https?://${HOST}(?::${PORT})?(?:/|${ABS_PATH})?$`);

export type ResticRepositoryKind = 'local' | 'sftp' | 'rest';

/** The restic repository named by an off-host value, or undefined when the value is not a valid restic form. */
export function resticRepository(offHost: string): { kind: ResticRepositoryKind; repository: string } | undefined {
  if (!offHost.startsWith(RESTIC_PREFIX)) return undefined;
  const repository = offHost.slice(RESTIC_PREFIX.length);
  if (repository.length > 1024) return undefined;
  if (LOCAL.test(repository)) return { kind: 'local', repository };
  if (SFTP.test(repository)) return { kind: 'sftp', repository };
  if (REST.test(repository)) return { kind: 'rest', repository };
  return undefined;
}

/** Whether `offHost` is a valid `restic:…` value. */
export function isResticOffHost(offHost: string): boolean {
  return resticRepository(offHost) !== undefined;
}

/** What the restic form accepts, for error messages. */
export const RESTIC_FORMS = 'restic:/path, restic:sftp:user@host:/path or restic:rest:https://host[:port]/path';
