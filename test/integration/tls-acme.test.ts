import { execFile } from 'child_process';
import { randomInt } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { nginxCommand, nginxHealthcheckCommand, renderNginxConfig } from '../../lib/nginx';
import { Topology } from '../../lib/topology';
import { renderTlsScript } from '../../lib/tls-script';
import { TestCa } from '../helpers/certs';
import { freePort } from './fixtures/nginx/http-client';
import { stackValues, topologyOf } from './fixtures/nginx/stacks';
import { echoUpstreams } from './fixtures/upstream/echo';
import { httpsGet, openStream, Target } from './fixtures/tls/https-client';
import {
  containerStartedAt,
  docker,
  execIn,
  IMAGES,
  requireImages,
  Sandbox,
  uniqueName,
  waitFor,
} from './helpers/docker';

/**
 * ACME for real: certbot (the test image's, in place of certbot/certbot) asks pebble, Let's Encrypt's
 * test server, for a certificate for every hostname of a generated stack. Pebble resolves the names
 * through dnsmasq to the nginx container and fetches the HTTP-01 token from nginx's port 80, which
 * serves it from the webroot volume: the challenge goes through nginx, nothing is stubbed. Everything
 * on the Docker host side is the real `kytes-tls` script.
 */

const execFileP = promisify(execFile);
const PEBBLE = 'pebble';

interface Run {
  readonly code: number;
  readonly out: string;
}

describe('ACME with certbot and pebble through the real nginx', () => {
  const sandbox = new Sandbox();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-acme-'));
  const ca = new TestCa('Kytes pebble listener CA');
  let t: Topology;
  let target: Target;
  let script: string;
  let pebbleRoot: string;
  let nginxIp: string;

  const kytesTls = async (...args: string[]): Promise<Run> => {
    try {
      const { stdout, stderr } = await execFileP('bash', [script, ...args], { timeout: 300_000, maxBuffer: 16 << 20 });
      return { code: 0, out: stdout + stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof err.code === 'number' ? err.code : -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
    }
  };
  const hosts = () => t.tls.certificates.map((c) => c.hostname);
  const startNginx = async (conf: string) => {
    const acme = t.tls.acme!;
    await sandbox.run({
      name: t.nginx.container,
      image: IMAGES.nginx,
      network: t.network.name,
      aliases: [t.nginx.alias],
      mounts: [
        { type: 'bind', source: conf, target: t.nginx.configPath, readonly: true },
        { source: t.tls.volume!.name, target: t.tls.volume!.containerPath, readonly: true },
        { source: acme.webroot.name, target: acme.webroot.containerPath, readonly: true },
      ],
      cmd: nginxCommand(t.nginx),
      ports: [
        { container: t.nginx.listenPort, host: t.nginx.publishedPort, hostIp: t.nginx.bindAddress },
        { container: t.nginx.https!.listenPort, host: t.nginx.https!.publishedPort, hostIp: t.nginx.bindAddress },
      ],
    });
    await waitFor(() => execIn(t.nginx.container, nginxHealthcheckCommand(t.nginx).slice(1)).then(() => true), {
      timeoutMs: 30_000,
      what: 'the nginx healthcheck',
    });
    nginxIp = (
      await docker([
        'inspect',
        '-f',
        `{{(index .NetworkSettings.Networks "${t.network.name}").IPAddress}}`,
        t.nginx.container,
      ])
    ).trim();
  };
  const serials = async () => {
    const out: Record<string, string> = {};
    for (const h of hosts()) out[h] = (await httpsGet({ ...target, ca: pebbleRoot }, h, '/')).peer.serial;
    return out;
  };

  beforeAll(async () => {
    await requireImages([IMAGES.nginx, IMAGES.base, IMAGES.acme]);
    const prefix = uniqueName('acme').replace(/^kytes-it-/, 'kit-');
    // Port 80 as Let's Encrypt uses it, published on a loopback address of its own; HTTPS on a free port.
    const address = `127.${randomInt(100, 250)}.${randomInt(1, 250)}.${randomInt(2, 250)}`;
    const httpsPort = await freePort();
    const pebbleCert = ca.leaf({ names: [PEBBLE] });
    t = topologyOf(
      {
        ...stackValues('dev'),
        prefix,
        domain: 'kytes-it.test',
        proxy: { httpPort: 80, httpsPort, bindAddress: address },
        gitlab: {
          instances: [
            { name: 'main', sshPort: 2222 },
            { name: 'another', sshPort: 2223 },
          ],
        },
        rocketchat: { enabled: true },
        images: { nginx: IMAGES.nginx },
        tls: {
          mode: 'acme',
          acme: {
            email: 'ops@kytes-it.test',
            directory: `https://${PEBBLE}:14000/dir`,
            caBundle: ca.certPem,
            image: IMAGES.acme,
          },
        },
      },
      'it',
    );
    target = { address, port: httpsPort, ca: '' };
    script = path.join(dir, 'kytes-tls');
    fs.writeFileSync(script, renderTlsScript(t), { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'nginx.conf'), renderNginxConfig(t.nginx));
    fs.mkdirSync(path.join(dir, 'pebble'));
    fs.writeFileSync(path.join(dir, 'pebble', 'cert.pem'), pebbleCert.leafPem);
    fs.writeFileSync(path.join(dir, 'pebble', 'key.pem'), pebbleCert.keyPem);
    fs.writeFileSync(
      path.join(dir, 'pebble', 'pebble.json'),
      JSON.stringify({
        pebble: {
          listenAddress: '0.0.0.0:14000',
          managementListenAddress: '0.0.0.0:15000',
          certificate: '/pebble/cert.pem',
          privateKey: '/pebble/key.pem',
          // Where the validation authority connects for HTTP-01: port 80, as Let's Encrypt does.
          httpPort: 80,
          tlsPort: 443,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    );

    await sandbox.network(t.network.name);
    await sandbox.volume(t.tls.volume!.name);
    await sandbox.volume(t.tls.acme!.webroot.name);
    for (const upstream of echoUpstreams(t)) await sandbox.run(upstream);
  }, 300_000);

  afterAll(async () => {
    await sandbox.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
    ca.remove();
  });

  it('prepare gives every name a self-signed stand-in, so nginx starts before any certificate exists', async () => {
    const prepared = await kytesTls('prepare');
    expect(prepared).toMatchObject({ code: 0 });
    for (const h of hosts()) expect(prepared.out).toContain(`${h}: self-signed stand-in`);
    await startNginx(path.join(dir, 'nginx.conf'));
    // The stand-in is served (and not trusted by anyone): the handshake works with its own name.
    const stand = await docker([
      'exec',
      t.nginx.container,
      'curl',
      '-sk',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--resolve',
      `${hosts()[0]}:${t.nginx.https!.listenPort}:127.0.0.1`,
      `https://${hosts()[0]}:${t.nginx.https!.listenPort}/`,
    ]);
    expect(stand).toBe('200');
  }, 120_000);

  it('issue obtains a certificate for every hostname from pebble over HTTP-01 through nginx', async () => {
    // dnsmasq answers for the stack's names only, with the nginx container's address.
    const dns = hosts()
      .map((h) => `--address=/${h}/${nginxIp}`)
      .join(' ');
    await sandbox.run({
      name: `${t.prefix}-pebble`,
      image: IMAGES.acme,
      network: t.network.name,
      aliases: [PEBBLE],
      entrypoint: 'bash',
      env: { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
      mounts: [{ type: 'bind', source: path.join(dir, 'pebble'), target: '/pebble', readonly: true }],
      cmd: [
        '-c',
        `dnsmasq --keep-in-foreground --user=root --no-resolv --no-hosts --listen-address=127.0.0.1 --port=5353 --bind-interfaces --log-queries ${dns} &
         exec pebble -config /pebble/pebble.json -dnsserver 127.0.0.1:5353`,
      ],
    });
    await waitFor(
      () =>
        execIn(t.nginx.container, ['curl', '-fsk', '-o', '/dev/null', `https://${PEBBLE}:14000/dir`]).then(() => true),
      { timeoutMs: 30_000, what: 'pebble answering' },
    );

    const started = Date.now();
    const issued = await kytesTls('issue');
    console.log(`kytes-tls issue: ${hosts().length} certificates in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(issued.out).not.toMatch(/error/);
    expect(issued.code).toBe(0);
    expect(issued.out).toContain('nginx reloaded');

    // Each token was fetched from nginx on port 80 by pebble's validation authority.
    const logs = await docker(['logs', t.nginx.container]);
    for (const h of hosts())
      expect(logs).toMatch(
        new RegExp(` ${h.replace(/\./g, '\\.')} "GET /\\.well-known/acme-challenge/[A-Za-z0-9_-]+ HTTP/1\\.1" 200 `),
      );
  }, 300_000);

  it('serves HTTPS for every name with a chain that verifies against pebble’s root', async () => {
    pebbleRoot = await execIn(t.nginx.container, ['curl', '-fsk', `https://${PEBBLE}:15000/roots/0`]);
    expect(pebbleRoot).toContain('BEGIN CERTIFICATE');
    for (const s of t.nginx.servers) {
      const reply = await httpsGet({ ...target, ca: pebbleRoot }, s.serverName, '/api/v4/version');
      const seen = JSON.parse(reply.body) as { identity: string; headers: Record<string, string> };
      expect([
        reply.status,
        reply.peer.subject,
        seen.headers['x-forwarded-proto'],
        seen.headers['x-forwarded-port'],
      ]).toEqual([200, s.serverName, 'https', String(t.nginx.publicPort)]);
      expect(reply.peer.issuer).toMatch(/Pebble/);
    }
    // A name nginx does not serve gets no certificate at all.
    await expect(httpsGet({ ...target, ca: pebbleRoot }, 'other.kytes-it.test', '/')).rejects.toThrow();
  }, 60_000);

  it('redirects plain HTTP to HTTPS on the public port, keeping the path', async () => {
    const out = await docker([
      'exec',
      t.nginx.container,
      'curl',
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code} %{redirect_url}',
      '-H',
      `Host: ${hosts()[0]}`,
      'http://127.0.0.1:80/users/sign_in?x=1',
    ]);
    expect(out).toBe(`308 https://${hosts()[0]}:${t.nginx.publicPort}/users/sign_in?x=1`);
  }, 30_000);

  it('a forced renewal reloads nginx, and a long-lived connection survives the reload', async () => {
    const before = await serials();
    const startedAt = await containerStartedAt(t.nginx.container);
    const stream = openStream({ ...target, ca: pebbleRoot }, hosts()[0], '/stream?lines=500&interval_ms=100');
    const streamPeer = await stream.peer;
    await waitFor(async () => stream.lines().length >= 5, { timeoutMs: 15_000, what: 'the stream to start' });

    const renewed = await kytesTls('renew', '--force');
    expect(renewed.out).toContain('nginx reloaded');
    expect(renewed.code).toBe(0);
    const atReload = stream.lines().length;
    // The old worker keeps the stream while it shuts down; new workers serve new connections.
    const ps = await waitFor(
      async () => {
        const out = await execIn(t.nginx.container, ['ps', '-eo', 'args']);
        return /worker process is shutting down/.test(out) ? out : undefined;
      },
      { timeoutMs: 30_000, what: 'an old nginx worker shutting down gracefully' },
    );
    const lines = await stream.done;

    console.log(`stream: ${atReload} of 500 lines received when nginx reloaded; all ${lines.length} arrived after it`);
    expect(atReload).toBeLessThan(500);
    expect(ps).toMatch(/worker process is shutting down/);
    expect(lines).toEqual(Array.from({ length: 500 }, (_, i) => `${t.gitlab[0].container} line ${i}`));
    expect(streamPeer.serial).toBe(before[hosts()[0]]);
    const after = await serials();
    for (const h of hosts()) expect(after[h]).not.toBe(before[h]);
    expect(await containerStartedAt(t.nginx.container)).toBe(startedAt);
  }, 400_000);

  it('destroy + up keeps the certificates: no new issuance, the same certificates served', async () => {
    const before = await serials();
    // `pulumi destroy` removes the containers and the webroot; the TLS volume is retained.
    await docker(['rm', '-f', t.nginx.container]);
    await docker(['volume', 'rm', t.tls.acme!.webroot.name]);
    await sandbox.volume(t.tls.acme!.webroot.name);

    const prepared = await kytesTls('prepare');
    expect(prepared.code).toBe(0);
    expect(prepared.out).not.toContain('stand-in');
    await startNginx(path.join(dir, 'nginx.conf'));
    const issued = await kytesTls('issue');
    expect(issued.code).toBe(0);
    expect(issued.out).toContain('every name already has its certificate; nothing requested');
    expect(issued.out).not.toContain('requesting');
    expect(await serials()).toEqual(before);
  }, 300_000);

  it('status lists every name with its expiry', async () => {
    const status = await kytesTls('status');
    expect(status.code).toBe(0);
    for (const h of hosts())
      expect(status.out).toMatch(
        new RegExp(`^${h.replace(/\./g, '\\.')} +acme +\\d{4}-\\d{2}-\\d{2} \\(\\d+ d\\) .*Pebble`, 'm'),
      );
  }, 60_000);
});
