import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installScripts, OPTIONS, removeDir, runScript, tempDir, topologyFor } from './fixture';

/**
 * Argument rules, run for real with bash: wrong or missing arguments print the usage on stderr and
 * exit 2 before anything is touched; a backup id that does not exist is an error (exit 1).
 * A `docker` stub that fails makes sure no check reaches a Docker engine.
 */
describe('ops scripts: argument validation', () => {
  let root: string;
  let bin: string;
  let backupDir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    root = tempDir('args');
    bin = path.join(root, 'bin');
    backupDir = path.join(root, 'backups');
    installScripts(
      topologyFor({ backup: { dir: backupDir } }, 'unit'),
      { ...OPTIONS, offHost: path.join(root, 'offhost') },
      bin,
    );
    fs.mkdirSync(path.join(root, 'stub'));
    fs.writeFileSync(path.join(root, 'stub', 'docker'), '#!/bin/sh\necho "docker stub: $*" >&2\nexit 1\n', {
      mode: 0o755,
    });
    env = { PATH: `${path.join(root, 'stub')}:${process.env.PATH}` };
  });
  afterAll(() => removeDir(root));

  const USAGE: Record<string, string> = {
    'kytes-backup': 'usage: kytes-backup [--label LABEL] [--no-offhost] [--no-prune] [--skip-uncreated] [--scheduled]',
    'kytes-verify': 'usage: kytes-verify ID',
    'kytes-restore':
      'usage: kytes-restore ID [--only gitlab:NAME | --only rocketchat]... [--yes] [--check] [--no-safety-backup] [--once]',
    'kytes-backups': 'usage: kytes-backups [--json]',
    'kytes-prune': 'usage: kytes-prune [--dry-run] [--keep-last N] [--keep-daily N] [--keep-weekly N]',
    'kytes-offhost-copy': 'usage: kytes-offhost-copy ID',
  };
  const WRONG: [string, string[], string][] = [
    ['kytes-verify', [], 'expected exactly one backup id, got 0'],
    ['kytes-verify', ['a', 'b'], 'expected exactly one backup id, got 2'],
    ['kytes-verify', ['latest'], "'latest' is not a backup id (YYYYMMDDTHHMMSSZ[-label])"],
    ['kytes-restore', [], 'expected a backup id'],
    ['kytes-restore', ['20261122T040000Z', '--force'], "unexpected argument '--force'"],
    [
      'kytes-restore',
      ['20261122T040000Z', '20261122T050000Z'],
      "expected exactly one backup id, got '20261122T040000Z' and '20261122T050000Z'",
    ],
    ['kytes-restore', ['20261122T040000Z', '--only'], '--only needs gitlab:NAME or rocketchat'],
    ['kytes-restore', ['20261122T040000Z', '--only', 'mongo'], "--only takes gitlab:NAME or rocketchat, got 'mongo'"],
    [
      'kytes-restore',
      ['20261122T040000Z', '--only', 'gitlab:nope'],
      "--only gitlab:nope: stack unit has no GitLab instance 'nope' (it has: main)",
    ],
    ['kytes-restore', ['20261122T0400Z'], "'20261122T0400Z' is not a backup id (YYYYMMDDTHHMMSSZ[-label])"],
    ['kytes-restore', ['../20261122T040000Z'], "'../20261122T040000Z' is not a backup id (YYYYMMDDTHHMMSSZ[-label])"],
    ['kytes-offhost-copy', [], 'expected exactly one backup id, got 0'],
    ['kytes-backup', ['--label'], '--label needs a value'],
    ['kytes-backup', ['--label', 'Pre Destroy'], "--label must be lower-case letters and digits, got 'Pre Destroy'"],
    ['kytes-backup', ['now'], "unexpected argument 'now'"],
    ['kytes-backups', ['--yaml'], "unexpected argument '--yaml'"],
    ['kytes-backups', ['--json', '--json'], 'expected at most one argument, got 2'],
    ['kytes-prune', ['--keep-last'], "--keep-last needs a whole number from 0 to 9999, got ''"],
    ['kytes-prune', ['--keep-daily', '-1'], "--keep-daily needs a whole number from 0 to 9999, got '-1'"],
    ['kytes-prune', ['--all'], "unexpected argument '--all'"],
  ];

  it.each(WRONG)('%s %j: usage on stderr, then one line, exit 2, nothing written', (script, args, reason) => {
    const r = runScript(bin, script, args, env);
    expect(r).toEqual({ status: 2, stdout: '', stderr: expect.stringContaining(`${script}: error: ${reason}`) });
    const lines = r.stderr.trimEnd().split('\n');
    expect([lines[0], lines[lines.length - 1]]).toEqual([
      USAGE[script],
      `${script}: error: ${reason}; nothing was changed`,
    ]);
    expect(fs.existsSync(backupDir)).toBe(false);
  });

  it.each(Object.keys(USAGE))('%s --help: usage on stdout, exit 0', (script) => {
    const r = runScript(bin, script, ['--help'], env);
    expect({ status: r.status, first: r.stdout.split('\n')[0], stderr: r.stderr }).toEqual({
      status: 0,
      first: USAGE[script],
      stderr: '',
    });
  });

  it.each([
    [
      'kytes-verify',
      'kytes-verify: error: no backup 20261122T040000Z in BACKUP_DIR (list them with kytes-backups); nothing was changed',
    ],
    [
      'kytes-restore',
      'kytes-restore: error: refusing to restore 20261122T040000Z: no backup 20261122T040000Z in BACKUP_DIR (list them with kytes-backups); nothing was changed',
    ],
    [
      'kytes-offhost-copy',
      'kytes-offhost-copy: error: no backup 20261122T040000Z in BACKUP_DIR (list them with kytes-backups); the local backup 20261122T040000Z is unaffected and no verified copy was made (a partial one is replaced by the next copy)',
    ],
  ])('%s of a backup that does not exist: an error, exit 1, logged', (script, message) => {
    const r = runScript(bin, script, ['20261122T040000Z'], env);
    expect(r).toEqual({ status: 1, stdout: '', stderr: `${message.replace('BACKUP_DIR', backupDir)}\n` });
    const log = fs.readFileSync(path.join(backupDir, 'invocations.jsonl'), 'utf8').trim().split('\n');
    const last = JSON.parse(log[log.length - 1]);
    expect({
      operation: last.operation,
      arguments: last.arguments,
      result: last.result,
      status: last.status,
      message: last.message,
    }).toEqual({
      operation: script,
      arguments: ['20261122T040000Z'],
      result: 'error',
      status: 1,
      message: message.replace(`${script}: error: `, '').replace('BACKUP_DIR', backupDir),
    });
  });

  it('kytes-prune refuses to start while another operation holds the lock', async () => {
    fs.mkdirSync(backupDir, { recursive: true });
    // `exec sleep`: the process killed below is the one holding the lock, with no child left holding it.
    const holder = spawn('bash', ['-c', 'exec 9>>"$0" && flock 9 && exec sleep 30', path.join(backupDir, '.lock')], {
      stdio: 'ignore',
    });
    try {
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && spawnSync('flock', ['-n', path.join(backupDir, '.lock'), 'true']).status === 0) {
        /* wait for the holder to take the lock */
      }
      const r = runScript(bin, 'kytes-prune', [], env);
      expect({ status: r.status, stderr: r.stderr }).toEqual({
        status: 1,
        stderr: `kytes-prune: error: another Kytes backup, restore or prune of stack unit is running (lock ${backupDir}/.lock); try again when it ends; nothing was changed\n`,
      });
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
  });

  it('kytes-backup with a Docker engine that does not answer stops before writing anything', () => {
    const r = runScript(bin, 'kytes-backup', [], env);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr: `kytes-backup: error: the Docker engine at unix:///var/run/docker.sock does not answer on ${os.hostname()} (docker stub: version --format {{.Server.Version}}): start it (systemctl start docker) and run again; nothing was changed (no backup was written)\n`,
    });
    // No backup, not even an incomplete one (the lock file is the earlier test's).
    expect(fs.readdirSync(backupDir).filter((n) => n !== '.lock' && n !== 'invocations.jsonl')).toEqual([]);
  });

  it('records environment variable names, never their values', () => {
    runScript(bin, 'kytes-backups', [], {
      ...env,
      KYTES_SECRET_PROBE: 's3cr3t-value',
      DOCKER_CONTEXT_PROBE: 'x',
      OTHER_PROBE: 'y',
    });
    const text = fs.readFileSync(path.join(backupDir, 'invocations.jsonl'), 'utf8');
    const last = JSON.parse(text.trim().split('\n').pop() as string);
    expect(last.envNames).toEqual(expect.arrayContaining(['KYTES_SECRET_PROBE', 'DOCKER_CONTEXT_PROBE']));
    expect(last.envNames).not.toContain('OTHER_PROBE');
    expect(text).not.toContain('s3cr3t-value');
    expect(Object.keys(last)).toEqual([
      'time',
      'operation',
      'arguments',
      'user',
      'host',
      'project',
      'stack',
      'commit',
      'dirty',
      'duration_s',
      'result',
      'status',
      'message',
      'envNames',
    ]);
  });
});
