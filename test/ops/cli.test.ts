import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as os from 'os';
import { SECRET_FIELDS } from '../../lib/config';
import { shellWord } from '../../lib/sinks';
import {
  age,
  chooseStack,
  chooseStacks,
  formatBackups,
  formatStatus,
  hostCommand,
  operatorScript,
  parseCli,
  topologyFromStackYaml,
  UNREAD_SECRET,
  UsageError,
} from '../../ops/cli';
import { AS_ROOT } from '../../ops/host';
import { removeDir, tempDir } from './fixture';

describe('ops/cli.ts (npm run backup | restore | backups | verify | prune | fetch)', () => {
  const none = { stack: undefined, json: false, yes: false };
  it.each([
    [['backup'], { ...none, command: 'backup', scriptArgs: [] }],
    [
      ['backup', '--stack', 'prod', '--label', 'manual'],
      { ...none, command: 'backup', stack: 'prod', scriptArgs: ['--label', 'manual'] },
    ],
    [['restore', '20261122T040000Z'], { ...none, command: 'restore', scriptArgs: ['20261122T040000Z'] }],
    [
      ['restore', '--stack', 'dev', '20261122T040000Z-manual'],
      { ...none, command: 'restore', stack: 'dev', scriptArgs: ['20261122T040000Z-manual'] },
    ],
    [
      ['restore', '--only', 'gitlab:team-b', '20261122T040000Z', '--only', 'rocketchat', '--yes', '--no-safety-backup'],
      {
        ...none,
        command: 'restore',
        yes: true,
        scriptArgs: ['20261122T040000Z', '--only', 'gitlab:team-b', '--only', 'rocketchat', '--no-safety-backup'],
      },
    ],
    [['backups', '--json'], { ...none, command: 'backups', scriptArgs: [], json: true }],
    [['verify', '20261122T040000Z'], { ...none, command: 'verify', scriptArgs: ['20261122T040000Z'] }],
    [['prune', '--dry-run'], { ...none, command: 'prune', scriptArgs: ['--dry-run'] }],
    [['prune'], { ...none, command: 'prune', scriptArgs: [] }],
    [['fetch', '--list', '--stack', 'prod'], { ...none, command: 'fetch', stack: 'prod', scriptArgs: ['--list'] }],
    [['fetch', '20261122T040000Z'], { ...none, command: 'fetch', scriptArgs: ['20261122T040000Z'] }],
  ])('parses %j', (argv, expected) => {
    expect(parseCli(argv)).toEqual(expected);
  });

  it.each([
    [[], 'missing command'],
    [['snapshot'], "unknown command 'snapshot'"],
    [['restore'], 'restore needs a backup id (list them with npm run backups)'],
    [['restore', 'latest'], "'latest' is not a backup id (YYYYMMDDTHHMMSSZ[-label])"],
    [['restore', '20261122T040000Z', '20261122T050000Z'], "unexpected argument '20261122T050000Z'"],
    [['restore', '20261122T040000Z', '--only'], '--only needs gitlab:NAME or rocketchat'],
    [['restore', '20261122T040000Z', '--only', 'mongo'], '--only needs gitlab:NAME or rocketchat'],
    [['restore', '20261122T040000Z', '--only', "gitlab:x'; rm -rf /"], '--only needs gitlab:NAME or rocketchat'],
    [['backup', '--label'], '--label needs lower-case letters and digits'],
    [['backup', '--json'], "unexpected argument '--json'"],
    [['backup', '--yes'], "unexpected argument '--yes'"],
    [['backups', '--stack'], '--stack needs a stack name'],
    [['verify'], 'verify needs a backup id (list them with npm run backups)'],
    [['prune', '--keep-last', '1'], "unexpected argument '--keep-last'"],
    [['fetch'], 'fetch needs a backup id, or --list to see what the off-host location holds'],
    [['fetch', '--list', '20261122T040000Z'], "unexpected argument '20261122T040000Z' after --list"],
    [['fetch', '20261122T040000Z', '--list'], "unexpected argument '--list'"],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(new UsageError(message));
  });

  it('chooses --stack, then $PULUMI_STACK, then the only Pulumi.<stack>.yaml', () => {
    const dir = tempDir('cli');
    try {
      fs.writeFileSync(path.join(dir, 'Pulumi.yaml'), 'name: kytes\n');
      fs.writeFileSync(path.join(dir, 'Pulumi.dev.yaml'), '');
      expect([
        chooseStack('prod', {}, dir),
        chooseStack(undefined, { PULUMI_STACK: 'qa' }, dir),
        chooseStack(undefined, {}, dir),
      ]).toEqual(['prod', 'qa', 'dev']);
      fs.writeFileSync(path.join(dir, 'Pulumi.prod.yaml'), '');
      expect(() => chooseStack(undefined, {}, dir)).toThrow('several stacks (dev, prod): choose one with --stack');
      // npm run backups shows each of them.
      expect(chooseStacks(undefined, {}, dir)).toEqual(['dev', 'prod']);
      expect(chooseStacks('prod', {}, dir)).toEqual(['prod']);
    } finally {
      removeDir(dir);
    }
  });

  const YAML = `config:
  kytes:masterSecret:
    secure: v1:AAAABBBBCCCC
  kytes:prefix: acme
  kytes:docker:
    host: ssh://ops@docker-1.example.com:2202
    sshOpts: ["-i", "/home/ops/.ssh/kytes"]
  kytes:backup:
    dir: /srv/kytes-backups
  aws:region: eu-west-3
`;

  it('reads the topology from the stack YAML without touching secrets', () => {
    const t = topologyFromStackYaml(YAML, 'prod');
    expect({ prefix: t.prefix, backupDir: t.ops.backupDir, scriptsDir: t.ops.scriptsDir, docker: t.docker }).toEqual({
      prefix: 'acme',
      backupDir: '/srv/kytes-backups',
      scriptsDir: '/opt/kytes/acme',
      docker: {
        url: 'ssh://ops@docker-1.example.com:2202',
        kind: 'ssh',
        socket: '/var/run/docker.sock',
        ssh: { user: 'ops', host: 'docker-1.example.com', port: 2202, options: ['-i', '/home/ops/.ssh/kytes'] },
      },
    });
    expect(() => topologyFromStackYaml('config:\n  kytes:backup:\n    keepLast: 0\n', 'dev')).toThrow(
      'Pulumi.dev.yaml: Invalid Kytes configuration (1 problem):\n  - kytes:backup.keepLast: received 0; allowed: Too small: expected number to be >=1',
    );
  });

  it('checks the stack YAML as pulumi up does: unknown keys, secrets where none belong, dotted keys', () => {
    const bad = `config:
  kytes:prefix: acme
  kyte:domain: example.com
  kytes:proxy.httpPort: 8080
  kytes:gitlab:
    sshBindAddress:
      secure: v1:AAAABBBBCCCC
`;
    let message = '';
    try {
      topologyFromStackYaml(bad, 'prod');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n').slice(1)).toEqual([
      '  - kyte:domain: received "example.com"; allowed: no such namespace (did you mean kytes:domain?)',
      '  - kytes:gitlab: received a secret value; allowed: plain text — nothing in kytes:gitlab is a secret, and its values become names, paths and commands that Pulumi cannot keep secret: set it again without --secret',
      '  - kytes:proxy.httpPort: received "8080"; allowed: no key with a dot in its name — a dotted key needs --path: run `pulumi config rm kytes:proxy.httpPort` then `pulumi config set --path kytes:proxy.httpPort VALUE`',
      '  - kytes:gitlab.sshBindAddress: received a secret value; allowed: an IPv4 address such as 127.0.0.1 or 0.0.0.0',
    ]);
  });

  it('runs the installed script through the operator script: locally with bash, or over ssh with the stack ssh options', () => {
    const dev = topologyFromStackYaml('config: {}\n', 'dev');
    expect(hostCommand(dev, 'kytes-restore', ['20261122T040000Z'])).toEqual({
      file: '/bin/bash',
      args: ['-c', operatorScript(dev, 'kytes-restore', ['20261122T040000Z'])],
    });
    const prod = topologyFromStackYaml(YAML, 'prod');
    expect(hostCommand(prod, 'kytes-backup', ['--label', "it's"])).toEqual({
      file: 'ssh',
      args: [
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=yes',
        '-i',
        '/home/ops/.ssh/kytes',
        '-p',
        '2202',
        '-l',
        'ops',
        '--',
        'docker-1.example.com',
        `/bin/bash -c ${shellWord(operatorScript(prod, 'kytes-backup', ['--label', "it's"]))}`,
      ],
    });
  });

  it('the operator script says it got there, checks the scripts are installed, becomes root, then runs the script', () => {
    const t = topologyFromStackYaml(YAML, 'prod');
    expect(operatorScript(t, 'kytes-backup', ['--label', "it's"]).split('\n')).toEqual([
      'set -euo pipefail',
      "printf '%s\\n' 'kytes-cli: connected' >&2",
      "if [ ! -r '/opt/kytes/acme/kytes-lib.sh' ] || [ ! -x '/opt/kytes/acme/kytes-backup' ]; then",
      "  printf 'kytes: error: the Kytes ops scripts of stack %s are not installed on %s (%s is missing): run pulumi up for this stack first (npm run pulumi -- up --stack %s), which installs them; nothing was changed\\n' 'prod' \"$(uname -n)\" '/opt/kytes/acme/kytes-backup' 'prod' >&2",
      '  exit 1',
      'fi',
      ...AS_ROOT.split('\n'),
      "exec '/opt/kytes/acme/kytes-backup' '--label' 'it'\\''s'",
    ]);
  });

  it('runs it for real on this machine: scripts not installed is one line that says to run pulumi up', async () => {
    const dir = tempDir('cli-run');
    const prefix = `kytes-cli-${process.pid}`;
    try {
      fs.writeFileSync(path.join(dir, 'Pulumi.lab.yaml'), `config:\n  kytes:prefix: ${prefix}\n`);
      const r = spawnSync(
        process.execPath,
        ['-r', require.resolve('ts-node/register/transpile-only'), path.join(__dirname, '../../ops/cli.ts'), 'backups'],
        {
          cwd: dir,
          encoding: 'utf8',
          env: { ...process.env, TS_NODE_PROJECT: path.join(__dirname, '../../tsconfig.json') },
        },
      );
      expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
        status: 1,
        stdout: '',
        stderr: `kytes: error: the Kytes ops scripts of stack lab are not installed on ${os.hostname()} (/opt/kytes/${prefix}/kytes-backups is missing): run pulumi up for this stack first (npm run pulumi -- up --stack lab), which installs them; nothing was changed\n`,
      });
    } finally {
      removeDir(dir);
    }
  }, 60_000);

  it('the stand-in for secrets it never reads passes every secret field check, so the rest is checked as pulumi up does', () => {
    const yaml = `config:
  kytes:masterSecret:
    secure: v1:AAAA
  kytes:smtp:
    host: smtp.example.com
    from: gitlab@example.com
    user: mailer
    password:
      secure: v1:BBBB
  kytes:backup:
    alert:
      secure: v1:CCCC
    schedule: "off"
`;
    const t = topologyFromStackYaml(yaml, 'prod');
    expect([t.ops.schedule, t.mail?.auth !== undefined]).toEqual(['off', true]);
    for (const f of SECRET_FIELDS) {
      expect([f.path, UNREAD_SECRET.length >= f.minLength, f.problem?.(UNREAD_SECRET)]).toEqual([
        f.path,
        true,
        undefined,
      ]);
    }
  });

  it('lists backups with versions, flagging a manifest the schema refuses', () => {
    const manifest = {
      format: 'kytes-backup',
      formatVersion: 1,
      id: '20261122T040000Z',
      createdAt: '2026-11-22T04:00:00Z',
      completedAt: '2026-11-22T04:01:00Z',
      host: { hostname: 'h', machineId: '' },
      project: 'kytes',
      stack: 'dev',
      prefix: 'kytes-dev',
      iac: { commit: 'abc', dirty: false, version: null },
      images: [
        {
          component: 'postgres',
          container: 'kytes-dev-postgres',
          image: 'postgres:17.10-bookworm',
          imageId: 'sha256:1',
        },
      ],
      gitlab: [
        {
          instance: 'main',
          container: 'kytes-dev-gitlab-main',
          version: '19.3.0',
          archive: 'gitlab-main.tar',
          config: 'gitlab-main-etc.tar',
        },
      ],
      mongo: null,
      rocketchatUploads: null,
      postgres: null,
      artifacts: [
        { file: 'gitlab-main.tar', size: 1, sha256: 'a'.repeat(64) },
        { file: 'gitlab-main-etc.tar', size: 1, sha256: 'a'.repeat(64) },
      ],
      invocation: {
        operation: 'kytes-backup',
        arguments: [],
        user: 'root',
        host: 'h',
        startedAt: '2026-11-22T04:00:00Z',
        envNames: [],
      },
    };
    expect(
      formatBackups([
        { id: '20261122T050000Z', status: 'incomplete', sizeBytes: 0, restoredFrom: false, manifest: null },
        { id: '20261122T040000Z', status: 'verified', sizeBytes: 5 * 2 ** 30, restoredFrom: true, manifest },
        {
          id: '20261122T030000Z',
          status: 'verified',
          sizeBytes: 3 * 2 ** 20,
          restoredFrom: false,
          manifest: { ...manifest, formatVersion: 2 },
        },
      ]).split('\n'),
    ).toEqual([
      'ID                           CREATED (UTC)         SIZE     STATUS            VERSIONS',
      '20261122T050000Z             -                     0 KiB    incomplete        -',
      '20261122T040000Z (restored)  2026-11-22T04:00:00Z  5.0 GiB  verified          gitlab-main 19.3.0, postgres:17.10-bookworm',
      '20261122T030000Z             -                     3.0 MiB  INVALID MANIFEST  -',
    ]);
  });

  it('shows the state of the backups first: last verified backup and its age, failed runs since, free space', () => {
    const report = {
      stack: 'prod',
      prefix: 'kytes-prod',
      host: 'docker-1',
      backupDir: '/var/backups/kytes/kytes-prod',
      now: '2026-11-30T14:00:00Z',
      schedule: '0 */4 * * *',
      alert: 'configured' as const,
      cronLog: '/var/backups/kytes/kytes-prod/cron.log',
      freeBytes: 40 * 2 ** 30,
      lastVerified: {
        id: '20261130T120000Z',
        sizeBytes: 3 * 2 ** 30,
        createdAt: '2026-11-30T12:00:00Z',
        ageSeconds: 7260,
      },
      failedSince: {
        count: 1,
        last: { time: '2026-11-30T13:00:09Z', message: 'GitLab instance main: container x is unhealthy' },
      },
      backups: [],
    };
    expect(formatStatus(report).split('\n')).toEqual([
      'stack prod (kytes-prod) on docker-1, backups in /var/backups/kytes/kytes-prod',
      '  last verified backup  20261130T120000Z, 2 h 01 min ago, 3.0 GiB',
      '  failed backups        1 since then (last at 2026-11-30T13:00:09Z: GitLab instance main: container x is unhealthy)',
      '  free space            40.0 GiB',
      '  schedule              0 */4 * * * (output in /var/backups/kytes/kytes-prod/cron.log); alert on failure: kytes:backup.alert',
    ]);
    expect(
      formatStatus({
        ...report,
        schedule: 'off',
        alert: 'none',
        freeBytes: 2 ** 30,
        failedSince: { count: 0, last: null },
      })
        .split('\n')
        .slice(2),
    ).toEqual([
      '  failed backups        none since then',
      '  free space            1.0 GiB (LESS than the last backup needs: the next one will refuse)',
      '  schedule              off (no scheduled backups); alert on failure: none',
    ]);
    expect(
      formatStatus({ ...report, lastVerified: null, failedSince: { count: 3, last: null } })
        .split('\n')
        .slice(1, 3),
    ).toEqual(['  last verified backup  NONE', '  failed backups        3 so far']);
    expect([age(59), age(3600 * 5 + 120), age(86400 * 3 + 3600)]).toEqual(['0 min', '5 h 02 min', '3 d 1 h']);
  });
});
