import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Topology } from '../../lib/topology';
import { parseVersion } from '../../lib/versions';
import { gitlabGuardScript, postgresGuardScript } from '../../ops/upgradeGuard';
import { docker, IMAGES, requireImages, Sandbox, uniqueName, waitFor } from './helpers/docker';
import { stackValues, topologyOf } from './fixtures/nginx/stacks';

/**
 * The upgrade guards' scripts against a real Docker engine: they read real volumes through real images
 * (read-only, offline) and leave them untouched. PostgreSQL is real (Debian trixie's 17 in kytes-test/postgres:trixie);
 * the "newer" PostgreSQL and the GitLab images are stand-ins that answer `postgres --version` and hold
 * /opt/gitlab/version-manifest.txt as the real ones do. The decisions themselves are tested exhaustively in
 * test/upgrade-guard.test.ts.
 */
jest.setTimeout(600_000);

const sandbox = new Sandbox();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-guard-'));
const scripts = path.join(dir, 'opt');
const backups = path.join(dir, 'backups');
const prefix = uniqueName('guard');
const images = { pg18: `${prefix}/postgres18:t`, gitlab: `${prefix}/gitlab:t` };
let base: Topology;

function run(script: string) {
  return spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 300_000 });
}
async function build(tag: string, dockerfile: string): Promise<void> {
  const ctx = fs.mkdtempSync(path.join(dir, 'ctx-'));
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), dockerfile);
  await docker(['build', '-q', '-t', tag, ctx], { timeoutMs: 300_000 });
}
/** Writes files into a volume through the base image. */
async function seed(volume: string, file: string, content: string): Promise<void> {
  await docker([
    'run',
    '--rm',
    '-v',
    `${volume}:/d`,
    '-e',
    `KYTES_CONTENT=${content}`,
    IMAGES.base,
    'sh',
    '-c',
    `mkdir -p "$(dirname /d/${file})" && printf '%s\\n' "$KYTES_CONTENT" > /d/${file}`,
  ]);
}
const volumeExists = (v: string) =>
  docker(['volume', 'inspect', v]).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  await requireImages([IMAGES.base, IMAGES.postgres]);
  fs.mkdirSync(scripts);
  fs.mkdirSync(backups);
  fs.writeFileSync(
    path.join(scripts, 'kytes-backup'),
    // Answers --help as the installed kytes-backup does (the guard reads it for --skip-uncreated); records a backup.
    `#!/bin/bash\nif [ "$1" = --help ]; then echo 'usage: kytes-backup [--label LABEL] [--no-offhost] [--no-prune] [--skip-uncreated] [--scheduled]'; exit 0; fi\necho "$*" >> ${backups}/calls\necho 20261130T120000Z-preupgrade\n`,
    { mode: 0o755 },
  );
  const t = topologyOf({ ...stackValues('dev'), prefix }, 'it');
  base = { ...t, ops: { ...t.ops, scriptsDir: scripts, backupDir: backups } };
  await build(
    images.pg18,
    `FROM ${IMAGES.base}\nRUN printf '#!/bin/sh\\necho "postgres (PostgreSQL) 18.1 (Debian 18.1-1.pgdg13+2)"\\n' > /usr/local/bin/postgres && chmod 0755 /usr/local/bin/postgres\n`,
  );
  await build(
    images.gitlab,
    `FROM ${IMAGES.base}\nRUN mkdir -p /opt/gitlab && printf 'gitlab-ce 19.3.0\\ngitlab-rails 0123abc\\n' > /opt/gitlab/version-manifest.txt\n`,
  );
});

afterAll(async () => {
  await sandbox.cleanup();
  await docker(['rmi', '-f', images.pg18, images.gitlab]).catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('PostgreSQL guard on a real cluster', () => {
  const withImage = (image: string, major: string): Topology => ({
    ...base,
    postgres: { ...base.postgres, image },
    versions: { ...base.versions, postgres: parseVersion(major)! },
  });

  it('passes before the volume exists, and does not create it', async () => {
    const r = run(postgresGuardScript(withImage(IMAGES.postgres, '17')));
    expect([r.status, r.stdout.trim()]).toEqual([0, `kytes: PostgreSQL: no volume ${base.postgres.data.name} yet`]);
    expect(await volumeExists(base.postgres.data.name)).toBe(false);
  });

  it('reads PG_VERSION of a real data directory: same major passes, a new major is refused', async () => {
    const volume = await sandbox.volume(base.postgres.data.name);
    const c = uniqueName('guard-pg');
    await sandbox.run({
      name: c,
      image: IMAGES.postgres,
      env: { POSTGRES_PASSWORD: 'guard-test-only' },
      mounts: [{ source: volume, target: base.postgres.data.containerPath }],
    });
    await waitFor(
      () => docker(['exec', c, 'psql', '-U', 'postgres', '-Atc', 'SELECT 1']).then((o) => o.trim() === '1'),
      { timeoutMs: 60_000, what: 'PostgreSQL up' },
    );
    const major = (await docker(['exec', c, 'cat', '/etc/kytes-pg-major'])).trim();
    await docker(['stop', c]);

    const same = run(postgresGuardScript(withImage(IMAGES.postgres, major)));
    expect([same.status, same.stdout.trim()]).toEqual([
      0,
      `kytes: PostgreSQL: data and image are both PostgreSQL ${major}`,
    ]);

    const newer = run(postgresGuardScript(withImage(images.pg18, '18')));
    expect(newer.status).toBe(1);
    expect(newer.stderr).toContain(
      `the PostgreSQL data in ${volume} was written by PostgreSQL ${major}, and ${images.pg18} is PostgreSQL 18, which cannot open it`,
    );
    // Untouched: the old server starts on it again.
    await docker(['start', c]);
    await waitFor(
      () =>
        docker(['exec', c, 'psql', '-U', 'postgres', '-Atc', 'SHOW server_version_num']).then((o) =>
          o.trim().startsWith(major),
        ),
      { timeoutMs: 60_000, what: 'PostgreSQL up again' },
    );
  });
});

describe('GitLab guard on a real volume', () => {
  const t = (): Topology => ({
    ...base,
    gitlab: base.gitlab.map((g) => ({ ...g, image: images.gitlab })),
    versions: { ...base.versions, gitlab: parseVersion('19.3.0')! },
  });
  const volume = () => base.gitlab[0].volumes.data.name;

  it('refuses a jump across a stop, reading the installed version from the volume', async () => {
    await sandbox.volume(volume());
    await seed(volume(), 'gitlab-rails/VERSION', '18.10.2');
    const r = run(gitlabGuardScript(t()));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('GitLab main runs 18.10.2; 19.3.0 is past the required upgrade stop(s) 18.11 19.2');
    expect(fs.existsSync(path.join(backups, 'calls'))).toBe(false);
  });

  it('takes the pre-upgrade backup before an allowed upgrade', async () => {
    await seed(volume(), 'gitlab-rails/VERSION', '19.2.4');
    const r = run(gitlabGuardScript(t()));
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(fs.readFileSync(path.join(backups, 'calls'), 'utf8')).toBe('--label preupgrade --skip-uncreated\n');
    expect(r.stdout).toContain('kytes: backup before upgrading GitLab main 19.2.4 -> 19.3.0');
  });
});
