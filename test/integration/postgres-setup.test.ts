import { execFile } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import {
  GITLAB_PG_EXTENSIONS,
  postgresCommand,
  postgresPasswordEnv,
  renderPostgresSetup,
} from '../../lib/postgres-setup';
import { Topology } from '../../lib/topology';
import { docker, IMAGES, requireImages, Sandbox, uniqueName, waitFor } from './helpers/docker';
import { stackValues, topologyOf } from './fixtures/nginx/stacks';

/**
 * The rendered setup SQL against a real PostgreSQL (kytes-test/postgres:trixie: Debian trixie's 17, the
 * major the product pins). Passwords reach psql only through the environment:
 * they are put in the docker CLI's environment and passed as `docker exec -e NAME` (name only, no value).
 */

const execFileP = promisify(execFile);

/** A password that needs quoting in SQL and in a shell: it must still arrive intact. */
const newPassword = () => `p'w"\\ ${randomBytes(12).toString('base64url')}`;

describe('postgres setup SQL on a real PostgreSQL', () => {
  const sandbox = new Sandbox();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-pg-'));
  let t: Topology;
  let sql: string;
  let container: string;
  const envNames: string[] = [];
  const passwords = new Map<string, string>();
  const allPasswordsEverUsed: string[] = [];

  const setPassword = (instance: string, value: string) => {
    passwords.set(instance, value);
    allPasswordsEverUsed.push(value);
  };

  /**
   * `docker <args>` whose environment carries the passwords. Jest gives the test its own copy of
   * process.env, which child processes do not inherit, so the env is handed over explicitly.
   */
  const dockerWithEnv = (args: readonly string[], env: Record<string, string>, stdin = '') => {
    const run = execFileP('docker', [...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
    run.child.stdin?.end(stdin);
    return run.then(
      (r) => r.stdout,
      (e: { stderr?: string; code?: number }) => {
        throw new Error(`docker ${args.join(' ')} failed (exit ${String(e.code)}): ${String(e.stderr).trim()}`);
      },
    );
  };

  /** `docker exec -i -e NAME… <pg> psql -v ON_ERROR_STOP=1 -U postgres -d postgres` with the SQL on stdin. */
  const runSetup = (names: readonly string[] = envNames) =>
    dockerWithEnv(
      [
        'exec',
        '-i',
        ...names.flatMap((n) => ['-e', n]),
        container,
        'psql',
        '-v',
        'ON_ERROR_STOP=1',
        '-U',
        'postgres',
        '-d',
        'postgres',
      ],
      Object.fromEntries(t.gitlab.map((g) => [postgresPasswordEnv(g.name), passwords.get(g.name) ?? ''])),
      sql,
    );

  const query = (db: string, q: string) =>
    docker(['exec', container, 'psql', '-X', '-At', '-U', 'postgres', '-d', db, '-c', q]);

  const ROLES =
    "SELECT oid, rolname, rolsuper, rolcanlogin FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%' ORDER BY rolname";
  const DATABASES =
    'SELECT oid, datname, pg_get_userbyid(datdba), pg_encoding_to_char(encoding) FROM pg_database ORDER BY datname';
  const EXTENSIONS = 'SELECT oid, extname, extversion FROM pg_extension ORDER BY extname';

  /** Everything a re-run must leave alone, with oids so a drop-and-recreate would show. */
  const snapshot = async () => ({
    roles: await query('postgres', ROLES),
    databases: await query('postgres', DATABASES),
    extensions: await Promise.all(t.gitlab.map((g) => query(g.database.name, EXTENSIONS))),
  });

  /** Logs in over TCP as the instance's role with its current password (in the CLI's env, as PGPASSWORD). */
  const loginAs = (instance: string) => {
    const g = t.gitlab.find((x) => x.name === instance);
    if (!g) throw new Error(instance);
    const q =
      'SELECT current_user, current_database(), (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database())';
    const psql = ['psql', '-X', '-At', '-h', '127.0.0.1', '-U', g.database.user, '-d', g.database.name, '-c', q];
    return dockerWithEnv(['exec', '-e', 'PGPASSWORD', container, ...psql], {
      PGPASSWORD: passwords.get(instance) ?? '',
    });
  };

  beforeAll(async () => {
    await requireImages([IMAGES.postgres]);
    t = topologyOf(
      {
        ...stackValues('prod'),
        prefix: uniqueName('pg'),
        gitlab: {
          instances: [
            { name: 'main', sshPort: 2222 },
            { name: 'another', sshPort: 2223 },
            { name: 'team-a', sshPort: 2224 },
          ],
        },
      },
      'it',
    );
    sql = renderPostgresSetup(t);
    container = t.postgres.container;
    for (const g of t.gitlab) {
      envNames.push(postgresPasswordEnv(g.name));
      setPassword(g.name, newPassword());
    }
    // The superuser password goes in through a file, like a Docker secret, never on a command line;
    // world-readable because the entrypoint reads it after dropping to the postgres user (test-only value).
    const superFile = path.join(dir, 'postgres-password');
    fs.writeFileSync(superFile, randomBytes(24).toString('base64url'), { mode: 0o644 });

    await sandbox.network(t.network.name);
    await sandbox.run({
      name: container,
      image: IMAGES.postgres,
      network: t.network.name,
      aliases: [t.postgres.alias],
      env: { POSTGRES_PASSWORD_FILE: '/run/kytes/postgres-password' },
      mounts: [{ type: 'bind', source: superFile, target: '/run/kytes/postgres-password', readonly: true }],
      // The server command the Postgres component gives the container: sizing from the stack's shape.
      cmd: postgresCommand(t.postgres),
    });
    await waitFor(() => query('postgres', 'SELECT 1').then((o) => o.trim() === '1'), {
      timeoutMs: 60_000,
      what: 'PostgreSQL accepting connections',
    });
  });

  afterAll(async () => {
    await sandbox.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs with max_connections and shared_buffers from the connection budget (not the image default of 100)', async () => {
    // Three standard instances: 3 × 230 + 3 superuser slots = 693; sized for the 4 planned instances by
    // default, 4 × 230 + 3 = 923, rounded up to 1000, and 4 × 256 MB of buffers.
    expect([t.postgres.budget.required, t.postgres.maxConnections, t.postgres.sharedBuffersMB]).toEqual([
      693, 1000, 1024,
    ]);
    expect((await query('postgres', 'SHOW max_connections')).trim()).toBe('1000');
    expect((await query('postgres', 'SHOW shared_buffers')).trim()).toBe('1GB');
  });

  it('runs on a PostgreSQL new enough for \\getenv', async () => {
    expect(Number(await query('postgres', 'SHOW server_version_num'))).toBeGreaterThanOrEqual(150000);
  });

  it('creates each GitLab role, its database and the four extensions on the first run', async () => {
    await runSetup();
    const snap = await snapshot();
    const rows = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((l) => l.split('|').slice(1));
    expect(rows(snap.roles)).toEqual([
      ['gitlab_another', 'f', 't'],
      ['gitlab_main', 'f', 't'],
      ['gitlab_team_a', 'f', 't'],
      ['postgres', 't', 't'],
    ]);
    expect(rows(snap.databases)).toEqual([
      ['gitlabhq_another', 'gitlab_another', 'UTF8'],
      ['gitlabhq_main', 'gitlab_main', 'UTF8'],
      ['gitlabhq_team_a', 'gitlab_team_a', 'UTF8'],
      ['postgres', 'postgres', 'UTF8'],
      ['template0', 'postgres', 'UTF8'],
      ['template1', 'postgres', 'UTF8'],
    ]);
    expect(snap.extensions).toHaveLength(t.gitlab.length);
    expect(t.gitlab).toHaveLength(3);
    for (const ext of snap.extensions) expect(rows(ext).map((r) => r[0])).toEqual([...GITLAB_PG_EXTENSIONS].sort());
  });

  it('lets each GitLab role log in over TCP with its password, as owner of its database', async () => {
    for (const g of t.gitlab) {
      expect((await loginAs(g.name)).trim()).toBe(`${g.database.user}|${g.database.name}|${g.database.user}`);
    }
  });

  it('refuses a wrong password (the login check can fail)', async () => {
    const right = passwords.get('main') ?? '';
    passwords.set('main', `${right}-wrong`);
    try {
      await expect(loginAs('main')).rejects.toThrow(/password authentication failed for user "gitlab_main"/);
    } finally {
      passwords.set('main', right);
    }
  });

  it('changes nothing on a second run', async () => {
    const before = await snapshot();
    await runSetup();
    expect(await snapshot()).toEqual(before);
    expect((await query('postgres', 'SHOW max_connections')).trim()).toBe(String(t.postgres.maxConnections));
    expect((await loginAs('main')).trim()).toBe('gitlab_main|gitlabhq_main|gitlab_main');
  });

  it('re-sets a password that changed in the environment (kept data after destroy + up)', async () => {
    const old = passwords.get('another') ?? '';
    const before = await snapshot();
    setPassword('another', newPassword());
    await runSetup();
    expect(await snapshot()).toEqual(before);
    expect((await loginAs('another')).trim()).toBe('gitlab_another|gitlabhq_another|gitlab_another');
    const current = passwords.get('another') ?? '';
    passwords.set('another', old);
    await expect(loginAs('another')).rejects.toThrow(/password authentication failed/);
    passwords.set('another', current);
  });

  it('refuses a GitLab database whose default isolation is not read committed', async () => {
    await query('postgres', `ALTER DATABASE gitlabhq_main SET default_transaction_isolation = 'serializable'`);
    try {
      await expect(runSetup()).rejects.toThrow(
        'default_transaction_isolation is serializable in gitlabhq_main; GitLab needs read committed',
      );
    } finally {
      await query('postgres', 'ALTER DATABASE gitlabhq_main RESET default_transaction_isolation');
    }
    await runSetup();
  });

  it('stops with a clear error when a password variable is missing or empty', async () => {
    const missing = postgresPasswordEnv('team-a');
    await expect(runSetup(envNames.filter((n) => n !== missing))).rejects.toThrow(
      `environment variable ${missing} is not set (password of role gitlab_team_a)`,
    );
    const right = passwords.get('main') ?? '';
    passwords.set('main', '');
    try {
      await expect(runSetup()).rejects.toThrow(
        'environment variable KYTES_PG_PASSWORD_MAIN is empty (password of role gitlab_main)',
      );
    } finally {
      passwords.set('main', right);
    }
    expect((await loginAs('main')).trim()).toBe('gitlab_main|gitlabhq_main|gitlab_main');
  });

  it('never writes a password to the SQL text or the server log', async () => {
    // `docker logs` replays the container's stderr (where PostgreSQL logs) on its own stderr.
    const { stdout, stderr } = await execFileP('docker', ['logs', container], {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    const serverLog = stdout + stderr;
    expect(serverLog).toContain('ERROR:  environment variable KYTES_PG_PASSWORD_TEAM_A is not set');
    // PostgreSQL logs a failing statement's text by default (the failed isolation check shows it does);
    // the script turns that off in the session that handles passwords, so nothing of that part is logged.
    expect(serverLog).toContain('STATEMENT:  DO $$');
    expect(serverLog).not.toMatch(/STATEMENT:.*KYTES_PG_PASSWORD/);
    expect(allPasswordsEverUsed).toHaveLength(t.gitlab.length + 1);
    for (const pw of allPasswordsEverUsed) {
      expect([sql.includes(pw), serverLog.includes(pw)]).toEqual([false, false]);
    }
  });
});
