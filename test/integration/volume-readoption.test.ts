/**
 * Issue requirement: a named volume kept through `pulumi destroy` (containers removed,
 * volume retained) is re-adopted with its data when the stack is created again under the
 * same name. Pulumi's docker provider creates volumes with a plain `docker volume create
 * NAME`, which Docker answers with the existing volume, so re-adoption needs no import step.
 *
 * It also pins down the trap the README must explain: the postgres image only reads
 * POSTGRES_PASSWORD when it initialises an empty data directory, so a re-adopted volume
 * keeps the first password and silently ignores a new one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { IMAGES, GiveUp, Sandbox, docker, execIn, requireImages, uniqueName, waitFor } from './helpers/docker';

// jest.config.js sets testTimeout on the `integration` project, but Jest 30 only applies the
// global option, so without this every test and hook here would get the 5 s default.
jest.setTimeout(300_000);

const sandbox = new Sandbox();
afterAll(() => sandbox.cleanup());

const ROWS = 1000;
// Random per run: no credential is committed, and a stale volume from an earlier run
// could never authenticate by accident.
const FIRST_PASSWORD = randomBytes(12).toString('hex');
const SECOND_PASSWORD = randomBytes(12).toString('hex');

/** What `SELECT … FROM kept` must hash to, computed independently of PostgreSQL. */
const EXPECTED_MD5 = createHash('md5')
  .update(Array.from({ length: ROWS }, (_, i) => `${i + 1}:row-${i + 1}`).join(','))
  .digest('hex');
const CHECKSUM_SQL = `SELECT count(*) || ' ' || md5(string_agg(id || ':' || payload, ',' ORDER BY id)) FROM kept`;

interface VolumeInfo {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  Scope: string;
}

async function inspectVolume(name: string): Promise<VolumeInfo> {
  const [info] = JSON.parse(await docker(['volume', 'inspect', name])) as VolumeInfo[];
  return info;
}

describe('named postgres volume retained through destroy', () => {
  let network: string;
  let client: string;

  /** psql over the network from a separate container, i.e. the way GitLab connects (password checked). */
  const psql = (server: string, password: string, sql: string): Promise<string> =>
    execIn(
      client,
      ['psql', '-h', server, '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qtA', '-c', sql],
      {
        env: { PGPASSWORD: password },
      },
    ).then((out) => out.trim());

  async function startPostgres(name: string, volume: string, password: string): Promise<void> {
    await sandbox.run({
      name,
      image: IMAGES.postgres,
      network,
      env: { POSTGRES_PASSWORD: password },
      mounts: [{ source: volume, target: '/var/lib/postgresql/data' }],
    });
    await waitFor(
      async () => {
        const state = (await docker(['inspect', '-f', '{{.State.Status}}', name])).trim();
        if (state !== 'running')
          throw new GiveUp(`container ${state}: ${await docker(['logs', '--tail', '30', name]).catch(String)}`);
        // Via TCP from the client: ready for real connections, not just the init-time socket.
        await execIn(client, ['pg_isready', '-q', '-h', name, '-U', 'postgres']);
        return true;
      },
      { timeoutMs: 90_000, intervalMs: 300, what: `${name} accepting connections` },
    );
  }

  beforeAll(async () => {
    await requireImages([IMAGES.postgres]);
    network = await sandbox.network(uniqueName('net'));
    client = uniqueName('psql');
    // The image's entrypoint passes non-postgres commands through, so it doubles as a psql client.
    await sandbox.run({ name: client, image: IMAGES.postgres, network, cmd: ['sleep', 'infinity'] });
  });

  it('re-adopts the volume with its data, and keeps the first-boot password', async () => {
    const volume = await sandbox.volume(uniqueName('pgdata'));
    const created = await inspectVolume(volume);

    // First life: initialise the cluster and write known rows.
    const first = uniqueName('pg-first');
    await startPostgres(first, volume, FIRST_PASSWORD);
    await psql(
      first,
      FIRST_PASSWORD,
      `CREATE TABLE kept (id int PRIMARY KEY, payload text NOT NULL);
       INSERT INTO kept SELECT i, 'row-' || i FROM generate_series(1, ${ROWS}) AS i;`,
    );
    expect(await psql(first, FIRST_PASSWORD, CHECKSUM_SQL)).toBe(`${ROWS} ${EXPECTED_MD5}`);
    const systemId = await psql(first, FIRST_PASSWORD, 'SELECT system_identifier FROM pg_control_system()');
    expect(systemId).toMatch(/^\d+$/);

    // `pulumi destroy` with the volume retained: the provider force-removes the container
    // (SIGKILL, no clean shutdown) together with anonymous volumes; the named volume stays.
    await docker(['rm', '-f', '-v', first]);
    expect((await docker(['volume', 'ls', '-q'])).split('\n')).toContain(volume);

    // `pulumi up` again: the same create call must succeed and hand back the same volume,
    // untouched. (The local driver reports the _data directory's mtime as CreatedAt, so
    // it moved while postgres ran; compare against the state just before re-creation.)
    const retained = await inspectVolume(volume);
    expect(retained.Mountpoint).toBe(created.Mountpoint);
    expect((await docker(['volume', 'create', volume])).trim()).toBe(volume);
    expect(await inspectVolume(volume)).toEqual(retained);

    // Second life, deliberately given a different password.
    const second = uniqueName('pg-second');
    await startPostgres(second, volume, SECOND_PASSWORD);
    expect(await psql(second, FIRST_PASSWORD, CHECKSUM_SQL)).toBe(`${ROWS} ${EXPECTED_MD5}`);
    // Same cluster, not a fresh initdb that happened to be given the same rows.
    expect(await psql(second, FIRST_PASSWORD, 'SELECT system_identifier FROM pg_control_system()')).toBe(systemId);
    // The new POSTGRES_PASSWORD was ignored: data-directory state wins over container env.
    await expect(psql(second, SECOND_PASSWORD, 'SELECT 1')).rejects.toThrow(
      /password authentication failed for user "postgres"/,
    );
  });
});
