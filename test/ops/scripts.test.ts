import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { configSchema } from '../../lib/config';
import { OPS_SCRIPTS, opsOptionsFromConfig, renderOpsScripts } from '../../ops/scripts';
import { installScripts, OPTIONS, removeDir, tempDir, topologyFor } from './fixture';

const TOPOLOGIES = {
  'defaults (one GitLab, Rocket.Chat, one Mongo member)': topologyFor({}, 'dev'),
  'three GitLab instances, 3 Mongo members, off-host rsync': topologyFor(
    {
      prefix: 'acme',
      gitlab: {
        instances: [
          { name: 'main', sshPort: 2222 },
          { name: 'team-b', sshPort: 2223 },
          { name: 'ops', sshPort: 2224 },
        ],
      },
      mongo: { members: 3, replicaSet: 'chat_rs' },
      backup: { dir: '/srv/backups/acme', offHost: 'backup@nas.example.com:/volume1/kytes' },
    },
    'prod',
  ),
  'no Rocket.Chat': topologyFor({ rocketchat: { enabled: false } }, 'lab'),
};

describe('renderOpsScripts', () => {
  it('renders exactly the contracted files, byte-stable', () => {
    const t = TOPOLOGIES['defaults (one GitLab, Rocket.Chat, one Mongo member)'];
    const a = renderOpsScripts(t, OPTIONS);
    expect(Object.keys(a)).toEqual([
      'kytes-lib.sh',
      'kytes-backup',
      'kytes-verify',
      'kytes-restore',
      'kytes-backups',
      'kytes-prune',
      'kytes-offhost-copy',
      'kytes-offhost-fetch',
    ]);
    expect(renderOpsScripts(t, OPTIONS)).toEqual(a);
    for (const name of OPS_SCRIPTS.filter((n) => n !== 'kytes-lib.sh')) {
      expect(a[name].split('\n').slice(0, 1)).toEqual(['#!/usr/bin/env bash']);
      expect(a[name]).toContain('set -euo pipefail\n');
      expect(a[name]).toContain('. "${BASH_SOURCE[0]%/*}/kytes-lib.sh"\n');
    }
  });

  it('takes every name from the topology', () => {
    const t = TOPOLOGIES['three GitLab instances, 3 Mongo members, off-host rsync'];
    const lib = renderOpsScripts(t, { ...OPTIONS, offHost: 'backup@nas.example.com:/volume1/kytes', keepLast: 3 })[
      'kytes-lib.sh'
    ];
    const line = (name: string) => lib.split('\n').find((l) => l.startsWith(`${name}=`));
    expect(
      [
        'STACK',
        'PREFIX',
        'BACKUP_DIR',
        'INVOCATION_LOG',
        'PG_CONTAINER',
        'GITLAB_INSTANCES',
        'MONGO_MEMBERS',
        'MONGO_REPLICA_SET',
        'MONGO_DATABASE',
        'RC_CONTAINER',
        'RC_UPLOADS_VOLUME',
        'KEEP_LAST',
        'OFFHOST',
        'IAC_COMMIT',
        'IAC_DIRTY',
      ].map(line),
    ).toEqual([
      "STACK='prod'",
      "PREFIX='acme'",
      "BACKUP_DIR='/srv/backups/acme'",
      "INVOCATION_LOG='/srv/backups/acme/invocations.jsonl'",
      "PG_CONTAINER='acme-postgres'",
      "GITLAB_INSTANCES=( 'main' 'team-b' 'ops' )",
      "MONGO_MEMBERS=( 'acme-mongo-0' 'acme-mongo-1' 'acme-mongo-2' )",
      "MONGO_REPLICA_SET='chat_rs'",
      "MONGO_DATABASE='rocketchat'",
      "RC_CONTAINER='acme-rocketchat'",
      "RC_UPLOADS_VOLUME='acme-rocketchat-uploads'",
      'KEEP_LAST=3',
      "OFFHOST='backup@nas.example.com:/volume1/kytes'",
      "IAC_COMMIT='0123abc'",
      'IAC_DIRTY=false',
    ]);
    expect(lib).toContain(
      "declare -A GITLAB_CONTAINER=( ['main']='acme-gitlab-main' ['team-b']='acme-gitlab-team-b' ['ops']='acme-gitlab-ops' )\n",
    );
    // No script names a container, volume or stack of its own.
    const all = Object.values(renderOpsScripts(t, OPTIONS)).join('\n');
    expect(all.match(/kytes-(dev|prod|unit)[a-z-]*/g)).toBeNull();
  });

  it('renders an empty Mongo member list and no Rocket.Chat names when Rocket.Chat is disabled', () => {
    const lib = renderOpsScripts(TOPOLOGIES['no Rocket.Chat'], OPTIONS)['kytes-lib.sh'];
    expect(lib).toContain("MONGO_MEMBERS=( )\nMONGO_PORT=''\n");
    expect(lib).toContain("RC_CONTAINER=''\nRC_UPLOADS_VOLUME=''\n");
  });

  it('maps kytes:backup.* and the GitLab start timeout into the options', () => {
    const config = configSchema.parse({
      backup: { keepLast: 2, keepDaily: 3, keepWeekly: 1, offHost: '/mnt/nas/kytes' },
      gitlab: { startTimeoutMinutes: 10 },
    });
    expect(opsOptionsFromConfig(config, { projectCommit: 'abc', projectDirty: true, projectVersion: '0.1.0' })).toEqual(
      {
        keepLast: 2,
        keepDaily: 3,
        keepWeekly: 1,
        offHost: '/mnt/nas/kytes',
        projectCommit: 'abc',
        projectDirty: true,
        projectVersion: '0.1.0',
        healthTimeoutSeconds: 600,
      },
    );
  });

  it('refuses options out of range, naming each', () => {
    const t = TOPOLOGIES['no Rocket.Chat'];
    expect(() =>
      renderOpsScripts(t, {
        ...OPTIONS,
        keepLast: 0,
        keepWeekly: 1.5,
        offHost: 'nas:/x',
        projectCommit: "x'; rm -rf /",
      }),
    ).toThrow(
      'Invalid ops options:\n  - keepLast: 0 is not a whole number from 1 to 9999\n  - keepWeekly: 1.5 is not a whole number from 0 to 9999\n' +
        '  - offHost: "nas:/x": allowed: an absolute path (mounted remote storage), user@host:/path for rsync over SSH, or a restic repository (restic:/path, restic:sftp:user@host:/path or restic:rest:https://host[:port]/path)\n  - projectCommit: "x\'; rm -rf /" is not a commit id',
    );
  });

  describe.each(Object.entries(TOPOLOGIES))('rendered for %s', (_name, t) => {
    let dir: string;
    beforeAll(() => {
      dir = tempDir('lint');
      installScripts(
        t,
        {
          ...OPTIONS,
          offHost: t.ops.backupDir.startsWith('/srv') ? 'backup@nas.example.com:/volume1/kytes' : undefined,
        },
        dir,
      );
    });
    afterAll(() => removeDir(dir));

    it.each([...OPS_SCRIPTS])('%s passes bash -n and shellcheck', (name) => {
      const syntax = spawnSync('bash', ['-n', path.join(dir, name)], { encoding: 'utf8' });
      expect({ status: syntax.status, stderr: syntax.stderr }).toEqual({ status: 0, stderr: '' });
      const lint = spawnSync('shellcheck', ['--external-sources', '--severity=style', name], {
        cwd: dir,
        encoding: 'utf8',
      });
      if (lint.error)
        throw new Error(`shellcheck is required by this test (apt-get install shellcheck): ${lint.error.message}`);
      expect({ status: lint.status, stdout: lint.stdout, stderr: lint.stderr }).toEqual({
        status: 0,
        stdout: '',
        stderr: '',
      });
    });

    it("never prompts from cron: the only read from a terminal is kytes-restore's confirmation, on a terminal without --yes", () => {
      const scripts = renderOpsScripts(t, OPTIONS);
      const prompts = Object.entries(scripts).flatMap(([name, text]) =>
        text
          .split('\n')
          .filter((l) => /\bread\s+(-[a-z]*p|[^<\n]*<\s*\/dev\/tty)|\bselect\s+\w+\s+in\b|set -x/.test(l))
          .map((l) => `${name}: ${l.trim()}`),
      );
      expect(prompts).toEqual(["kytes-restore: read -r answer </dev/tty || answer=''"]);
      expect(scripts['kytes-restore']).toContain('if ((!yes)); then\n  if [ -t 0 ] && [ -r /dev/tty ]; then\n');
    });
  });
});

describe('checksums', () => {
  const which = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
  const bash = which('bash');
  let dir: string;
  let noOpenssl: string;
  const file = () => path.join(dir, 'artifact.bin');
  beforeAll(() => {
    dir = tempDir('sha');
    installScripts(topologyFor({}, 'dev'), OPTIONS, path.join(dir, 'bin'));
    fs.writeFileSync(file(), Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251)));
    // A PATH with what sourcing the library needs, and sha256sum, but no openssl.
    noOpenssl = path.join(dir, 'path');
    fs.mkdirSync(noOpenssl);
    for (const tool of ['cat', 'sha256sum']) fs.symlinkSync(which(tool), path.join(noOpenssl, tool));
  });
  afterAll(() => removeDir(dir));

  const digests = (env: NodeJS.ProcessEnv) => {
    const r = spawnSync(
      bash,
      [
        '-c',
        `set -euo pipefail; . ${JSON.stringify(path.join(dir, 'bin', 'kytes-lib.sh'))}; command -v openssl >/dev/null && echo openssl || echo sha256sum; sha256_of "$1"; sha256_stdin <"$1"`,
        'test',
        file(),
      ],
      // stdin is not Node's default socketpair: bash started on a socket stdin with SHLVL unset thinks sshd
      // started it and sources ~/.bashrc, and a ~/.bashrc running `pyenv init` (a `#!/usr/bin/env bash`
      // script) printed "/usr/bin/env: 'bash': No such file or directory" under the PATH without bash.
      { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('gives the same SHA-256 through openssl (when the host has it) and through sha256sum', () => {
    const expected = createHash('sha256').update(fs.readFileSync(file())).digest('hex');
    const usual = digests({});
    expect(usual).toEqual({ status: 0, stdout: expect.stringMatching(/^(openssl|sha256sum)\n/), stderr: '' });
    expect(usual.stdout.split('\n').slice(1)).toEqual([expected, expected, '']);
    expect(digests({ PATH: noOpenssl })).toEqual({
      status: 0,
      stdout: `sha256sum\n${expected}\n${expected}\n`,
      stderr: '',
    });
  });
});
