import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { dockerExecCommand } from '../../components/dockerExec';
import { deriveConnection, DockerConnection, hostBash, providerSshOpts } from '../../lib/connection';
import { IMAGES, requireImages, Sandbox, uniqueName } from './helpers/docker';
import { startSshd, ThrowawaySshd } from './ops/sshd';

/**
 * The one Docker-host connection (lib/connection.ts) against a real OpenSSH server on 127.0.0.1
 * and the real Docker engine behind it: the ssh options of `kytes:docker.sshOpts` (here the only
 * way in: the test key and no user config) reach every kind of step, a pinned host key is the only
 * key accepted, an unknown host is refused, and secrets reach a container through `docker exec`
 * over SSH without a command line ever holding them.
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-conn-'));
const sandbox = new Sandbox();
let sshd: ThrowawaySshd;
let hostKey: string;
let otherKey: string;

function connection(key: string | undefined): DockerConnection {
  const sshOpts = ['-F', '/dev/null', '-i', path.join(dir, 'sshd', 'client_ed25519'), '-o', 'IdentitiesOnly=yes'];
  return deriveConnection(`ssh://${sshd.user}@127.0.0.1:${sshd.port}`, sshOpts, key);
}

/** Runs a step as pulumi-command's local.Command does: the interpreter, then the command as last argument. */
function runStep(step: { interpreter: string[]; command: string }, input = '', env: Record<string, string> = {}) {
  const [program, ...args] = step.interpreter;
  return spawnSync(program, [...args, step.command], {
    encoding: 'utf8',
    input,
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
}

const publicKey = (file: string) => fs.readFileSync(file, 'utf8').split(' ').slice(0, 2).join(' ');

beforeAll(async () => {
  await requireImages([IMAGES.base]);
  sshd = await startSshd(path.join(dir, 'sshd'));
  hostKey = publicKey(path.join(dir, 'sshd', 'host_ed25519.pub'));
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'other')]);
  otherKey = publicKey(path.join(dir, 'other.pub'));
}, 120_000);

afterAll(async () => {
  await sshd?.stop();
  await sandbox.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the Docker-host connection over a real sshd', () => {
  it('runs a host command with the pinned host key and the sshOpts key', () => {
    const r = runStep(hostBash(connection(hostKey), 'echo "kytes-ok $(id -un)"'));
    expect([r.status, r.stdout]).toEqual([0, `kytes-ok ${sshd.user}\n`]);
  });

  it('refuses a host whose key is not the pinned one', () => {
    const r = runStep(hostBash(connection(otherKey), 'echo reached'));
    expect(r.status).toBe(255);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Host key verification failed');
  });

  it('refuses an unknown host without a pinned key (never accepts it)', () => {
    const known = path.join(os.homedir(), '.ssh', 'known_hosts');
    const before = fs.existsSync(known) ? fs.readFileSync(known, 'utf8') : undefined;
    const r = runStep(hostBash(connection(undefined), 'echo reached'));
    expect(r.status).toBe(255);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Host key verification failed');
    expect(fs.existsSync(known) ? fs.readFileSync(known, 'utf8') : undefined).toBe(before);
  });

  it('a post-start step reaches the container through docker on the host, secrets via stdin', async () => {
    const name = uniqueName('conn-exec');
    await sandbox.run({ name, image: IMAGES.base, network: 'none', cmd: ['sleep', 'infinity'] });
    const secrets = { KYTES_A: "s3cr3t 'a' $(touch /tmp/x)", KYTES_B: 'line1\nline2' };
    const step = dockerExecCommand({
      docker: connection(hostKey),
      container: name,
      command: ['sh', '-c', 'printf "%s|%s|" "$KYTES_A" "$KYTES_B"; cat'],
      secretEnv: secrets,
      triggers: [],
    });
    expect(JSON.stringify(step)).not.toContain('s3cr3t');
    const r = runStep(step, 'stdin-data', secrets);
    expect([r.status, r.stderr, r.stdout]).toEqual([0, '', `${secrets.KYTES_A}|${secrets.KYTES_B}|stdin-data`]);
  }, 120_000);

  it("the provider's ssh command line (docker's connhelper with Kytes' sshOpts) reaches the engine", () => {
    // github.com/docker/cli cli/connhelper: ssh <sshOpts> -o ConnectTimeout=30 -T -l user -p port -- host docker system dial-stdio
    const c = connection(hostKey);
    const args = [
      ...providerSshOpts(c),
      '-o ConnectTimeout=30',
      '-T',
      '-l',
      sshd.user,
      '-p',
      String(sshd.port),
      '--',
      '127.0.0.1',
      'docker',
      'system',
      'dial-stdio',
    ];
    const r = spawnSync('ssh', args, { input: 'GET /_ping HTTP/1.0\r\n\r\n', encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toMatch(/^HTTP\/1\.[01] 200 OK/);
    expect(r.stdout.trimEnd().endsWith('OK')).toBe(true);
  });
});
