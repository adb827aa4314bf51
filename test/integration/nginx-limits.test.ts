import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { renderNginxConfig } from '../../lib/nginx';
import { execIn, IMAGES, requireImages, Sandbox, uniqueName } from './helpers/docker';
import { stackValues, topologyOf } from './fixtures/nginx/stacks';

/**
 * nginx's `variables_hash_bucket_size` is computed from the longest upstream variable name (lib/
 * topology/nginx.ts, from ngx_hash.c's element size). Checked with the real nginx: a GitLab instance
 * name of 54 characters (the longest its PostgreSQL names allow) passes `nginx -t` with the computed size, and the same
 * file with nginx's default of 64 fails with "could not build variables_hash" — the limit is real.
 */
const sandbox = new Sandbox();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-nginx-limits-'));

afterAll(async () => {
  await sandbox.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('a 54-character instance name (the longest PostgreSQL allows): the computed bucket passes nginx -t, the default does not', async () => {
  await requireImages([IMAGES.nginx]);
  const name = `a${'b'.repeat(53)}`;
  const values = {
    ...stackValues('dev'),
    gitlab: { instances: [{ name, sshPort: 2222, hostname: 'gitlab.kytes.localhost' }] },
  };
  const conf = renderNginxConfig(topologyOf(values, 'dev').nginx);
  expect(conf).toContain('variables_hash_bucket_size 128;');
  fs.writeFileSync(path.join(dir, 'computed.conf'), conf);
  fs.writeFileSync(
    path.join(dir, 'default.conf'),
    conf.replace('variables_hash_bucket_size 128;', 'variables_hash_bucket_size 64;'),
  );

  const container = uniqueName('nginx-limits');
  await sandbox.run({
    name: container,
    image: IMAGES.nginx,
    network: 'none',
    mounts: [{ type: 'bind', source: dir, target: '/kytes-configs', readonly: true }],
    cmd: ['sleep', 'infinity'],
  });
  const test = (file: string) =>
    execIn(container, ['bash', '-c', `nginx -t -q -c /kytes-configs/${file} 2>&1; echo "rc=$?"`]);
  expect((await test('computed.conf')).trim()).toBe('rc=0');
  const refused = await test('default.conf');
  expect(refused).toMatch(/could not build variables_hash, you should increase variables_hash_bucket_size: 64/);
  expect(refused.trim().endsWith('rc=1')).toBe(true);
}, 300_000);
