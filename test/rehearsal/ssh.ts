import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { startSshd, ThrowawaySshd } from '../integration/ops/sshd';
import { waitFor } from '../integration/helpers/docker';

/**
 * This machine as an `ssh://root@127.0.0.1:<port>` Docker host, so that a stack deployed to it goes through
 * every SSH path of the program: the Docker provider (its `sshOpts`), the docker CLI of the post-start
 * steps (`DOCKER_HOST=ssh://…`, which reads ssh's own configuration), and the ops Commands on the host
 * (`command.remote.Command`, authenticated by the ssh-agent). What an operator's laptop would hold — the
 * key in an agent, an ~/.ssh/config entry for the host — is given to the "machine running pulumi" through
 * its environment: SSH_AUTH_SOCK, and a PATH whose first `ssh` reads a config file of this rehearsal.
 */
export interface SshDockerHost {
  readonly dockerHost: string;
  /** `kytes:docker.sshOpts` where the config has no `hostKey`: the key and a known_hosts file of this rehearsal. */
  readonly sshOpts: string[];
  /** The client key (`-i`). */
  readonly identity: string;
  /** The sshd's public host key, `ssh-ed25519 AAAA…`, for a config that pins it (`kytes:docker.hostKey`). */
  readonly hostKey: string;
  /** Environment additions for the process running pulumi. */
  readonly env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function sshDockerHost(dir: string): Promise<SshDockerHost> {
  const sshd: ThrowawaySshd = await startSshd(path.join(dir, 'sshd'));
  const key = path.join(dir, 'sshd', 'client_ed25519');
  const known = path.join(dir, 'sshd', 'known_hosts');
  const config = path.join(dir, 'ssh_config');
  fs.writeFileSync(
    config,
    [
      'Host 127.0.0.1',
      `  IdentityFile ${key}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${known}`,
      '  StrictHostKeyChecking accept-new',
      '  BatchMode yes',
      '',
    ].join('\n'),
  );
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const realSsh = execFileSync('sh', ['-c', 'command -v ssh'], { encoding: 'utf8' }).trim();
  fs.writeFileSync(path.join(bin, 'ssh'), `#!/bin/sh\nexec ${realSsh} -F ${config} "$@"\n`, { mode: 0o755 });
  const agentSock = path.join(dir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
  await waitFor(async () => fs.existsSync(agentSock), { timeoutMs: 10_000, intervalMs: 100, what: 'ssh-agent socket' });
  execFileSync('ssh-add', ['-q', key], { env: { ...process.env, SSH_AUTH_SOCK: agentSock }, stdio: 'pipe' });
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
    env: { PATH: `${bin}:${process.env.PATH ?? ''}`, SSH_AUTH_SOCK: agentSock },
    async stop() {
      agent.kill();
      await sshd.stop();
    },
  };
}
