import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Manifest } from '../../../ops/manifest';
import type { Topology } from '../../../lib/topology';
import { docker, execIn, IMAGES, Sandbox, waitFor } from '../helpers/docker';

/**
 * A Kytes stack in which only PostgreSQL is real: GitLab and MongoDB members are stand-ins whose
 * fake binaries (fake/README.md) record their calls and move real data. Every container, volume and
 * network takes its name from the topology, as the ops scripts expect. Shared by the ops
 * integration test and the backup benchmark.
 */

const FAKE_DIR = path.join(__dirname, 'fake');

export interface FakeImages {
  readonly gitlab: string;
  readonly mongo: string;
}

/** Builds the stand-in images on top of the local kytes-test images (no registry needed). */
export async function buildFakeImages(tag: string): Promise<FakeImages> {
  const images = { gitlab: `kytes-it-ops/fake-gitlab:${tag}`, mongo: `kytes-it-ops/fake-mongo:${tag}` };
  await docker(['build', '-q', '-t', images.gitlab, path.join(FAKE_DIR, 'gitlab')], { timeoutMs: 300_000 });
  await docker(['build', '-q', '-t', images.mongo, path.join(FAKE_DIR, 'mongo')], { timeoutMs: 300_000 });
  return images;
}

export async function removeFakeImages(images: FakeImages): Promise<void> {
  await docker(['rmi', '-f', images.gitlab, images.mongo]).catch(() => undefined);
}

export interface FakeStack {
  readonly t: Topology;
  /** Passwords the containers hold; tests check none of them leaks into outputs or logs. */
  readonly secrets: readonly string[];
  /** Container of the Mongo member that answers as primary. */
  readonly mongoPrimary?: string;
}

const password = () => randomBytes(18).toString('base64url');

/** psql as the superuser over the container's local socket, statements on stdin. */
export function psql(t: Topology, db: string, sql: string): Promise<string> {
  return execIn(t.postgres.container, ['psql', '-U', 'postgres', '-d', db, '-XAtq', '-v', 'ON_ERROR_STOP=1'], {
    stdin: sql,
  });
}

/** Starts PostgreSQL (real), the GitLab instances, Mongo members and Rocket.Chat (stand-ins). */
export async function startFakeStack(
  t: Topology,
  sandbox: Sandbox,
  images: FakeImages,
  opts: { mongoPrimaryIndex?: number } = {},
): Promise<FakeStack> {
  const secrets: string[] = [];
  await sandbox.network(t.network.name);
  const pgPassword = password();
  secrets.push(pgPassword);
  await sandbox.volume(t.postgres.data.name);
  await sandbox.run({
    name: t.postgres.container,
    image: IMAGES.postgres,
    network: t.network.name,
    aliases: [t.postgres.alias],
    env: { POSTGRES_PASSWORD: pgPassword },
    mounts: [{ source: t.postgres.data.name, target: t.postgres.data.containerPath }],
  });
  await waitFor(async () => (await psql(t, 'postgres', 'SELECT 1;')).trim() === '1', {
    timeoutMs: 60_000,
    what: 'PostgreSQL answering',
  });

  for (const g of t.gitlab) {
    const dbPassword = password();
    secrets.push(dbPassword);
    await psql(
      t,
      'postgres',
      `CREATE ROLE "${g.database.user}" LOGIN PASSWORD '${dbPassword}';\nCREATE DATABASE "${g.database.name}" OWNER "${g.database.user}";\n`,
    );
    await sandbox.volume(g.volumes.config.name);
    await sandbox.volume(g.volumes.data.name);
    await sandbox.run({
      name: g.container,
      image: images.gitlab,
      network: t.network.name,
      aliases: [g.alias],
      env: {
        FAKE_DB_HOST: t.postgres.alias,
        FAKE_DB_USER: g.database.user,
        FAKE_DB_NAME: g.database.name,
        PGPASSWORD: dbPassword,
      },
      mounts: [
        { source: g.volumes.config.name, target: g.volumes.config.containerPath },
        { source: g.volumes.data.name, target: g.volumes.data.containerPath },
      ],
    });
  }

  let mongoPrimary: string | undefined;
  if (t.mongo) {
    const rootPassword = password();
    secrets.push(rootPassword);
    const primaryIndex = opts.mongoPrimaryIndex ?? 0;
    for (const m of t.mongo.members) {
      await sandbox.volume(m.data.name);
      await sandbox.run({
        name: m.container,
        image: images.mongo,
        network: t.network.name,
        aliases: [m.alias],
        env: {
          KYTES_MONGO_ROOT_USERNAME: t.mongo.rootUser,
          KYTES_MONGO_ROOT_PASSWORD: rootPassword,
          FAKE_REPLICA_SET: t.mongo.replicaSet,
        },
        mounts: [{ source: m.data.name, target: m.data.containerPath }],
      });
      if (m.index === primaryIndex) {
        await execIn(m.container, ['touch', '/data/db/PRIMARY']);
        mongoPrimary = m.container;
      }
    }
  }
  if (t.rocketchat) {
    await sandbox.volume(t.rocketchat.uploads.name);
    await sandbox.run({
      name: t.rocketchat.container,
      image: IMAGES.base,
      network: t.network.name,
      aliases: [t.rocketchat.alias],
      mounts: [{ source: t.rocketchat.uploads.name, target: t.rocketchat.uploads.containerPath }],
      cmd: ['bash', '-c', "trap 'exit 0' TERM; sleep infinity & wait"],
    });
  }
  // `pulumi up` returns only once each GitLab container is healthy (the Docker provider's `wait`), and the
  // ops scripts refuse one still starting: so does this stand-in stack.
  for (const g of t.gitlab) {
    await waitFor(
      async () => (await docker(['inspect', '-f', '{{.State.Health.Status}}', g.container])).trim() === 'healthy',
      { timeoutMs: 120_000, what: `${g.container} healthy` },
    );
  }
  return { t, secrets, mongoPrimary };
}

/** Puts recognisable data everywhere a backup must reach. `rows` sizes the GitLab databases. */
export async function seedData(stack: FakeStack, rows = 20_000): Promise<void> {
  const { t } = stack;
  for (const g of t.gitlab) {
    await execIn(
      g.container,
      ['bash', '-c', 'psql -h "$FAKE_DB_HOST" -U "$FAKE_DB_USER" -d "$FAKE_DB_NAME" -XAtq -v ON_ERROR_STOP=1'],
      {
        stdin: `CREATE TABLE projects (id int PRIMARY KEY, name text NOT NULL, created timestamptz NOT NULL);
INSERT INTO projects SELECT i, 'project-' || i || '-' || md5(i::text), '2026-01-01'::timestamptz + i * interval '1 minute' FROM generate_series(1, ${Math.ceil(rows / 10)}) i;
CREATE TABLE issues (id bigint PRIMARY KEY, project_id int REFERENCES projects(id), title text, body text);
INSERT INTO issues SELECT i, 1 + i % ${Math.ceil(rows / 10)}, 'issue ' || i, repeat(md5(i::text), 4) FROM generate_series(1, ${rows}) i;
`,
      },
    );
    await execIn(g.container, [
      'bash',
      '-c',
      `set -e
printf "external_url 'http://%s'\\n" ${JSON.stringify(g.hostname)} >/etc/gitlab/gitlab.rb
head -c 600 /dev/urandom | base64 -w0 | sed 's/^/{"gitlab_rails":{"db_key_base":"/; s/$/"}}/' >/etc/gitlab/gitlab-secrets.json
chmod 0600 /etc/gitlab/gitlab-secrets.json
head -c 400 /dev/urandom | base64 >/etc/gitlab/ssh_host_ed25519_key && chmod 0600 /etc/gitlab/ssh_host_ed25519_key
mkdir -p /var/opt/gitlab/git-data/repositories/group/project.git/objects
head -c 200000 /dev/urandom >/var/opt/gitlab/git-data/repositories/group/project.git/objects/pack-1.pack
echo 'ref: refs/heads/main' >/var/opt/gitlab/git-data/repositories/group/project.git/HEAD
chown -R git:git /var/opt/gitlab/git-data
mkdir -p /var/opt/gitlab/gitlab-rails/uploads/@hashed/6b/86
head -c 50000 /dev/urandom >/var/opt/gitlab/gitlab-rails/uploads/@hashed/6b/86/screenshot.png
chown -R git:git /var/opt/gitlab/gitlab-rails/uploads`,
    ]);
  }
  await psql(t, 'postgres', 'CREATE ROLE kytes_it_reader NOLOGIN;\n');
  if (stack.mongoPrimary) {
    await execIn(stack.mongoPrimary, [
      'bash',
      '-c',
      // One file per collection (fake/README.md); admin holds the users, Rocket.Chat's included.
      'mkdir -p /data/db/fake/rocketchat /data/db/fake/admin && head -c 300000 /dev/urandom >/data/db/fake/rocketchat/rocketchat_message.bson && head -c 90000 /dev/urandom >/data/db/fake/rocketchat/rocketchat_uploads.chunks.bson && head -c 2000 /dev/urandom >/data/db/fake/admin/system.users.bson',
    ]);
  }
  if (t.rocketchat) {
    const up = t.rocketchat.uploads.containerPath;
    await execIn(t.rocketchat.container, [
      'bash',
      '-c',
      `mkdir -p ${up}/2026/11 && head -c 120000 /dev/urandom >${up}/2026/11/avatar.png && echo hello >${up}/notes.txt && chown 65533:65533 ${up}/2026/11/avatar.png && chmod 0640 ${up}/notes.txt`,
    ]);
  }
}

/** Content, owner and mode of every file under a path in a running container. */
export async function treeChecksum(container: string, dir: string): Promise<string> {
  return execIn(container, [
    'bash',
    '-c',
    `cd ${dir} && find . -mindepth 1 ! -path './backups*' -printf '%p %y %m %U:%G\\n' | LC_ALL=C sort && find . -type f ! -path './backups*' -exec sha256sum {} + | LC_ALL=C sort`,
  ]);
}

/** Every table's name and full content of one GitLab database, hashed in order. */
export async function databaseChecksum(t: Topology, db: string): Promise<string> {
  const tables = (
    await psql(t, db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename;\n")
  )
    .trim()
    .split('\n');
  const sums: string[] = [];
  for (const table of tables.filter((x) => x.length > 0)) {
    sums.push(
      `${table} ${(await psql(t, db, `SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM "${table}" x;\n`)).trim()}`,
    );
  }
  return sums.join('\n');
}

/** The state a restore must bring back, in one comparable object. */
export async function liveState(stack: FakeStack): Promise<Record<string, string>> {
  const { t } = stack;
  const state: Record<string, string> = {};
  for (const g of t.gitlab) {
    state[`db ${g.database.name}`] = await databaseChecksum(t, g.database.name);
    state[`${g.container}:/etc/gitlab`] = await treeChecksum(g.container, g.volumes.config.containerPath);
    state[`${g.container}:/var/opt/gitlab`] = await treeChecksum(g.container, g.volumes.data.containerPath);
  }
  state.roles = await psql(
    t,
    'postgres',
    "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolname !~ '^pg_';\n",
  );
  if (stack.mongoPrimary) state.mongo = await treeChecksum(stack.mongoPrimary, '/data/db/fake');
  if (t.rocketchat) state.uploads = await treeChecksum(t.rocketchat.container, t.rocketchat.uploads.containerPath);
  return state;
}

export interface OpsRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The last line of an ops script's output: the new backup id on stdout, the one failure line on stderr. */
export const lastLine = (s: string): string => s.trim().split('\n').pop() as string;

/** The manifest of backup `id` in `backupDir`. */
export function readManifest(backupDir: string, id: string): Manifest {
  return JSON.parse(fs.readFileSync(path.join(backupDir, id, 'manifest.json'), 'utf8')) as Manifest;
}

/** Every record of the invocation log in `backupDir` (one JSON line per run), oldest first. */
export function invocationRecords(backupDir: string): Record<string, unknown>[] {
  return fs
    .readFileSync(path.join(backupDir, 'invocations.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs an installed ops script with bash, as cron would (no terminal, stdin closed). */
export function runOps(
  bin: string,
  script: string,
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<OpsRun> & { child: ChildProcess } {
  // detached: its own process group, so a test can kill the whole run as a cron stop would.
  const child = spawn('bash', [path.join(bin, script), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<OpsRun>((resolve) =>
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })),
  );
  return Object.assign(done, { child });
}

/** Lines of a fake binary's call log. */
export async function calls(container: string, log: 'gitlab' | 'mongo'): Promise<string[]> {
  const text = await execIn(container, ['bash', '-c', `cat /var/log/fake-${log}/calls.log 2>/dev/null || true`]);
  return text.split('\n').filter((l) => l.length > 0);
}
