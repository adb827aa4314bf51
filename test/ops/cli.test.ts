import * as fs from 'fs';
import * as path from 'path';
import { chooseStack, formatBackups, hostCommand, parseCli, topologyFromStackYaml, UsageError } from '../../ops/cli';
import { removeDir, tempDir } from './fixture';

describe('ops/cli.ts (npm run backup | restore | backups)', () => {
  it.each([
    [['backup'], { command: 'backup', stack: undefined, scriptArgs: [], json: false }],
    [
      ['backup', '--stack', 'prod', '--label', 'manual'],
      { command: 'backup', stack: 'prod', scriptArgs: ['--label', 'manual'], json: false },
    ],
    [
      ['restore', '20261122T040000Z'],
      { command: 'restore', stack: undefined, scriptArgs: ['20261122T040000Z'], json: false },
    ],
    [
      ['restore', '--stack', 'dev', '20261122T040000Z-manual'],
      { command: 'restore', stack: 'dev', scriptArgs: ['20261122T040000Z-manual'], json: false },
    ],
    [['backups', '--json'], { command: 'backups', stack: undefined, scriptArgs: [], json: true }],
  ])('parses %j', (argv, expected) => {
    expect(parseCli(argv)).toEqual(expected);
  });

  it.each([
    [[], 'missing command'],
    [['snapshot'], "unknown command 'snapshot'"],
    [['restore'], 'restore needs a backup id (list them with npm run backups)'],
    [['restore', 'latest'], "'latest' is not a backup id (YYYYMMDDTHHMMSSZ[-label])"],
    [['restore', '20261122T040000Z', '20261122T050000Z'], "unexpected argument '20261122T050000Z'"],
    [['backup', '--label'], '--label needs lower-case letters and digits'],
    [['backup', '--json'], "unexpected argument '--json'"],
    [['backups', '--stack'], '--stack needs a stack name'],
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
  kytes:backup:
    trigger:
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
      '  - kytes:backup: received a secret value; allowed: plain text — nothing in kytes:backup is a secret, and its values become names, paths and commands that Pulumi cannot keep secret: set it again without --secret',
      '  - kytes:proxy.httpPort: received "8080"; allowed: no key with a dot in its name — a dotted key needs --path: run `pulumi config rm kytes:proxy.httpPort` then `pulumi config set --path kytes:proxy.httpPort VALUE`',
    ]);
  });

  it('runs the installed script locally with bash, or over ssh with the stack ssh options', () => {
    expect(hostCommand(topologyFromStackYaml('config: {}\n', 'dev'), 'kytes-restore', ['20261122T040000Z'])).toEqual({
      file: 'bash',
      args: ['/opt/kytes/kytes-dev/kytes-restore', '20261122T040000Z'],
    });
    expect(hostCommand(topologyFromStackYaml(YAML, 'prod'), 'kytes-backup', ['--label', "it's"])).toEqual({
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
        "'/opt/kytes/acme/kytes-backup' '--label' 'it'\\''s'",
      ],
    });
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
});
