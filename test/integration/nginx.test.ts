import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { NGINX_HEALTH_PATH, nginxCommand, nginxHealthcheckCommand, renderNginxConfig } from '../../lib/nginx';
import { NginxServer, Topology } from '../../lib/topology';
import { docker, execIn, IMAGES, requireImages, Sandbox, uniqueName, waitFor } from './helpers/docker';
import { freePort, get, upgrade } from './fixtures/nginx/http-client';
import { stackValues, stackValuesArb, topologyOf } from './fixtures/nginx/stacks';
import { echoUpstream } from './fixtures/upstream/echo';

/** Generated configs checked by `nginx -t`, from a fixed seed so a failure reproduces. */
const GENERATED_CONFIGS = 20;
const SEED = 20261122;

/** Runs `nginx -t -q -c` on every `*.conf` of `dir` inside one kytes-test/nginx container; one line per file. */
async function nginxTestAll(sandbox: Sandbox, dir: string): Promise<string[]> {
  const name = uniqueName('nginx-t');
  // No network: an upstream name nginx tried to resolve at load time would fail here, as in CI.
  await sandbox.run({
    name,
    image: IMAGES.nginx,
    network: 'none',
    mounts: [{ type: 'bind', source: dir, target: '/kytes-configs', readonly: true }],
    cmd: ['sleep', 'infinity'],
  });
  const script =
    'for f in /kytes-configs/*.conf; do out=$(nginx -t -q -c "$f" 2>&1); rc=$?; ' +
    'printf "%s %s %s\\n" "$(basename "$f")" "$rc" "$(printf %s "$out" | tr "\\n" " ")"; done';
  const out = await execIn(name, ['bash', '-c', script]);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.trimEnd());
}

describe('nginx -t on rendered configs (kytes-test/nginx)', () => {
  const sandbox = new Sandbox();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-nginx-t-'));

  beforeAll(() => requireImages([IMAGES.nginx]));
  afterAll(async () => {
    await sandbox.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`accepts the dev and prod stacks and ${GENERATED_CONFIGS} generated configs`, async () => {
    const files: string[] = [];
    for (const stack of ['dev', 'prod'] as const) {
      // Plain HTTP here: prod's HTTPS config names certificate files, tested in tls-files.test.ts.
      const values = { ...stackValues(stack), tls: { mode: 'off' } };
      fs.writeFileSync(path.join(dir, `${stack}.conf`), renderNginxConfig(topologyOf(values, stack).nginx));
      files.push(`${stack}.conf`);
    }
    fc.sample(stackValuesArb, { numRuns: GENERATED_CONFIGS, seed: SEED }).forEach((values, i) => {
      const file = `gen-${String(i).padStart(2, '0')}.conf`;
      fs.writeFileSync(path.join(dir, file), renderNginxConfig(topologyOf(values, 'gen').nginx));
      files.push(file);
    });

    const results = await nginxTestAll(sandbox, dir);

    expect(results).toEqual(files.sort().map((f) => `${f} 0`));
    expect(results).toHaveLength(2 + GENERATED_CONFIGS);
  });

  it('rejects the same config with a literal upstream host (the trap the resolver avoids)', async () => {
    const negative = fs.mkdtempSync(path.join(dir, 'literal-'));
    const conf = renderNginxConfig(topologyOf(stackValues('dev'), 'dev').nginx);
    const literal = conf.replace('proxy_pass $upstream_gitlab_main;', 'proxy_pass http://gitlab-main:80;');
    expect(literal).not.toBe(conf);
    fs.writeFileSync(path.join(negative, 'literal.conf'), literal);

    const [line] = await nginxTestAll(sandbox, negative);

    expect(line).toMatch(
      /^literal\.conf 1 .*\[emerg\] .*host not found in upstream "gitlab-main" in \/kytes-configs\/literal\.conf:\d+ /,
    );
  });
});

/** Identity an upstream stand-in reports: the container name the real service would have. */
interface Service {
  readonly server: NginxServer;
  readonly container: string;
}

function servicesOf(t: Topology): Service[] {
  return t.nginx.servers.map((server) => {
    const container =
      server.kind === 'rocketchat' ? t.rocketchat?.container : t.gitlab.find((g) => g.name === server.name)?.container;
    if (!container) throw new Error(`no container for ${server.kind} ${server.name}`);
    return { server, container };
  });
}

interface Seen {
  identity: string;
  port: number;
  method: string;
  path: string;
  headers: Record<string, string>;
}

describe('nginx in front of stand-in upstreams on the stack network', () => {
  const sandbox = new Sandbox();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-nginx-live-'));
  let t: Topology;
  let port: number;
  let services: Service[];
  /** Left down when nginx starts: nginx must start anyway and route to it once it exists. */
  let late: Service;

  const startUpstream = (s: Service) => sandbox.run(echoUpstream(t, s.container, s.server.upstream));
  const upstreamReady = (s: Service) =>
    waitFor(
      () =>
        execIn(s.container, ['curl', '-fsS', '-o', '/dev/null', `http://127.0.0.1:${s.server.upstream.port}/`]).then(
          () => true,
        ),
      { timeoutMs: 30_000, what: `${s.container} answering` },
    );

  beforeAll(async () => {
    await requireImages([IMAGES.nginx, IMAGES.base]);
    port = await freePort();
    t = topologyOf(
      {
        ...stackValues('dev'),
        prefix: uniqueName('ngx'),
        proxy: { httpPort: port, bindAddress: '127.0.0.1' },
        gitlab: {
          instances: [
            { name: 'main', sshPort: 2222 },
            { name: 'another', sshPort: 2223 },
          ],
        },
        rocketchat: { enabled: true },
      },
      'it',
    );
    services = servicesOf(t);
    late = services[1];
    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(conf, renderNginxConfig(t.nginx));

    await sandbox.network(t.network.name);
    for (const s of services) if (s !== late) await startUpstream(s);
    await sandbox.run({
      name: t.nginx.container,
      image: IMAGES.nginx,
      network: t.network.name,
      aliases: [t.nginx.alias],
      mounts: [{ type: 'bind', source: conf, target: t.nginx.configPath, readonly: true }],
      cmd: nginxCommand(t.nginx),
      ports: [{ container: t.nginx.listenPort, host: t.nginx.publishedPort, hostIp: t.nginx.bindAddress }],
    });
    await waitFor(() => execIn(t.nginx.container, nginxHealthcheckCommand(t.nginx).slice(1)).then(() => true), {
      timeoutMs: 30_000,
      what: 'the nginx healthcheck',
    });
    for (const s of services) if (s !== late) await upstreamReady(s);
  });

  afterAll(async () => {
    await sandbox.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts and passes its healthcheck while an upstream container does not exist', async () => {
    await expect(docker(['container', 'inspect', late.container])).rejects.toThrow(/No such container/i);
    expect((await docker(['inspect', '-f', '{{.State.Running}}', t.nginx.container])).trim()).toBe('true');
    const health = await get(port, `127.0.0.1:${port}`, NGINX_HEALTH_PATH);
    expect([health.status, health.body]).toEqual([200, 'ok']);
  });

  it('routes each server_name to its own upstream with the forwarding headers', async () => {
    const live = services.filter((s) => s !== late);
    const uri = '/api/v4/projects/group%2Fproject/repository/files/a%2Fb.txt?ref=main';
    for (const s of live) {
      const reply = await get(port, `${s.server.serverName}:${port}`, uri, { 'X-Forwarded-For': '203.0.113.7' });
      expect(reply.status).toBe(200);
      const seen = JSON.parse(reply.body) as Seen;
      const realIp = seen.headers['x-real-ip'];
      expect(realIp).toMatch(/^\d{1,3}(\.\d{1,3}){3}$/);
      expect({
        identity: seen.identity,
        port: seen.port,
        path: seen.path,
        host: seen.headers.host,
        forwardedFor: seen.headers['x-forwarded-for'],
        proto: seen.headers['x-forwarded-proto'],
        forwardedHost: seen.headers['x-forwarded-host'],
        forwardedPort: seen.headers['x-forwarded-port'],
        ssl: seen.headers['x-forwarded-ssl'],
        connection: seen.headers.connection,
        upgrade: seen.headers.upgrade,
      }).toEqual({
        identity: s.container,
        port: s.server.upstream.port,
        path: uri,
        host: `${s.server.serverName}:${port}`,
        forwardedFor: `203.0.113.7, ${realIp}`,
        proto: 'http',
        forwardedHost: s.server.serverName,
        forwardedPort: String(port),
        ssl: 'off',
        connection: 'close',
        upgrade: undefined,
      });
    }
    expect(live.map((s) => s.server.serverName)).toEqual(['gitlab.kytes.localhost', 'rocketchat.kytes.localhost']);
  });

  it('passes a WebSocket upgrade through to Rocket.Chat and GitLab', async () => {
    for (const s of services.filter((x) => x !== late)) {
      const key = randomBytes(16).toString('base64');
      const reply = await upgrade(port, `${s.server.serverName}:${port}`, '/websocket', key);
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      const h = reply.headers;
      expect([
        reply.status,
        h['x-echo-identity'],
        h['x-echo-upgrade'],
        h['x-echo-connection'],
        h['sec-websocket-accept'],
      ]).toEqual([101, s.container, 'websocket', 'upgrade', accept]);
    }
  });

  it('answers an unknown Host with 404 from the default server', async () => {
    for (const host of [`unknown.kytes.localhost:${port}`, `127.0.0.1:${port}`, `gitlab.${t.domain}.evil.test`]) {
      const reply = await get(port, host, '/users/sign_in');
      expect([reply.status, reply.body]).toEqual([404, 'kytes: unknown host\n']);
    }
  });

  it('answers 502 for an upstream that does not exist yet, then routes to it once it starts', async () => {
    const host = `${late.server.serverName}:${port}`;
    const down = await get(port, host, '/');
    expect(down.status).toBe(502);

    const started = Date.now();
    await startUpstream(late);
    const seen = await waitFor(
      async () => {
        const r = await get(port, host, '/');
        return r.status === 200 ? (JSON.parse(r.body) as Seen) : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 1_000, what: `${late.server.serverName} routed to ${late.container}` },
    );
    console.log(
      `nginx routed to ${late.container} ${((Date.now() - started) / 1000).toFixed(1)} s after it was started`,
    );
    expect([seen.identity, seen.headers.host]).toEqual([late.container, host]);
    expect((await docker(['inspect', '-f', '{{.State.Running}}', t.nginx.container])).trim()).toBe('true');
  });
});
