import { spawn, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { hostBash } from '../../../lib/connection';
import type { Topology } from '../../../lib/topology';
import { encodeScripts, installScriptsScript } from '../../../ops/backupOps';
import { topologyFromStackYaml } from '../../../ops/cli';
import { renderOpsScripts } from '../../../ops/scripts';
import {
  containerHealth,
  containerStartedAt,
  docker,
  execIn,
  IMAGES,
  requireImages,
  Sandbox,
  waitFor,
} from '../helpers/docker';
import {
  buildFakeImages,
  FakeImages,
  FakeStack,
  lastLine,
  liveState,
  psql,
  removeFakeImages,
  seedData,
  startFakeStack,
} from './fake-stack';

/**
 * The operator commands (`npm run backup|restore|backups|verify|prune|fetch`, ops/cli.ts) as an admin runs
 * them: from the project, over `ssh://deploy@127.0.0.1:<port>` with a pinned host key, onto a Docker host
 * where `deploy` is NOT root and has password-less sudo. The Docker host is a throwaway container
 * (kytes-test/sshd: sshd, sudo, rsync, plus this machine's docker CLI) whose docker CLI talks to the test
 * engine through its socket; the stack's containers are the stand-ins of fake-stack.ts, on that engine.
 * The scripts are installed by the same command Pulumi runs (BackupOps' scripts command), as deploy.
 * Every failure path is a case: host unreachable, wrong host key, scripts not installed, a login without
 * sudo, the engine down, a container missing, stopped or unhealthy, a restore without confirmation.
 * `KYTES_IT_TRANSCRIPT=<file>` writes every command and its output there (the closing note's transcripts).
 */

jest.setTimeout(900_000);

const REPO = path.resolve(__dirname, '../../..');
const hex = randomBytes(3).toString('hex');
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-cli-'));
const PROJECT = path.join(ROOT, 'project');
const KEYS = path.join(ROOT, 'keys');
const HOST_IMAGE = `kytes-it-cli/docker-host:${hex}`;
const HOST = `kytes-it-cli-host-${hex}`;
const HOSTNAME = 'docker-host';
const PREFIX = `kytes-itcli-${hex}`;
const OFFHOST = '/srv/kytes-offhost';

const sandbox = new Sandbox();
let images: FakeImages;
let stack: FakeStack;
let t: Topology;
let port: number;
const transcript: string[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: p } = server.address() as net.AddressInfo;
      server.close(() => resolve(p));
    });
  });
}

function keygen(file: string): string {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', path.basename(file), '-f', file]);
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  return fs.readFileSync(`${file}.pub`, 'utf8').trim();
}

/** `Pulumi.<stack>.yaml` of a stack on the throwaway host, as `user`, with the given host key and port. */
function writeStack(name: string, user: string, hostKey: string, sshPort: number): void {
  fs.writeFileSync(
    path.join(PROJECT, `Pulumi.${name}.yaml`),
    `config:
  kytes:masterSecret:
    secure: v1:AAAAnot-read-by-the-cli
  kytes:prefix: ${PREFIX}
  kytes:docker:
    host: ssh://${user}@127.0.0.1:${sshPort}
    hostKey: ${hostKey}
    sshOpts: ["-F", "/dev/null", "-i", "${path.join(KEYS, user)}", "-o", "IdentitiesOnly=yes"]
  kytes:gitlab:
    instances:
      - name: main
        sshPort: 2222
      - name: team
        sshPort: 2223
  kytes:mongo:
    members: 1
  kytes:backup:
    offHost: ${OFFHOST}
`,
  );
}

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr as they came. */
  output: string;
}

/** `npm run <args…>` as an operator types it in the project (ops/cli.ts under ts-node), stdin not a terminal. */
function npmRun(args: string[], opts: { tty?: string; what?: string } = {}): Promise<CliRun> {
  const node = [
    process.execPath,
    '-r',
    require.resolve('ts-node/register/transpile-only'),
    path.join(REPO, 'ops/cli.ts'),
    ...args,
  ];
  const quoted = node.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // On a terminal: `script` gives the command a pseudo-terminal and types `opts.tty` into it.
  const [file, argv] = opts.tty === undefined ? [node[0], node.slice(1)] : ['script', ['-qefc', quoted, '/dev/null']];
  const child = spawn(file, argv, {
    cwd: PROJECT,
    env: { ...process.env, TS_NODE_PROJECT: path.join(REPO, 'tsconfig.json'), PULUMI_STACK: '' },
    stdio: [opts.tty === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (opts.tty !== undefined) child.stdin?.end(opts.tty);
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    output += d.toString();
  });
  return new Promise((resolve) =>
    child.on('close', (status) => {
      const [command, ...rest] = args;
      transcript.push(
        `${opts.what ? `# ${opts.what}\n` : ''}$ npm run ${command}${rest.length ? ` -- ${rest.join(' ')}` : ''}${opts.tty === undefined ? '' : '   (on a terminal)'}\n${output.replace(/\r\n/g, '\n')}[exit ${status}]\n`,
      );
      resolve({ status, stdout, stderr, output: output.replace(/\r\n/g, '\n') });
    }),
  );
}

/** A command on the Docker host as root (its own container, for setting the scene). */
const onHost = (cmd: string) => execIn(HOST, ['bash', '-c', cmd]);

beforeAll(async () => {
  await requireImages([IMAGES.base, IMAGES.postgres, 'kytes-test/sshd:bookworm']);
  fs.mkdirSync(PROJECT);
  fs.mkdirSync(KEYS, { mode: 0o700 });
  const ctx = path.join(ROOT, 'host-image');
  fs.mkdirSync(ctx);
  for (const user of ['deploy', 'nosudo'])
    fs.writeFileSync(path.join(ctx, `${user}.pub`), `${keygen(path.join(KEYS, user))}\n`);
  const dockerCli = spawnSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).stdout.trim();
  fs.copyFileSync(dockerCli, path.join(ctx, 'docker'));
  fs.chmodSync(path.join(ctx, 'docker'), 0o755);
  fs.writeFileSync(
    path.join(ctx, 'Dockerfile'),
    `FROM kytes-test/sshd:bookworm
COPY docker /usr/local/bin/docker
COPY deploy.pub nosudo.pub /tmp/
# deploy: not root, password-less sudo (what the README asks of an admin login). nosudo: no sudo at all.
# The engine's socket is mounted at /kytes-engine; /var/run/docker.sock points there (removing the link
# is "the engine is down" for this host).
RUN for u in deploy nosudo; do useradd -m -s /bin/bash "$u" && usermod -p '*' "$u" \\
      && install -d -m 0700 -o "$u" -g "$u" "/home/$u/.ssh" \\
      && install -m 0600 -o "$u" -g "$u" "/tmp/$u.pub" "/home/$u/.ssh/authorized_keys"; done \\
 && echo 'deploy ALL=(root) NOPASSWD: ALL' >/etc/sudoers.d/deploy && chmod 0440 /etc/sudoers.d/deploy \\
 && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key \\
 && printf 'PasswordAuthentication no\\nKbdInteractiveAuthentication no\\nPermitRootLogin no\\n' >/etc/ssh/sshd_config.d/kytes.conf \\
 && ln -s /kytes-engine/docker.sock /var/run/docker.sock
`,
  );
  await docker(['build', '-q', '-t', HOST_IMAGE, ctx], { timeoutMs: 300_000 });
  await sandbox.run({
    name: HOST,
    image: HOST_IMAGE,
    hostname: HOSTNAME,
    mounts: [{ type: 'bind', source: '/var/run/docker.sock', target: '/kytes-engine/docker.sock' }],
    ports: [{ container: 22 }],
  });
  port = Number((await docker(['port', HOST, '22/tcp'])).trim().split(':').pop());
  const hostKey = (await execIn(HOST, ['cat', '/etc/ssh/ssh_host_ed25519_key.pub']))
    .trim()
    .split(' ')
    .slice(0, 2)
    .join(' ');
  writeStack('it', 'deploy', hostKey, port);
  writeStack('nosudo', 'nosudo', hostKey, port);
  const otherKey = keygen(path.join(KEYS, 'other')).split(' ').slice(0, 2).join(' ');
  writeStack('wrongkey', 'deploy', otherKey, port);
  writeStack('down', 'deploy', hostKey, await freePort());
  t = topologyFromStackYaml(fs.readFileSync(path.join(PROJECT, 'Pulumi.it.yaml'), 'utf8'), 'it');
  await waitFor(async () => (await onHost('pgrep -x sshd >/dev/null && echo up')).trim() === 'up', {
    timeoutMs: 30_000,
    what: 'sshd in the Docker-host container',
  });
  images = await buildFakeImages(hex);
}, 900_000);

afterAll(async () => {
  if (process.env.KYTES_IT_TRANSCRIPT) fs.writeFileSync(process.env.KYTES_IT_TRANSCRIPT, transcript.join('\n'));
  await sandbox.cleanup();
  await docker(['rmi', '-f', HOST_IMAGE]).catch(() => undefined);
  if (images) await removeFakeImages(images);
  fs.rmSync(ROOT, { recursive: true, force: true });
}, 300_000);

describe('before the stack exists', () => {
  it('an unreachable host: one line naming the host and what ssh said, nothing raw', async () => {
    const r = await npmRun(['backups', '--stack', 'down'], { what: 'nothing listens on that port' });
    const downPort = /127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(path.join(PROJECT, 'Pulumi.down.yaml'), 'utf8'))![1];
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr: `npm run backups: error: cannot reach the Docker host of stack down over SSH (deploy@127.0.0.1 port ${downPort}): ssh: connect to host 127.0.0.1 port ${downPort}: Connection refused. Check that the host is up and that kytes:docker.host, kytes:docker.sshOpts and kytes:docker.hostKey are right (pulumi up uses the same connection); nothing was changed\n`,
    });
  });

  it('a host whose key is not the pinned one is refused, in one line', async () => {
    const r = await npmRun(['backup', '--stack', 'wrongkey'], {
      what: 'kytes:docker.hostKey is not the key of that host',
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({
      status: 1,
      stderr: `npm run backup: error: cannot reach the Docker host of stack wrongkey over SSH (deploy@127.0.0.1 port ${port}): Host key verification failed. Check that the host is up and that kytes:docker.host, kytes:docker.sshOpts and kytes:docker.hostKey are right (pulumi up uses the same connection); nothing was changed\n`,
    });
  });

  it.each([
    ['backups', []],
    ['backup', []],
    ['restore', ['20261122T040000Z', '--yes']],
    ['verify', ['20261122T040000Z']],
    ['prune', []],
    ['fetch', ['--list']],
  ])('npm run %s %j before pulumi up: the scripts are not installed, run pulumi up', async (command, args) => {
    const r = await npmRun([command, ...args, '--stack', 'it']);
    const script = {
      backups: 'kytes-backups',
      backup: 'kytes-backup',
      restore: 'kytes-restore',
      verify: 'kytes-verify',
      prune: 'kytes-prune',
      fetch: 'kytes-offhost-fetch',
    }[command];
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr: `kytes: error: the Kytes ops scripts of stack it are not installed on ${HOSTNAME} (/opt/kytes/${PREFIX}/${script} is missing): run pulumi up for this stack first (npm run pulumi -- up --stack it), which installs them; nothing was changed\n`,
    });
  });
});

describe('scripts installed as Pulumi installs them, by deploy through sudo', () => {
  beforeAll(() => {
    const scripts = renderOpsScripts(t, {
      keepLast: 6,
      keepDaily: 7,
      keepWeekly: 4,
      offHost: OFFHOST,
      projectCommit: 'c0ffee1',
      projectDirty: false,
      projectVersion: '0.1.0',
      healthTimeoutSeconds: 120,
    });
    const step = hostBash(t.docker, installScriptsScript(t, Object.keys(scripts).sort()));
    const r = spawnSync(step.interpreter[0], [...step.interpreter.slice(1), step.command], {
      input: encodeScripts(scripts),
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(`installing the scripts over SSH failed (${r.status}): ${r.stderr}`);
  });

  it('they are root-owned in /opt/kytes, the backup dir root-only', async () => {
    expect(
      (
        await onHost(
          `stat -c '%U %a %n' /opt/kytes/${PREFIX} /opt/kytes/${PREFIX}/kytes-backup /var/backups/kytes/${PREFIX}`,
        )
      )
        .trim()
        .split('\n'),
    ).toEqual([
      `root 755 /opt/kytes/${PREFIX}`,
      `root 755 /opt/kytes/${PREFIX}/kytes-backup`,
      `root 700 /var/backups/kytes/${PREFIX}`,
    ]);
  });

  it('a login that is not root and may not sudo: one line saying so and how to fix it', async () => {
    const r = await npmRun(['backups', '--stack', 'nosudo'], { what: 'the login nosudo has no sudo' });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr: `kytes: error: nosudo@${HOSTNAME} is not root and may not use sudo without a password, and Kytes ops run as root on the Docker host: log in as root, or allow nosudo password-less sudo there (a sudoers line such as: nosudo ALL=(root) NOPASSWD: ALL); nothing was changed\n`,
    });
  });

  it('the stack containers do not exist yet: the first one missing is named, with the fix', async () => {
    const r = await npmRun(['backup', '--stack', 'it'], { what: 'scripts installed, containers not created yet' });
    expect({ status: r.status, last: lastLine(r.stderr) }).toEqual({
      status: 1,
      last: `kytes-backup: error: PostgreSQL: container ${t.postgres.container} does not exist on ${HOSTNAME}: run pulumi up (it creates it); nothing was changed (no backup was written)`,
    });
    expect(r.stderr).not.toMatch(/bad array subscript|No such file|command not found/);
    const b = await npmRun(['backups', '--stack', 'it'], { what: 'no backups yet' });
    expect(b.status).toBe(0);
    expect(b.stdout).toContain('  last verified backup  NONE\n');
    expect(b.stdout).toContain('  failed backups        1 so far (last at ');
  });
});

describe('on a running stack', () => {
  let id: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    stack = await startFakeStack(t, sandbox, images);
    await seedData(stack, 2000);
    before = await liveState(stack);
  }, 600_000);

  it('npm run backup: a verified backup, its id last on stdout', async () => {
    const r = await npmRun(['backup', '--stack', 'it'], { what: 'as deploy, through sudo -n' });
    expect(r.status).toBe(0);
    id = lastLine(r.stdout);
    expect(id).toMatch(/^[0-9]{8}T[0-9]{6}Z$/);
    expect(r.stderr).toContain(`kytes-backup: backup ${id} complete and verified`);
    expect(r.stderr).toContain(`kytes-backup: copied ${id} to ${OFFHOST}/${id} and verified it there\n`);
    // Run as root on the host: the invocation log says so, and who asked through sudo is in its env names.
    const log = (await onHost(`tail -n 1 /var/backups/kytes/${PREFIX}/invocations.jsonl`)).trim();
    expect(JSON.parse(log)).toEqual(expect.objectContaining({ operation: 'kytes-backup', user: 'root', result: 'ok' }));
  });

  it('npm run backups: the last verified backup, its age and size, failed runs since, free space, then the list', async () => {
    const r = await npmRun(['backups', '--stack', 'it']);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`stack it (${PREFIX}) on ${HOSTNAME}, backups in /var/backups/kytes/${PREFIX}`);
    expect(lines[1]).toMatch(new RegExp(`^  last verified backup  ${id}, [0-9]+ min ago, [0-9.]+ (KiB|MiB)$`));
    expect(lines[2]).toBe('  failed backups        none since then');
    expect(lines[3]).toMatch(/^ {2}free space {12}[0-9.]+ (MiB|GiB)$/);
    expect(lines[4]).toBe(
      `  schedule              0 */4 * * * (output in /var/backups/kytes/${PREFIX}/cron.log); alert on failure: none`,
    );
    expect(lines[6]).toMatch(
      new RegExp(`^${id} +[0-9T:-]+Z +[0-9.]+ (KiB|MiB) +verified +gitlab-main 19\\.3\\.0, gitlab-team 19\\.3\\.0`),
    );
  });

  it('npm run verify and npm run prune', async () => {
    const v = await npmRun(['verify', id, '--stack', 'it']);
    expect({ status: v.status, last: lastLine(v.stderr) }).toEqual({
      status: 0,
      last: expect.stringMatching(
        new RegExp(`^kytes-verify: backup ${id} verified: manifest valid, [0-9]+ artifacts match their checksums$`),
      ),
    });
    const p = await npmRun(['prune', '--dry-run', '--stack', 'it']);
    expect({ status: p.status, stdout: p.stdout }).toEqual({ status: 0, stdout: `keep ${id}\n` });
  });

  it('npm run restore without a terminal and without --yes refuses; nothing changed', async () => {
    await psql(t, t.gitlab[0].database.name, 'DELETE FROM issues WHERE id % 2 = 0;\n');
    const changed = await liveState(stack);
    const r = await npmRun(['restore', id, '--stack', 'it'], { what: 'standard input is not a terminal' });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr:
        'npm run restore: error: a restore replaces live data and nobody can confirm it here (standard input is not a terminal): run again with --yes to restore without asking; nothing was changed\n',
    });
    expect(await liveState(stack)).toEqual(changed);
  });

  it('npm run restore on a terminal: every check, the plan, the question; an answer other than yes changes nothing', async () => {
    const changed = await liveState(stack);
    const r = await npmRun(['restore', id, '--stack', 'it'], { tty: 'no\n', what: 'answered no' });
    expect(r.status).toBe(1);
    expect(r.output).toContain(`backup ${id} (made `);
    expect(r.output).toContain(
      'a safety backup of the current state is taken and verified first (--no-safety-backup skips it)',
    );
    expect(r.output).toContain(`Type yes to restore stack it from ${id}: `);
    expect(lastLine(r.output)).toBe('npm run restore: not confirmed; nothing was changed');
    expect(await liveState(stack)).toEqual(changed);
  });

  let safety: string;
  it('npm run restore on a terminal, answered yes: a verified safety backup, then the restore', async () => {
    const r = await npmRun(['restore', id, '--stack', 'it'], { tty: 'yes\n', what: 'answered yes' });
    expect(r.status).toBe(0);
    expect(lastLine(r.output)).toBe(`kytes-restore: stack it restored from backup ${id}`);
    safety = /safety backup (\S+-prerestore) taken and verified/.exec(r.output)![1];
    expect(await liveState(stack)).toEqual(before);
    const record = JSON.parse((await onHost(`tail -n 1 /var/backups/kytes/${PREFIX}/invocations.jsonl`)).trim());
    expect(record).toEqual(expect.objectContaining({ operation: 'kytes-restore', safetyBackup: safety, result: 'ok' }));
    expect((await onHost(`ls /var/backups/kytes/${PREFIX}/${safety}/verified`)).trim()).toBe(
      `/var/backups/kytes/${PREFIX}/${safety}/verified`,
    );
  });

  it('npm run restore --only gitlab:main --yes: GitLab main alone; team and Rocket.Chat untouched', async () => {
    await psql(t, t.gitlab[0].database.name, 'DELETE FROM issues WHERE id % 3 = 0;\n');
    await psql(t, t.gitlab[1].database.name, 'DELETE FROM issues WHERE id % 5 = 0;\n');
    const mid = await liveState(stack);
    const rc = await containerStartedAt(t.rocketchat!.container);
    const team = await containerStartedAt(t.gitlab[1].container);
    const r = await npmRun(['restore', id, '--only', 'gitlab:main', '--yes', '--no-safety-backup', '--stack', 'it']);
    expect({ status: r.status, last: lastLine(r.stderr) }).toEqual({
      status: 0,
      last: `kytes-restore: stack it: gitlab:main restored from backup ${id}; GitLab team left as it was`,
    });
    const after = await liveState(stack);
    const main = t.gitlab[0];
    expect(after[`db ${main.database.name}`]).toBe(before[`db ${main.database.name}`]);
    expect(after[`db ${t.gitlab[1].database.name}`]).toBe(mid[`db ${t.gitlab[1].database.name}`]);
    expect([
      await containerStartedAt(t.rocketchat!.container),
      await containerStartedAt(t.gitlab[1].container),
    ]).toEqual([rc, team]);
    const record = JSON.parse((await onHost(`tail -n 1 /var/backups/kytes/${PREFIX}/invocations.jsonl`)).trim());
    expect(record.safetyBackup).toBe('skipped (--no-safety-backup)');
  });

  it('npm run restore --only rocketchat --yes: Rocket.Chat alone; GitLab untouched', async () => {
    await execIn(stack.mongoPrimary!, ['bash', '-c', 'echo lost >/data/db/fake/rocketchat/rocketchat_message.bson']);
    const mid = await liveState(stack);
    const main = await containerStartedAt(t.gitlab[0].container);
    const r = await npmRun(['restore', id, '--only', 'rocketchat', '--yes', '--no-safety-backup', '--stack', 'it']);
    expect({ status: r.status, last: lastLine(r.stderr) }).toEqual({
      status: 0,
      last: `kytes-restore: stack it: rocketchat restored from backup ${id}; GitLab main team left as it was`,
    });
    const after = await liveState(stack);
    expect(after.mongo).toBe(before.mongo);
    expect(after[`db ${t.gitlab[1].database.name}`]).toBe(mid[`db ${t.gitlab[1].database.name}`]);
    expect(await containerStartedAt(t.gitlab[0].container)).toBe(main);
  });

  describe('a container the operation needs is not healthy', () => {
    it('unhealthy GitLab: the backup refuses, naming it and what to do', async () => {
      const main = t.gitlab[0].container;
      await execIn(main, ['rm', '-f', '/run/fake-gitlab/puma']);
      await waitFor(async () => (await containerHealth(main)) === 'unhealthy', {
        timeoutMs: 30_000,
        what: 'GitLab main unhealthy',
      });
      try {
        const r = await npmRun(['backup', '--stack', 'it'], { what: 'GitLab main is unhealthy' });
        expect({ status: r.status, last: lastLine(r.stderr) }).toEqual({
          status: 1,
          last: `kytes-backup: error: GitLab instance main: container ${main} is unhealthy: see \`docker logs ${main}\` and its health log (\`docker inspect ${main}\`), fix it or restart it (docker restart ${main}), then run again; nothing was changed (no backup was written)`,
        });
      } finally {
        await execIn(main, ['touch', '/run/fake-gitlab/puma']);
        await waitFor(async () => (await containerHealth(main)) === 'healthy', {
          timeoutMs: 30_000,
          what: 'GitLab main healthy',
        });
      }
    });

    it('a stopped GitLab: backup and restore refuse, naming it', async () => {
      const team = t.gitlab[1].container;
      await docker(['stop', team]);
      try {
        const b = await npmRun(['backup', '--stack', 'it'], { what: 'GitLab team is stopped' });
        expect({ status: b.status, last: lastLine(b.stderr) }).toEqual({
          status: 1,
          last: `kytes-backup: error: GitLab instance team: container ${team} is not running (exited): start it (docker start ${team}) or run pulumi up, then run again; nothing was changed (no backup was written)`,
        });
        const r = await npmRun(['restore', id, '--yes', '--stack', 'it']);
        expect({ status: r.status, last: lastLine(r.stderr) }).toEqual({
          status: 1,
          last: `kytes-restore: error: GitLab instance team: container ${team} is not running (exited): start it (docker start ${team}) or run pulumi up, then run again; nothing was changed`,
        });
      } finally {
        await docker(['start', team]);
        await waitFor(async () => (await containerHealth(team)) === 'healthy', {
          timeoutMs: 30_000,
          what: 'GitLab team healthy',
        });
      }
    });

    it('npm run backups counts the failed runs since the last verified backup', async () => {
      const r = await npmRun(['backups', '--stack', 'it'], { what: 'after the failed backups above' });
      expect(r.stdout.split('\n')[2]).toMatch(
        /^ {2}failed backups {8}2 since then \(last at [0-9T:-]+Z: GitLab instance team: container .* is not running \(exited\).*\)$/,
      );
    });
  });

  describe('the Docker engine does not answer', () => {
    beforeAll(() => onHost('rm /var/run/docker.sock'));
    afterAll(() => onHost('ln -s /kytes-engine/docker.sock /var/run/docker.sock'));

    it('backup and restore say so, with the fix; nothing changed', async () => {
      const b = await npmRun(['backup', '--stack', 'it'], { what: 'the engine is down' });
      const engine = `the Docker engine at unix:///var/run/docker.sock does not answer on ${HOSTNAME} (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?): start it (systemctl start docker) and run again`;
      expect({ status: b.status, stderr: b.stderr }).toEqual({
        status: 1,
        stderr: `kytes-backup: error: ${engine}; nothing was changed (no backup was written)\n`,
      });
      const r = await npmRun(['restore', id, '--yes', '--stack', 'it']);
      expect({ status: r.status, stderr: r.stderr }).toEqual({
        status: 1,
        stderr: `kytes-restore: error: ${engine}; nothing was changed\n`,
      });
    });

    it('backups, verify and prune need no engine and still answer', async () => {
      expect((await npmRun(['backups', '--stack', 'it'], { what: 'the engine is down' })).status).toBe(0);
      expect((await npmRun(['verify', id, '--stack', 'it'])).status).toBe(0);
      expect((await npmRun(['prune', '--dry-run', '--stack', 'it'])).status).toBe(0);
    });
  });

  it('a new host: npm run fetch brings the backup back from the off-host copy, verified; then restore', async () => {
    const list = await npmRun(['fetch', '--list', '--stack', 'it'], { what: 'what the off-host location holds' });
    expect(list.status).toBe(0);
    expect(list.stdout.split('\n')).toContain(`${id}\t${OFFHOST}/${id}`);
    // The local copy is lost (a new host has none), and the data is damaged.
    await onHost(`rm -rf /var/backups/kytes/${PREFIX}/${id}`);
    await psql(t, t.gitlab[1].database.name, 'DROP TABLE issues;\n');
    const fetched = await npmRun(['fetch', id, '--stack', 'it'], { what: 'the local backup is gone' });
    expect({ status: fetched.status, last: lastLine(fetched.stderr) }).toEqual({
      status: 0,
      last: `kytes-offhost-fetch: fetched ${id} into /var/backups/kytes/${PREFIX}/${id} and verified it; restore it with kytes-restore ${id}`,
    });
    expect((await npmRun(['verify', id, '--stack', 'it'])).status).toBe(0);
    const r = await npmRun(['restore', id, '--yes', '--no-safety-backup', '--stack', 'it']);
    expect({ status: r.status, last: lastLine(r.stderr) }).toEqual({
      status: 0,
      last: `kytes-restore: stack it restored from backup ${id}`,
    });
    expect(await liveState(stack)).toEqual(before);
    const again = await npmRun(['fetch', id, '--stack', 'it']);
    expect({ status: again.status, last: lastLine(again.stderr) }).toEqual({
      status: 1,
      last: `kytes-offhost-fetch: error: /var/backups/kytes/${PREFIX}/${id} already exists (run kytes-verify ${id} to check it); nothing was written to /var/backups/kytes/${PREFIX}`,
    });
  });
});
