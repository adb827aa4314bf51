import * as fs from 'fs';
import * as path from 'path';
import { startSshd, ThrowawaySshd } from '../integration/ops/sshd';

/**
 * This machine as an `ssh://root@127.0.0.1:<port>` Docker host (a throwaway sshd), so that a stack deployed to
 * it goes through every SSH path of the program: the Docker provider (its `sshOpts`), the post-start
 * `docker exec` steps and the Commands on the host (ssh with the argument list of lib/connection.ts). The
 * client key is given to the stack with `-i` in `kytes:docker.sshOpts` and the host key pinned in
 * `kytes:docker.hostKey`; there is no agent and no ssh config, so a path that dropped Kytes' ssh arguments
 * could not log in.
 */
export interface SshDockerHost {
  readonly dockerHost: string;
  /** The harness's own ssh options for this host (its engine connection): the key and a known_hosts file. */
  readonly sshOpts: string[];
  /** The client key (`-i`). */
  readonly identity: string;
  /** The sshd's public host key, `ssh-ed25519 AAAA…`, pinned in `kytes:docker.hostKey`. */
  readonly hostKey: string;
  stop(): Promise<void>;
}

export async function sshDockerHost(dir: string): Promise<SshDockerHost> {
  const sshd: ThrowawaySshd = await startSshd(path.join(dir, 'sshd'));
  const key = path.join(dir, 'sshd', 'client_ed25519');
  const known = path.join(dir, 'sshd', 'known_hosts');
  return {
    dockerHost: `ssh://${sshd.user}@127.0.0.1:${sshd.port}`,
    sshOpts: [
      '-i',
      key,
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      `UserKnownHostsFile=${known}`,
      '-o',
      'StrictHostKeyChecking=accept-new',
    ],
    identity: key,
    hostKey: fs
      .readFileSync(path.join(dir, 'sshd', 'host_ed25519.pub'), 'utf8')
      .trim()
      .split(/\s+/)
      .slice(0, 2)
      .join(' '),
    stop: () => sshd.stop(),
  };
}
