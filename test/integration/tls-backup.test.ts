import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configSchema } from '../../lib/config';
import { nginxCommand } from '../../lib/nginx';
import { deriveTopology, Topology } from '../../lib/topology';
import { Manifest } from '../../ops/manifest';
import { renderOpsScripts } from '../../ops/scripts';
import { docker, IMAGES, requireImages, Sandbox } from './helpers/docker';
import { buildFakeImages, FakeImages, removeFakeImages, runOps, seedData, startFakeStack } from './ops/fake-stack';

/**
 * The TLS volume (certbot's account key and certificates) travels in backups: the real kytes-backup
 * archives it and records it in the manifest; kytes-restore puts it back and reloads nginx. The stack is
 * the ops tests' fake one (real PostgreSQL, stand-in GitLab) with a real nginx container.
 */

jest.setTimeout(600_000);

const hex = randomBytes(3).toString('hex');
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-tlsbk-'));
const BIN = path.join(ROOT, 'bin');
const BACKUPS = path.join(ROOT, 'backups');
const t: Topology = deriveTopology(
  configSchema.parse({
    prefix: `kytes-ittls-${hex}`,
    domain: 'kytes-bk.test',
    gitlab: { instances: [{ name: 'main', sshPort: 2222 }] },
    rocketchat: { enabled: false },
    images: { nginx: IMAGES.nginx },
    backup: { dir: BACKUPS },
    tls: { mode: 'acme', acme: { email: 'ops@kytes-bk.test', directory: 'https://ca.kytes-bk.test/dir' } },
  }),
  'ittls',
);
const sandbox = new Sandbox();
let images: FakeImages;

const inVolume = (script: string) =>
  docker(['run', '--rm', '--entrypoint', 'sh', '-v', `${t.tls.volume!.name}:/v`, IMAGES.nginx, '-c', script]);

beforeAll(async () => {
  await requireImages([IMAGES.base, IMAGES.postgres, IMAGES.nginx]);
  images = await buildFakeImages(`tls${hex}`);
  fs.mkdirSync(BIN);
  const options = { keepLast: 6, keepDaily: 7, keepWeekly: 4, projectCommit: 'c0ffee1', projectDirty: false };
  for (const [name, content] of Object.entries(renderOpsScripts(t, options)))
    fs.writeFileSync(path.join(BIN, name), content, { mode: 0o755 });
  await seedData(await startFakeStack(t, sandbox, images));
  await sandbox.volume(t.tls.volume!.name);
  // What certbot leaves: an account key and a lineage, with a relative symlink into archive/.
  await inVolume(
    'mkdir -p /v/letsencrypt/accounts/acme /v/letsencrypt/archive/h /v/letsencrypt/live/h /v/serve && ' +
      'echo account-key > /v/letsencrypt/accounts/acme/private_key.json && echo cert-1 > /v/letsencrypt/archive/h/fullchain1.pem && ' +
      'ln -s ../../archive/h/fullchain1.pem /v/letsencrypt/live/h/fullchain.pem && ln -s ../letsencrypt/live/h /v/serve/h',
  );
  // nginx as the program runs it (`nginx -c` on its config path); a minimal config stands in for the
  // TLS one, which would need the certificates this test does not issue. Restore reloads it.
  const conf = path.join(ROOT, 'nginx.conf');
  fs.writeFileSync(conf, 'events {}\nhttp {\n    server {\n        listen 80;\n    }\n}\n');
  await sandbox.run({
    name: t.nginx.container,
    image: IMAGES.nginx,
    network: t.network.name,
    aliases: [t.nginx.alias],
    mounts: [{ type: 'bind', source: conf, target: t.nginx.configPath, readonly: true }],
    cmd: nginxCommand(t.nginx),
  });
}, 600_000);

afterAll(async () => {
  await sandbox.cleanup();
  if (images) await removeFakeImages(images);
  fs.rmSync(ROOT, { recursive: true, force: true });
}, 300_000);

it('kytes-backup archives the TLS volume and kytes-restore brings it back', async () => {
  const backup = await runOps(BIN, 'kytes-backup', [], { KYTES_HEALTH_TIMEOUT: '60' });
  expect(backup.stderr).toContain(`TLS certificates: volume ${t.tls.volume!.name}`);
  expect(backup.status).toBe(0);
  const id = backup.stdout.trim().split('\n').pop() as string;
  const manifest = JSON.parse(fs.readFileSync(path.join(BACKUPS, id, 'manifest.json'), 'utf8')) as Manifest;
  expect(manifest.tls).toEqual({ volume: t.tls.volume!.name, archive: 'tls.tar' });
  expect(manifest.artifacts.map((a) => a.file)).toContain('tls.tar');

  // The volume is lost (a new host, say): restore puts back the account key and the certificates.
  await inVolume('rm -rf /v/* && echo other > /v/stray');
  const restore = await runOps(BIN, 'kytes-restore', [id, '--yes', '--no-safety-backup'], {
    KYTES_HEALTH_TIMEOUT: '60',
  });
  expect(restore.stderr).toContain(`TLS: replacing the content of volume ${t.tls.volume!.name}`);
  expect(restore.status).toBe(0);
  expect(await inVolume('cat /v/letsencrypt/accounts/acme/private_key.json /v/serve/h/fullchain.pem; ls /v')).toBe(
    'account-key\ncert-1\nletsencrypt\nserve\n',
  );
  // Reloaded, not restarted: it keeps running.
  expect((await docker(['inspect', '-f', '{{.State.Running}}', t.nginx.container])).trim()).toBe('true');
});
