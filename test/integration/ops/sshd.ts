import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { GiveUp, waitFor } from '../helpers/docker';

/**
 * A throwaway OpenSSH server on the test host, bound to 127.0.0.1 on a free port, with its own
 * host key, one authorized client key and its own known_hosts: the far end of an `user@host:/path`
 * off-host copy. Nothing of the host's own SSH setup is read or changed (except creating sshd's
 * privilege separation directory when it is missing).
 */

const SSHD = '/usr/sbin/sshd';
const NEEDED: readonly [string, string][] = [
  [SSHD, 'openssh-server'],
  ['ssh', 'openssh-client'],
  ['ssh-keygen', 'openssh-client'],
  ['rsync', 'rsync'],
  ['sha256sum', 'coreutils'],
];

export interface ThrowawaySshd {
  readonly port: number;
  /** The login the copy uses: the user running the tests. */
  readonly user: string;
  /** `KYTES_OFFHOST_SSH` for this server: port, key, known_hosts, no prompts, no user config. */
  readonly sshCommand: string;
  /** Runs one command on the server through {@link sshCommand}; stdin from `input`. */
  ssh(command: string, input?: string): { status: number | null; stdout: string; stderr: string };
  /** Stops the server (idempotent); established sessions end with it. */
  stop(): Promise<void>;
}

/** Throws, naming the Debian packages, when a program the off-host test needs is not installed. */
export function requireSshTools(): void {
  const missing = NEEDED.filter(([program]) =>
    program.startsWith('/') ? !fs.existsSync(program) : spawnSync('sh', ['-c', `command -v ${program}`]).status !== 0,
  );
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
    throw new Error(
      `the off-host rsync+SSH test needs ${missing.map(([p]) => p).join(', ')}, which are not installed: apt-get install -y ${packages}`,
    );
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function run(program: string, args: readonly string[]): void {
  const r = spawnSync(program, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${program} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

/** Starts the server with everything it needs under `dir` (a fresh directory without spaces). */
export async function startSshd(dir: string): Promise<ThrowawaySshd> {
  requireSshTools();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // sshd refuses to start without it; a host without an SSH service has none.
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = path.join(dir, 'host_ed25519');
  const clientKey = path.join(dir, 'client_ed25519');
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kytes-it-host', '-f', hostKey]);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kytes-it-client', '-f', clientKey]);
  fs.writeFileSync(path.join(dir, 'authorized_keys'), fs.readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  const port = await freePort();
  const user = os.userInfo().username;
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      // The keys live in a temp directory, not in the user's ~/.ssh with the modes sshd expects.
      'StrictModes no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      `AllowUsers ${user}`,
      // For a `restic:sftp:` off-host repository.
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  run(SSHD, ['-t', '-f', config]);
  const sshCommand = [
    'ssh -F /dev/null',
    `-p ${port}`,
    `-i ${clientKey}`,
    '-o IdentitiesOnly=yes -o BatchMode=yes',
    `-o UserKnownHostsFile=${path.join(dir, 'known_hosts')}`,
    '-o StrictHostKeyChecking=accept-new',
  ].join(' ');
  let log = '';
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const ssh = (command: string, input?: string) => {
    const [program, ...args] = sshCommand.split(' ');
    const r = spawnSync(program, [...args, '--', `${user}@127.0.0.1`, command], {
      encoding: 'utf8',
      input: input ?? '',
      timeout: 30_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new GiveUp(`sshd exited with status ${child.exitCode}`);
        return ssh('echo ready').stdout === 'ready\n';
      },
      { timeoutMs: 20_000, intervalMs: 200, what: `sshd on 127.0.0.1:${port} accepting the test key` },
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\nsshd log:\n${log}`, { cause: err });
  }
  return { port, user, sshCommand, ssh, stop };
}
