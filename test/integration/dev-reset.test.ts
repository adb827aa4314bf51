/**
 * `npm run dev:reset` against the real engine: it lists exactly the stack's volumes (label
 * `kytes.prefix=<prefix>` and name `<prefix>-…`), refuses while the stack has containers or nobody can
 * confirm, and deletes only those volumes once confirmed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { reset, ResetError } from '../../scripts/dev-reset';
import { IMAGES, Sandbox, docker, requireImages, uniqueName } from './helpers/docker';

jest.setTimeout(300_000);

const sandbox = new Sandbox();
let dir: string;
let prefix: string;
let other: string;

const created: string[] = [];
/** A volume labelled the way Kytes' volume helper labels the stack's volumes. */
async function labelledVolume(name: string, owner: string): Promise<string> {
  created.push(name);
  await docker([
    'volume',
    'create',
    '--label',
    `kytes.prefix=${owner}`,
    '--label',
    'kytes.retain-on-delete=true',
    name,
  ]);
  return name;
}

const exists = async (name: string) =>
  (await docker(['volume', 'ls', '--filter', `name=^${name}$`, '--format', '{{.Name}}'])).trim() === name;

beforeAll(async () => {
  await requireImages([IMAGES.base]);
  prefix = uniqueName('reset').slice(0, 40).replace(/-+$/, '');
  other = `${prefix}x`;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-reset-'));
  fs.writeFileSync(path.join(dir, 'Pulumi.dev.yaml'), `config:\n  kytes:prefix: ${prefix}\n`);
  await labelledVolume(`${prefix}-postgres-data`, prefix);
  await labelledVolume(`${prefix}-gitlab-main-data`, prefix);
  // nginx's config volume is the current config's too, though no data service holds it.
  await labelledVolume(`${prefix}-nginx-config`, prefix);
  // Left by a decommissioned instance: still the stack's, though not in the current config.
  await labelledVolume(`${prefix}-gitlab-old-data`, prefix);
  // Not the stack's: another prefix that starts the same way, and an unlabelled volume with its name.
  await labelledVolume(`${other}-postgres-data`, other);
  await sandbox.volume(`${prefix}-unlabelled`);
});

afterAll(async () => {
  await sandbox.cleanup();
  for (const v of created) await docker(['volume', 'rm', '-f', v]).catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

const STACK_VOLUMES = () => [
  `${prefix}-gitlab-main-data`,
  `${prefix}-gitlab-old-data`,
  `${prefix}-nginx-config`,
  `${prefix}-postgres-data`,
];

describe('npm run dev:reset', () => {
  it('refuses while a container of the stack exists, deleting nothing', async () => {
    // Stopped, as after a failed destroy: it still pins the stack, so it still counts.
    const name = `${prefix}-postgres`;
    await docker(['create', '--name', name, '--label', `kytes.prefix=${prefix}`, IMAGES.base, 'true']);
    try {
      await expect(reset({ dir, stack: 'dev', yes: true, out: () => undefined })).rejects.toThrow(
        new ResetError(`the dev stack still has containers (${name}): run npm run dev:down first; nothing was deleted`),
      );
    } finally {
      await docker(['rm', '-f', name]);
    }
    for (const v of STACK_VOLUMES()) expect(await exists(v)).toBe(true);
  });

  it('lists exactly the stack volumes, and without a terminal or --yes deletes nothing', async () => {
    const out: string[] = [];
    await expect(reset({ dir, stack: 'dev', yes: false, out: (l) => out.push(l) })).rejects.toThrow(
      'not a terminal, so nobody can confirm: run again with --yes to delete them; nothing was deleted',
    );
    expect(out).toEqual([
      `dev-reset: the dev stack (prefix ${prefix}) has 4 volumes on unix:///var/run/docker.sock:`,
      `  ${prefix}-gitlab-main-data`,
      `  ${prefix}-gitlab-old-data   (not in the current config: left by an earlier one)`,
      `  ${prefix}-nginx-config`,
      `  ${prefix}-postgres-data`,
    ]);
    for (const v of STACK_VOLUMES()) expect(await exists(v)).toBe(true);
  });

  it('asks on a terminal: a wrong answer deletes nothing', async () => {
    const questions: string[] = [];
    const ask = async (q: string) => {
      questions.push(q);
      return 'yes';
    };
    await expect(reset({ dir, stack: 'dev', yes: false, ask, out: () => undefined })).rejects.toThrow(
      'not confirmed; nothing was deleted',
    );
    expect(questions).toEqual([`Delete these 4 volumes and all their data? Type ${prefix} to confirm: `]);
    for (const v of STACK_VOLUMES()) expect(await exists(v)).toBe(true);
  });

  it('confirmed with the prefix: deletes the stack volumes and nothing else', async () => {
    const out: string[] = [];
    const deleted = await reset({ dir, stack: 'dev', yes: false, ask: async () => prefix, out: (l) => out.push(l) });
    expect(deleted).toEqual(STACK_VOLUMES());
    for (const v of STACK_VOLUMES()) expect(await exists(v)).toBe(false);
    expect(await exists(`${other}-postgres-data`)).toBe(true);
    expect(await exists(`${prefix}-unlabelled`)).toBe(true);
    expect(out.slice(-1)).toEqual([
      `dev-reset: backups in /var/backups/kytes/${prefix} are kept; delete them by hand if you want them gone too`,
    ]);
  });

  it('nothing left: says so', async () => {
    const out: string[] = [];
    expect(await reset({ dir, stack: 'dev', yes: true, out: (l) => out.push(l) })).toEqual([]);
    expect(out).toEqual([
      `dev-reset: no volume of the dev stack (prefix ${prefix}) on unix:///var/run/docker.sock; nothing to delete`,
    ]);
  });
});
