import * as fc from 'fast-check';
import { configSchema } from '../lib/config';
import { isResticOffHost, resticRepository } from '../lib/config/offhost';
import { renderOpsScripts } from '../ops/scripts';
import { OPTIONS, topologyFor } from './ops/fixture';

/** `kytes:backup.offHost` in its restic form (lib/config/offhost.ts): what passes, and hostile values that do not. */

/** The problems the config schema finds in `kytes:backup.offHost`, as `path: message` lines. */
function offHostProblems(offHost: string): string[] {
  const r = configSchema.safeParse({ backup: { offHost } });
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const ACCEPTED: [string, string, string][] = [
  ['restic:/srv/restic/kytes', 'local', '/srv/restic/kytes'],
  ['restic:/mnt/nas-1/restic_repo.v2/', 'local', '/mnt/nas-1/restic_repo.v2/'],
  ['restic:sftp:backup@nas.example.com:/volume1/restic', 'sftp', 'sftp:backup@nas.example.com:/volume1/restic'],
  ['restic:sftp:kytes.ops@10.0.0.5:/srv/restic', 'sftp', 'sftp:kytes.ops@10.0.0.5:/srv/restic'],
  ['restic:rest:https://backup.example.com:8000/kytes', 'rest', 'rest:https://backup.example.com:8000/kytes'],
  ['restic:rest:http://rest-server:8000/', 'rest', 'rest:http://rest-server:8000/'],
  ['restic:rest:https://backup.example.com', 'rest', 'rest:https://backup.example.com'],
];

const REFUSED: [string, string][] = [
  ['restic:', 'no repository'],
  ['restic:srv/restic', 'a relative path'],
  ['restic:-o sftp.command=sh', 'an option'],
  ['restic:--repo=/tmp/x', 'an option'],
  ['restic:/srv/restic;rm -rf /', 'a command separator'],
  ['restic:/srv/$(id)/restic', 'a command substitution'],
  ['restic:/srv/`id`/restic', 'backquotes'],
  ["restic:/srv/'x'", 'quotes'],
  ['restic:/srv/re stic', 'a space'],
  ['restic:/srv/restic\nrm -rf /', 'a newline'],
  ['restic:/srv/*', 'a glob'],
  ['restic:/srv/../etc', 'a .. segment'],
  ['restic:/srv/./restic', 'a . segment'],
  ['restic://srv', 'an empty segment'],
  ['restic:sftp:-oProxyCommand=sh@host:/x', 'an SFTP user that is an option'],
  ['restic:sftp:user@-oProxyCommand=sh:/x', 'an SFTP host that is an option'],
  ['restic:sftp:user@host:relative', 'an SFTP path that is relative'],
  ['restic:sftp:host:/x', 'an SFTP target without a user'],
  ['restic:sftp://user@host:2222//srv/restic', 'the sftp:// URL form (the port goes in KYTES_OFFHOST_SSH)'],
  ['restic:rest:https://user:secret@backup.example.com/kytes', 'credentials in a REST URL (a secret in config)'],
  ['restic:rest:https://user@backup.example.com/kytes', 'a user in a REST URL'],
  ['restic:rest:https://backup.example.com:99999/', 'a port out of range'],
  ['restic:rest:ftp://backup.example.com/', 'another URL scheme'],
  ['restic:rest:https://backup.example.com/kytes?x=1', 'a query string'],
  ['restic:s3:s3.amazonaws.com/bucket', 'a backend Kytes does not support'],
  ['restic:rclone:remote:path', 'a backend Kytes does not support'],
  [`restic:/${'a'.repeat(1030)}`, 'an overlong value'],
  ['RESTIC:/srv/restic', 'the prefix in capitals'],
];

describe('the restic form of kytes:backup.offHost', () => {
  it.each(ACCEPTED)('accepts %s as a %s repository', (value, kind, repository) => {
    expect(resticRepository(value)).toEqual({ kind, repository });
    expect(offHostProblems(value)).toEqual([]);
  });

  it.each(REFUSED)('refuses %j (%s)', (value) => {
    expect(isResticOffHost(value)).toBe(false);
    expect(offHostProblems(value)).toEqual([expect.stringMatching(/^backup\.offHost: /)]);
  });

  it('says which forms are accepted', () => {
    expect(offHostProblems('restic:/srv/$(id)')).toEqual([
      'backup.offHost: a restic repository: restic:/path, restic:sftp:user@host:/path or restic:rest:https://host[:port]/path',
    ]);
  });

  it('never accepts a value that could leave its shell word or start an option, whatever the input', () => {
    const alphabet = fc.constantFrom(...'abz09/.-_:@ $;&|`\'"\\\n*?[]{}()<>!#~=,%+'.split(''));
    const candidates = fc.oneof(
      fc.string({ unit: alphabet, maxLength: 40 }).map((s) => `restic:${s}`),
      fc.string({ unit: alphabet, maxLength: 40 }).map((s) => `restic:/${s}`),
      fc.string({ unit: alphabet, maxLength: 40 }).map((s) => `restic:sftp:${s}`),
      fc.string({ unit: alphabet, maxLength: 40 }).map((s) => `restic:rest:https://${s}`),
    );
    fc.assert(
      fc.property(candidates, (value) => {
        const repo = resticRepository(value);
        if (repo === undefined) return true;
        return (
          /^[A-Za-z0-9._/:@-]+$/.test(repo.repository) &&
          !repo.repository.startsWith('-') &&
          !/(^|\/)\.\.?(\/|$)/.test(repo.repository.replace(/^[a-z]+:(\/\/)?/, '/'))
        );
      }),
      { numRuns: 3000, seed: 11 },
    );
  });

  it('renders the repository and the password file for the ops scripts, and refuses a bad one there too', () => {
    const t = topologyFor({ backup: { offHost: 'restic:sftp:backup@nas.example.com:/srv/restic' } });
    const lib = renderOpsScripts(t, { ...OPTIONS, offHost: 'restic:sftp:backup@nas.example.com:/srv/restic' })[
      'kytes-lib.sh'
    ];
    expect(lib).toContain("\nOFFHOST='restic:sftp:backup@nas.example.com:/srv/restic'\n");
    expect(lib).toContain("\nRESTIC_REPO='sftp:backup@nas.example.com:/srv/restic'\n");
    expect(lib).toContain("\nRESTIC_PASSWORD_FILE_PATH='/etc/kytes/kytes-unit/restic-password'\n");
    const plain = renderOpsScripts(topologyFor(), { ...OPTIONS, offHost: '/mnt/nas/kytes' })['kytes-lib.sh'];
    expect(plain).toContain("\nRESTIC_REPO=''\n");
    expect(() => renderOpsScripts(t, { ...OPTIONS, offHost: 'restic:/srv/$(id)' })).toThrow(
      'offHost: "restic:/srv/$(id)": allowed: a restic repository: restic:/path',
    );
  });
});

describe('the restic form and the backup directory', () => {
  const problems = (backup: object) => {
    const r = configSchema.safeParse({ backup });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('refuses a local repository inside the backup directory, or holding it (the copy would sit on the same disk)', () => {
    expect(problems({ dir: '/srv/backups', offHost: 'restic:/srv/backups/restic' })).toEqual([
      'backup.offHost: a location on other storage: restic:/srv/backups/restic and kytes:backup.dir /srv/backups are the same directory or one holds the other',
    ]);
    expect(problems({ dir: '/srv/backups/kytes', offHost: 'restic:/srv/backups/' })).toHaveLength(1);
    expect(problems({ dir: '/srv/backups', offHost: 'restic:/mnt/nas/restic' })).toEqual([]);
  });

  it('refuses a local repository in a system directory', () => {
    expect(problems({ offHost: 'restic:/etc' })).toEqual([
      'backup.offHost: a restic repository path that is a directory of its own, not the system directory /etc (Kytes makes it root-only)',
    ]);
  });
});
