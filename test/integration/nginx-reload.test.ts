import { spawnSync } from 'child_process';
import { applyNginxConfigScript } from '../../components/nginx';
import { nginxCommand, renderNginxConfig } from '../../lib/nginx';
import { Topology } from '../../lib/topology';
import { docker, execIn, IMAGES, requireImages, Sandbox, uniqueName, waitFor } from './helpers/docker';
import { freePort, get } from './fixtures/nginx/http-client';
import { topologyOf } from './fixtures/nginx/stacks';

/**
 * nginx's config is written into its own volume and reloaded in place by the step the program registers
 * (`applyNginxConfigScript`, run here by bash exactly as the local Command runs it): commissioning an
 * instance reaches the running nginx without replacing its container or restarting its master, and a
 * config nginx refuses never replaces the one it serves. Real nginx (kytes-test/nginx), real engine.
 */
jest.setTimeout(180_000);

const sandbox = new Sandbox();
let port: number;

function topology(prefix: string, instances: string[]): Topology {
  return topologyOf(
    {
      prefix,
      domain: 'kytes.localhost',
      proxy: { httpPort: port, bindAddress: '127.0.0.1' },
      gitlab: { instances: instances.map((name, i) => ({ name, sshPort: 40022 + i })) },
      rocketchat: { enabled: false },
      images: { nginx: IMAGES.nginx },
    },
    'it',
  );
}

/** Runs the step's script with the config on stdin, as pulumi-command's local Command does. */
function apply(t: Topology, config: string): { status: number | null; stderr: string } {
  const r = spawnSync('/bin/bash', ['-c', applyNginxConfigScript(t)], { input: config, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

const status = async (host: string) => (await get(port, host, '/')).status;
const masterPid = async (container: string) => (await execIn(container, ['cat', '/proc/1/stat'])).split(' ')[0];

let t1: Topology;
let t2: Topology;
let id: string;

beforeAll(async () => {
  await requireImages([IMAGES.nginx]);
  port = await freePort();
  const prefix = uniqueName('reload')
    .replace(/^kytes-it-/, 'kr-')
    .slice(0, 30);
  t1 = topology(prefix, ['main']);
  t2 = topology(prefix, ['main', 'lab']);
  await sandbox.network(t1.network.name);
  await sandbox.volume(t1.nginx.configVolume.name);
  // Before the container exists: the config is put in place for its first start.
  const first = apply(t1, renderNginxConfig(t1.nginx));
  expect([first.status, first.stderr]).toEqual([0, '']);
  id = await sandbox.run({
    name: t1.nginx.container,
    image: IMAGES.nginx,
    network: t1.network.name,
    aliases: [t1.nginx.alias],
    mounts: [{ source: t1.nginx.configVolume.name, target: t1.nginx.configVolume.containerPath, readonly: true }],
    cmd: nginxCommand(t1.nginx),
    ports: [{ container: t1.nginx.listenPort, host: t1.nginx.publishedPort, hostIp: t1.nginx.bindAddress }],
  });
  await waitFor(() => get(port, 'localhost', '/nginx-health').then((r) => r.status === 200), {
    timeoutMs: 30_000,
    what: 'nginx serving the config from its volume',
  });
});

afterAll(() => sandbox.cleanup());

it('serves the config from its volume: a configured name is routed (502: no upstream), another is not (404)', async () => {
  expect(await status('gitlab.kytes.localhost')).toBe(502);
  expect(await status('gitlab-lab.kytes.localhost')).toBe(404);
});

it('commissioning an instance: the new server block is served after a reload, same container, same master', async () => {
  const pid = await masterPid(t1.nginx.container);
  const r = apply(t2, renderNginxConfig(t2.nginx));
  expect(r.status).toBe(0);
  expect(r.stderr).toContain('reloaded its config');
  await waitFor(() => status('gitlab-lab.kytes.localhost').then((s) => s === 502), {
    timeoutMs: 15_000,
    what: 'the lab server block to be served',
  });
  expect(await status('gitlab.kytes.localhost')).toBe(502);
  expect((await docker(['container', 'inspect', '-f', '{{.Id}}', t1.nginx.container])).trim()).toBe(id.trim());
  expect(await masterPid(t1.nginx.container)).toBe(pid);
});

it('a config nginx refuses changes nothing: the step fails with one line, nginx keeps serving what it had', async () => {
  const served = await execIn(t1.nginx.container, ['cat', t1.nginx.configPath]);
  const r = apply(t2, renderNginxConfig(t2.nginx).replace('server_tokens off;', 'server_tokens maybe;'));
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(`the new nginx config does not pass nginx -t in ${t1.nginx.container}`);
  expect(await execIn(t1.nginx.container, ['cat', t1.nginx.configPath])).toBe(served);
  expect(await status('gitlab-lab.kytes.localhost')).toBe(502);
});
