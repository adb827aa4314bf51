import * as path from 'path';
import { isIPv4Literal } from './net';

/**
 * The Docker host as `kytes:docker.*` gives it: a local socket or an SSH login, the ssh options
 * every connection to it uses, and the host key it must present. Checked in meaning: each part
 * must reach ssh as the part it is meant to be (a host never read as an option, an option never
 * swallowing the host), and nothing may turn host-key checking off.
 */

export interface SshUrl {
  readonly user?: string;
  readonly host: string;
  readonly port: number;
}

const SSH_USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
/** A host name as ssh resolves it (one label is fine: an alias of ~/.ssh/config or /etc/hosts). */
const SSH_HOST =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function parseSshUrl(url: string): SshUrl | undefined {
  const m = /^ssh:\/\/(?:([^@/]*)@)?([^:@/]*)(?::(\d{1,5}))?$/.exec(url);
  if (!m) return undefined;
  return { user: m[1], host: m[2], port: m[3] === undefined ? 22 : Number(m[3]) };
}

/** Why `url` is not a Docker host Kytes can reach; undefined when it is. */
export function dockerHostProblem(url: string): string | undefined {
  if (url.startsWith('unix://')) return socketPathProblem(url.slice('unix://'.length));
  if (!url.startsWith('ssh://')) return 'unix:///path/to/docker.sock or ssh://user@host[:port]';
  const u = parseSshUrl(url);
  if (!u) return 'ssh://user@host[:port], nothing after the port (no path, query or password)';
  if (u.user !== undefined && !SSH_USER.test(u.user)) {
    return `a user name of letters, digits, _ . - starting with a letter or _ (not ${JSON.stringify(u.user)})`;
  }
  if (!isIPv4Literal(u.host) && !SSH_HOST.test(u.host)) {
    return `a host name or IPv4 address (not ${JSON.stringify(u.host)}); it must not start with "-"`;
  }
  if (u.port < 1 || u.port > 65535) return `a port from 1 to 65535 (not ${u.port})`;
  return undefined;
}

function socketPathProblem(p: string): string | undefined {
  if (!p.startsWith('/') || path.posix.normalize(p) !== p || p.endsWith('/')) {
    return 'unix:// and a normalised absolute socket path, such as unix:///var/run/docker.sock';
  }
  if (!/^(\/[A-Za-z0-9._+@-]+)+$/.test(p)) return 'a socket path of letters, digits and . _ + @ -';
  return undefined;
}

/** Where the Docker socket is for a `kytes:docker.host` that passed {@link dockerHostProblem}. */
export function dockerSocketPath(url: string): string {
  return url.startsWith('unix://') ? url.slice('unix://'.length) : '/var/run/docker.sock';
}

/** ssh flags that take no argument and change nothing Kytes relies on. */
const FLAGS = new Set(['-4', '-6', '-A', '-a', '-C', '-k', '-q', '-T', '-v', '-x']);
/** ssh options that take one argument. */
const WITH_ARG = new Set(['-i', '-F', '-J', '-o', '-c', '-m', '-b']);
/** What belongs in `kytes:docker.host` or `kytes:docker.hostKey`, or would break Kytes' commands. */
const REFUSED_FLAGS: Record<string, string> = {
  '-p': 'put the port in kytes:docker.host (ssh://user@host:port)',
  '-l': 'put the user in kytes:docker.host (ssh://user@host)',
  '-t': 'Kytes feeds scripts on standard input; a terminal would mangle them',
  '-N': 'Kytes runs commands over this connection',
  '-f': 'Kytes waits for its commands over this connection',
  '-n': 'Kytes feeds scripts on standard input',
  '-s': 'Kytes runs commands, not subsystems',
  '-G': 'Kytes needs a connection, not a printed configuration',
};
const REFUSED_OPTIONS: Record<string, string> = {
  port: 'put the port in kytes:docker.host (ssh://user@host:port)',
  user: 'put the user in kytes:docker.host (ssh://user@host)',
  hostname: 'put the host in kytes:docker.host',
  stricthostkeychecking: 'Kytes always checks the host key: pin it in kytes:docker.hostKey or add it to known_hosts',
  userknownhostsfile: 'pin the key in kytes:docker.hostKey instead',
  globalknownhostsfile: 'pin the key in kytes:docker.hostKey instead',
  knownhostscommand: 'pin the key in kytes:docker.hostKey instead',
  batchmode: 'Kytes never lets ssh prompt (BatchMode=yes)',
  remotecommand: 'Kytes chooses the command run on the host',
  requesttty: 'Kytes feeds scripts on standard input; a terminal would mangle them',
  sessiontype: 'Kytes runs commands over this connection',
  stdinnull: 'Kytes feeds scripts on standard input',
  forkafterauthentication: 'Kytes waits for its commands over this connection',
};

/** Every problem of `kytes:docker.sshOpts`, as `[index, message]`. */
export function sshOptsProblems(opts: readonly string[]): Array<[number, string]> {
  const problems: Array<[number, string]> = [];
  for (let i = 0; i < opts.length; i++) {
    const o = opts[i];
    const flag = o.slice(0, 2);
    if (!o.startsWith('-') || o === '-' || o.startsWith('--')) {
      problems.push([i, 'an ssh option such as -i or -o (a bare word would be read as the host or the command)']);
    } else if (REFUSED_FLAGS[flag]) {
      problems.push([i, `not ${flag}: ${REFUSED_FLAGS[flag]}`]);
    } else if (FLAGS.has(o)) {
      continue;
    } else if (WITH_ARG.has(flag)) {
      const attached = o.length > 2;
      const arg = attached ? o.slice(2) : opts[i + 1];
      if (!attached) i++;
      if (arg === undefined || arg === '' || arg.startsWith('-')) {
        problems.push([attached ? i : i - 1, `${flag} followed by its value (it would take the next word)`]);
      } else if (flag === '-o') {
        const key = /^\s*([A-Za-z]+)\s*[= ]\s*\S/.exec(arg)?.[1];
        if (!key) problems.push([i, `-o followed by Key=Value (not ${JSON.stringify(arg)})`]);
        else if (REFUSED_OPTIONS[key.toLowerCase()])
          problems.push([i, `not ${key}: ${REFUSED_OPTIONS[key.toLowerCase()]}`]);
      }
    } else {
      problems.push([i, `one of the ssh options ${[...FLAGS, ...WITH_ARG].join(' ')} (not ${JSON.stringify(o)})`]);
    }
  }
  return problems;
}

/** Host key algorithms OpenSSH offers, as written in known_hosts and in `ssh-keyscan` output. */
const KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
];

/**
 * Why `key` is not a host public key (`ssh-ed25519 AAAA…`, as in known_hosts without the host);
 * undefined when it is. The base64 blob must decode to a key whose own type name is the one given.
 */
export function hostKeyProblem(key: string): string | undefined {
  const allowed =
    'a host public key "TYPE BASE64" such as the output of `ssh-keyscan -t ed25519 HOST` without the host';
  const m = /^(\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(key);
  if (!m || !KEY_TYPES.includes(m[1])) return allowed;
  const blob = Buffer.from(m[2], 'base64');
  if (blob.toString('base64') !== m[2] || blob.length < 4) return `${allowed} (its base64 part does not decode)`;
  const len = blob.readUInt32BE(0);
  const inner = blob.subarray(4, 4 + len).toString('latin1');
  if (inner !== m[1]) return `${allowed} (the key inside is ${JSON.stringify(inner)}, not ${m[1]})`;
  return undefined;
}
