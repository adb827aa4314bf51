import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT } from './helpers/program';

/**
 * The dev path's shell scripts (dev-up, dev-down, the `npm run pulumi` wrapper), run by bash against fake
 * `node`, `docker`, `pulumi`, `id` and `sudo` that record how they were called. The fakes shadow the real
 * tools: the PATH holds them and links to every other program of this machine.
 */

const SCRIPTS = ['dev-lib.sh', 'dev-up.sh', 'dev-down.sh', 'pulumi.sh'];
let work: string;
let system: string;

/** A directory of links to every program on this machine except the ones the tests fake. */
function systemBin(dir: string): string {
  fs.mkdirSync(dir);
  for (const from of ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    if (!fs.existsSync(from)) continue;
    for (const name of fs.readdirSync(from)) {
      if (['node', 'nodejs', 'docker', 'pulumi', 'npm', 'npx', 'id', 'sudo'].includes(name)) continue;
      if (!fs.existsSync(path.join(dir, name))) fs.symlinkSync(path.join(from, name), path.join(dir, name));
    }
  }
  return dir;
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-devscripts-'));
  system = systemBin(path.join(work, 'system'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface Fakes {
  /** What the fake `node` says its version is; `real` links this test's own Node; absent: no node. */
  node?: string | 'real';
  /** `up`: answers; `down`: no engine; `denied`: socket permission; absent: no docker CLI. */
  docker?: 'up' | 'down' | 'denied';
  pulumi?: boolean;
  /** `root`; `sudo`: a user with password-less sudo; `user`: neither. */
  user?: 'root' | 'sudo' | 'user';
  stackYaml?: string;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** One line per fake call: `<tool> <args…> | <env facts>`. */
  calls: string[];
  repo: string;
}

let counter = 0;
function run(script: string, args: string[], fakes: Fakes, env: Record<string, string> = {}): Run {
  const dir = path.join(work, `run-${counter++}`);
  const repo = path.join(dir, 'repo');
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'calls.log');
  fs.mkdirSync(path.join(repo, 'scripts'), { recursive: true });
  fs.mkdirSync(path.join(repo, 'node_modules'));
  fs.mkdirSync(bin);
  for (const s of SCRIPTS) fs.copyFileSync(path.join(ROOT, 'scripts', s), path.join(repo, 'scripts', s));
  fs.writeFileSync(
    path.join(repo, 'Pulumi.dev.yaml'),
    fakes.stackYaml ?? fs.readFileSync(path.join(ROOT, 'Pulumi.dev.yaml'), 'utf8'),
  );
  const fake = (name: string, body: string) =>
    fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  const record = `printf '%s\\n' "$(basename "$0") $* | $FACTS" >> ${JSON.stringify(log)}`;

  if (fakes.node === 'real') fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  else if (fakes.node !== undefined) fake('node', `FACTS=; ${record}; echo ${fakes.node}`);
  if (fakes.docker) {
    const answer = {
      up: 'echo 25.0.3',
      down: 'echo "Cannot connect to the Docker daemon at $DOCKER_HOST. Is the docker daemon running?" >&2; exit 1',
      denied:
        'echo "permission denied while trying to connect to the Docker daemon socket at $DOCKER_HOST" >&2; exit 1',
    }[fakes.docker];
    fake('docker', `FACTS="DOCKER_HOST=$DOCKER_HOST"; ${record}; ${answer}`);
  }
  if (fakes.pulumi) {
    fake(
      'pulumi',
      [
        'FACTS="backend=$PULUMI_BACKEND_URL passphrase=${PULUMI_CONFIG_PASSPHRASE-<unset>}"',
        // A secret set from stdin is recorded by its length only.
        'if [ "$1 $2" = "config set" ]; then FACTS="$FACTS stdin=$(wc -c | tr -d " ")"; fi',
        record,
        'case "$1 $2" in "stack select"|"config get") exit 1 ;; esac',
      ].join('\n'),
    );
  }
  const user = fakes.user ?? 'root';
  fake(
    'id',
    `case "$1" in -u) echo ${user === 'root' ? 0 : 1000} ;; -un) echo ${user === 'root' ? 'root' : 'alice'} ;; esac`,
  );
  if (user === 'sudo') fake('sudo', `FACTS=; ${record}; exit 0`);

  const r = spawnSync('bash', [path.join(repo, 'scripts', script), ...args], {
    encoding: 'utf8',
    env: { PATH: `${bin}:${system}`, HOME: dir, ...env },
    timeout: 60_000,
  });
  const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls, repo };
}

const ALL: Fakes = { node: 'real', docker: 'up', pulumi: true };
const tools = (r: Run) => r.calls.map((c) => c.split(' ')[0]);

describe('npm run dev:up: checks before anything else, each with its fix', () => {
  it('no Node.js at all: says so first, touches nothing else', () => {
    const r = run('dev-up.sh', [], { docker: 'down' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'dev-up: Node.js is not on PATH: install Node.js 22 LTS or newer (https://nodejs.org/en/download, or your package manager) and run again\n',
    );
    expect(r.calls).toEqual([]);
  });

  it('Node.js 20: names the binary and its version, before Docker and Pulumi', () => {
    const r = run('dev-up.sh', [], { node: '20.19.2', docker: 'down' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^dev-up: Node\.js 22 or newer is required; \/\S+\/bin\/node is 20\.19\.2: install Node\.js 22 LTS \(https:\/\/nodejs\.org\/en\/download, or nvm install 22\) and put it first on PATH\n$/,
    );
    expect(tools(r)).toEqual(['node']);
  });

  it('no docker CLI', () => {
    const r = run('dev-up.sh', [], { node: 'real', pulumi: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'dev-up: the docker CLI is not on PATH: install Docker Engine 25 or newer (Debian/Ubuntu: apt-get install docker.io; https://docs.docker.com/engine/install/) and run again\n',
    );
    expect(tools(r)).toEqual([]);
  });

  it("no engine at the stack's kytes:docker.host, and a DOCKER_HOST the stack does not use", () => {
    const plain = run('dev-up.sh', [], { ...ALL, docker: 'down' });
    expect(plain.status).toBe(1);
    expect(plain.stderr).toBe(
      'dev-up: no Docker engine answers at unix:///var/run/docker.sock (kytes:docker.host of the dev stack): start it (sudo systemctl start docker) and run again\n',
    );
    expect(plain.calls).toEqual(['docker info --format {{.ServerVersion}} | DOCKER_HOST=unix:///var/run/docker.sock']);

    const other = run(
      'dev-up.sh',
      [],
      { ...ALL, docker: 'down' },
      { DOCKER_HOST: 'unix:///run/user/1000/docker.sock' },
    );
    expect(other.stderr).toBe(
      'dev-up: no Docker engine answers at unix:///var/run/docker.sock (kytes:docker.host of the dev stack): start it (sudo systemctl start docker) and run again; your DOCKER_HOST is unix:///run/user/1000/docker.sock, which the stack does not use: to deploy there, run npm run pulumi -- config set --path kytes:docker.host "$DOCKER_HOST"\n',
    );
    expect(tools(other)).toEqual(['docker']);

    const tcp = run('dev-up.sh', [], { ...ALL, docker: 'down' }, { DOCKER_HOST: 'tcp://127.0.0.1:1' });
    expect(tcp.stderr).toBe(
      'dev-up: no Docker engine answers at unix:///var/run/docker.sock (kytes:docker.host of the dev stack): start it (sudo systemctl start docker) and run again; your DOCKER_HOST is tcp://127.0.0.1:1, which the stack does not use (kytes:docker.host takes unix:// or ssh:// engines)\n',
    );
  });

  it('checks the engine kytes:docker.host names', () => {
    const yaml = 'config:\n  kytes:domain: kytes.localhost\n  kytes:docker:\n    host: "unix:///srv/docker.sock"\n';
    const r = run('dev-up.sh', [], { ...ALL, docker: 'down', stackYaml: yaml });
    expect(r.calls).toEqual(['docker info --format {{.ServerVersion}} | DOCKER_HOST=unix:///srv/docker.sock']);
    expect(r.stderr).toContain('no Docker engine answers at unix:///srv/docker.sock (kytes:docker.host');
  });

  it('the Docker socket refuses this user', () => {
    const r = run('dev-up.sh', [], { ...ALL, docker: 'denied', user: 'user' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'dev-up: alice may not use the Docker engine at unix:///var/run/docker.sock (kytes:docker.host): add yourself to the docker group (sudo usermod -aG docker alice, then log in again) or run as root\n',
    );
  });

  it('no Pulumi CLI: after Node and Docker, before any state is touched', () => {
    const r = run('dev-up.sh', [], { node: 'real', docker: 'up' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'dev-up: the Pulumi CLI is not on PATH: install it (curl -fsSL https://get.pulumi.com | sh, or https://www.pulumi.com/docs/iac/download-install/), open a new shell and run again\n',
    );
    expect(tools(r)).toEqual(['docker']);
    expect(fs.existsSync(path.join(r.repo, '.pulumi-state'))).toBe(false);
  });

  it('neither root nor password-less sudo: says what needs root', () => {
    const r = run('dev-up.sh', [], { ...ALL, user: 'user' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'dev-up: alice is neither root nor allowed password-less sudo: the dev stack installs its backup scripts in /opt/kytes as root (and a schedule in /etc/cron.d when kytes:backup.schedule is set). Run as root, or allow password-less sudo (see README, Two commands)\n',
    );
    expect(tools(r)).toEqual(['docker']);
  });

  it('all there: one local backend and passphrase, a generated master secret through stdin, then up', () => {
    const r = run('dev-up.sh', ['--skip-preview'], { ...ALL, user: 'sudo' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const env = `backend=file://${r.repo}/.pulumi-state passphrase=kytes-dev`;
    expect(r.calls).toEqual([
      'docker info --format {{.ServerVersion}} | DOCKER_HOST=unix:///var/run/docker.sock',
      'sudo -n true | ',
      `pulumi stack select dev | ${env}`,
      `pulumi stack init dev --secrets-provider passphrase | ${env}`,
      `pulumi config get kytes:masterSecret | ${env}`,
      `pulumi config set --secret kytes:masterSecret | ${env} stdin=64`,
      `pulumi up --stack dev --yes --skip-preview | ${env}`,
    ]);
    expect(fs.existsSync(path.join(r.repo, '.pulumi-state'))).toBe(true);
    expect(r.stdout).toContain('dev-up: generated kytes:masterSecret');
    // Pulumi.dev.yaml sets kytes:backup.schedule: off, and dev-up says so.
    expect(r.stdout).toContain(
      "dev-up: scheduled backups are off on the dev stack (kytes:backup.schedule: off in Pulumi.dev.yaml), so no root cron job is installed: back up with npm run backup -- --stack dev, or set a schedule with npm run pulumi -- config set --path kytes:backup.schedule '0 */4 * * *'\n",
    );
  });

  it('with a schedule set, says the stack installs a root cron job', () => {
    const yaml = fs
      .readFileSync(path.join(ROOT, 'Pulumi.dev.yaml'), 'utf8')
      .replace('schedule: "off"', 'schedule: "0 3 * * *"');
    const r = run('dev-up.sh', [], { ...ALL, user: 'sudo', stackYaml: yaml });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(
      'dev-up: the dev stack installs a root cron job for its scheduled backups (/etc/cron.d, kytes:backup.schedule in Pulumi.dev.yaml; set it to off to have none)\n',
    );
  });
});

describe('npm run pulumi -- <args>', () => {
  it('reaches the same backend and passphrase, arguments passed through untouched', () => {
    const r = run('pulumi.sh', ['stack', 'output', 'adminCredentials', '--show-secrets', "it's a b"], ALL);
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      `pulumi stack output adminCredentials --show-secrets it's a b | backend=file://${r.repo}/.pulumi-state passphrase=kytes-dev`,
    ]);
  });

  it('keeps a backend and passphrase already set (another stack)', () => {
    const r = run('pulumi.sh', ['preview', '--stack', 'prod'], ALL, {
      PULUMI_BACKEND_URL: 's3://kytes-state',
      PULUMI_CONFIG_PASSPHRASE: 'prod-passphrase',
    });
    expect(r.calls).toEqual(['pulumi preview --stack prod | backend=s3://kytes-state passphrase=prod-passphrase']);
    const file = run('pulumi.sh', ['preview'], ALL, { PULUMI_CONFIG_PASSPHRASE_FILE: '/run/secrets/pp' });
    expect(file.calls).toEqual([`pulumi preview | backend=file://${file.repo}/.pulumi-state passphrase=<unset>`]);
  });

  it('no Pulumi CLI: one line with the fix', () => {
    const r = run('pulumi.sh', ['stack', 'ls'], { node: 'real' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^pulumi: the Pulumi CLI is not on PATH: install it .*\n$/);
  });
});

describe('npm run dev:down', () => {
  it('destroys the dev stack through the same backend and says the volumes stay', () => {
    const r = run('dev-down.sh', [], ALL);
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      'docker info --format {{.ServerVersion}} | DOCKER_HOST=unix:///var/run/docker.sock',
      `pulumi destroy --stack dev --yes | backend=file://${r.repo}/.pulumi-state passphrase=kytes-dev`,
    ]);
    expect(r.stdout).toBe(
      'dev-down: the data volumes are kept; npm run dev:up brings the stack back with them, npm run dev:reset deletes them\n',
    );
  });

  it('no engine: says so before destroying anything', () => {
    const r = run('dev-down.sh', [], { ...ALL, docker: 'down' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^dev-down: no Docker engine answers at unix:\/\/\/var\/run\/docker\.sock/);
    expect(tools(r)).toEqual(['docker']);
  });
});
