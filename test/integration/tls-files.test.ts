import { execFile } from 'child_process';
import { randomInt } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import fc from 'fast-check';
import { parseConfig } from '../../lib/config';
import { nginxCommand, nginxHealthcheckCommand, renderNginxConfig } from '../../lib/nginx';
import { deriveTopology, Topology } from '../../lib/topology';
import { renderTlsScript } from '../../lib/tls-script';
import { days, Pair, TestCa } from '../helpers/certs';
import { freePort } from './fixtures/nginx/http-client';
import { StackValues, stackValues, topologyOf } from './fixtures/nginx/stacks';
import { echoUpstreams, upstreamContainerOf } from './fixtures/upstream/echo';
import { httpsGet, Target } from './fixtures/tls/https-client';
import { tlsStackValuesArb } from './fixtures/tls/stacks';
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
 * `files` mode with openssl-made certificates: the rendered configs pass `nginx -t`, the real nginx serves
 * every name over HTTPS with its certificate (files on the Docker host, checked and copied by the real
 * `kytes-tls`, and a PEM pair from stack config) and redirects HTTP; `kytes-tls` refuses bad files.
 */

const execFileP = promisify(execFile);
const GENERATED_CONFIGS = 15;
const SEED = 20261130;
const MASTER = 'kytes:masterSecret';

/** Like topologyOf, but `kytes:tls` counts as set with --secret (it holds a private key). */
function secretTopology(values: StackValues, stack: string): Topology {
  const all: Record<string, string> = { [MASTER]: 'test-master-secret-0123456789abcdef0123456789' };
  for (const [k, v] of Object.entries(values))
    all[`kytes:${k}`] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return deriveTopology(
    parseConfig(all, (key) => key === MASTER || key === 'kytes:tls'),
    stack,
  );
}

interface Run {
  readonly code: number;
  readonly out: string;
}
async function run(file: string, ...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileP('bash', [file, ...args], { timeout: 120_000 });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

describe('nginx -t on rendered TLS configs (kytes-test/nginx)', () => {
  const sandbox = new Sandbox();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-tls-t-'));
  afterAll(async () => {
    await sandbox.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`accepts acme and files stacks and ${GENERATED_CONFIGS} generated TLS configs`, async () => {
    await requireImages([IMAGES.nginx]);
    const files: string[] = [];
    const write = (name: string, t: Topology) => {
      fs.writeFileSync(path.join(dir, name), renderNginxConfig(t.nginx));
      files.push(name);
    };
    write(
      'prod-acme.conf',
      topologyOf({ ...stackValues('prod'), tls: { mode: 'acme', acme: { email: 'ops@kytes.io' } } }, 'prod'),
    );
    write(
      'dev-files-hsts.conf',
      topologyOf(
        {
          ...stackValues('dev'),
          proxy: { httpPort: 8080, httpsPort: 8443 },
          tls: {
            mode: 'files',
            hsts: true,
            certificates: [{ certificateFile: '/etc/ssl/k/c.pem', keyFile: '/etc/ssl/k/k.pem' }],
          },
        },
        'dev',
      ),
    );
    fc.sample(tlsStackValuesArb, { numRuns: GENERATED_CONFIGS, seed: SEED }).forEach((v, i) =>
      write(`gen-${String(i).padStart(2, '0')}.conf`, topologyOf(v, 'gen')),
    );
    const name = uniqueName('nginx-tls-t');
    await sandbox.run({
      name,
      image: IMAGES.nginx,
      network: 'none',
      mounts: [{ type: 'bind', source: dir, target: '/kytes-configs', readonly: true }],
      cmd: ['sleep', 'infinity'],
    });
    // A stand-in certificate at every path a config names, so that nginx -t loads real files.
    const script = [
      'for f in /kytes-configs/*.conf; do',
      '  grep -oE "ssl_certificate(_key)? [^;]+" "$f" | cut -d" " -f2 | while read -r p; do mkdir -p "$(dirname "$p")"; done',
      'done',
      'for f in /kytes-configs/*.conf; do',
      '  grep -oE "ssl_certificate [^;]+" "$f" | cut -d" " -f2 | while read -r p; do cp /kytes-certs/c.pem "$p"; done',
      '  grep -oE "ssl_certificate_key [^;]+" "$f" | cut -d" " -f2 | while read -r p; do cp /kytes-certs/k.pem "$p"; done',
      'done',
      'for f in /kytes-configs/*.conf; do out=$(nginx -t -q -c "$f" 2>&1); rc=$?; printf "%s %s %s\\n" "$(basename "$f")" "$rc" "$(printf %s "$out" | tr "\\n" " ")"; done',
    ].join('\n');
    const ca = new TestCa();
    const pair = ca.leaf({ names: ['stand-in.kytes.test'] });
    await execIn(name, ['mkdir', '-p', '/kytes-certs']);
    await execIn(name, ['sh', '-c', 'cat > /kytes-certs/c.pem'], { stdin: pair.chainPem });
    await execIn(name, ['sh', '-c', 'cat > /kytes-certs/k.pem'], { stdin: pair.keyPem });
    ca.remove();
    const out = (await execIn(name, ['bash', '-c', script])).split('\n').filter((l) => l !== '');
    // nginx warns (and skips stapling) for a certificate without OCSP responder; anything else is a failure.
    const results = out.map((l) =>
      l
        .replace(
          / *\S+ \S+ \[warn\] \d+#\d+: "ssl_stapling" ignored, no OCSP responder URL in the certificate "[^"]*"/g,
          '',
        )
        .trimEnd(),
    );
    expect(results).toEqual(files.sort().map((f) => `${f} 0`));
  }, 180_000);
});

describe('files mode: the real nginx with openssl-made certificates', () => {
  const sandbox = new Sandbox();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-tls-files-'));
  const ca = new TestCa();
  const domain = 'kytes-files.test';
  let base: StackValues;
  let t: Topology;
  let target: Target;
  let wildcard: Pair;
  let chat: Pair;

  /** The stack with the GitLab names served from host files `cert`/`key`, Rocket.Chat from PEM. */
  const withFiles = (cert: string, key: string, minValidDays = 14) =>
    secretTopology(
      {
        ...base,
        tls: {
          mode: 'files',
          minValidDays,
          certificates: [
            { hostnames: [`gitlab.${domain}`, `gitlab-another.${domain}`], certificateFile: cert, keyFile: key },
            { hostnames: [`rocketchat.${domain}`], certificatePem: chat.chainPem, keyPem: chat.keyPem },
          ],
        },
      },
      'it',
    );
  const scriptFor = (tt: Topology) => {
    const file = path.join(dir, `kytes-tls-${randomInt(1e9)}`);
    fs.writeFileSync(file, renderTlsScript(tt), { mode: 0o755 });
    return file;
  };
  const serveLinks = () =>
    docker([
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      '-v',
      `${t.tls.volume!.name}:/v`,
      IMAGES.nginx,
      '-c',
      'ls -l /v/serve | tail -n +2',
    ]);

  beforeAll(async () => {
    await requireImages([IMAGES.nginx, IMAGES.base]);
    const address = `127.${randomInt(100, 250)}.${randomInt(1, 250)}.${randomInt(2, 250)}`;
    const [httpPort, httpsPort] = [await freePort(), await freePort()];
    base = {
      ...stackValues('dev'),
      prefix: uniqueName('tlsf').replace(/^kytes-it-/, 'kit-'),
      domain,
      proxy: { httpPort, httpsPort, bindAddress: address },
      gitlab: {
        instances: [
          { name: 'main', sshPort: 2222 },
          { name: 'another', sshPort: 2223 },
        ],
      },
      rocketchat: { enabled: true },
      images: { nginx: IMAGES.nginx },
    };
    wildcard = ca.leaf({ names: [`*.${domain}`] });
    chat = ca.leaf({ names: [`rocketchat.${domain}`], ocspUrl: 'http://ocsp.kytes-files.test' });
    t = withFiles(wildcard.chainFile, wildcard.keyFile);
    target = { address, port: httpsPort, ca: ca.certPem };

    await sandbox.network(t.network.name);
    await sandbox.volume(t.tls.volume!.name);
    const prepared = await run(scriptFor(t), 'prepare');
    expect(prepared).toMatchObject({ code: 0 });

    for (const upstream of echoUpstreams(t)) await sandbox.run(upstream);
    // The PEM pair goes where Pulumi uploads it (/etc/kytes/pem/<name>/); here a bind mount stands in.
    const pem = t.tls.certificates.find((c) => c.source.kind === 'pem')!;
    const pemDir = path.join(dir, 'pem');
    fs.mkdirSync(pemDir);
    fs.writeFileSync(path.join(pemDir, 'fullchain.pem'), chat.chainPem);
    fs.writeFileSync(path.join(pemDir, 'privkey.pem'), chat.keyPem, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'nginx.conf'), renderNginxConfig(t.nginx));
    await sandbox.run({
      name: t.nginx.container,
      image: IMAGES.nginx,
      network: t.network.name,
      aliases: [t.nginx.alias],
      mounts: [
        { type: 'bind', source: path.join(dir, 'nginx.conf'), target: t.nginx.configPath, readonly: true },
        { source: t.tls.volume!.name, target: t.tls.volume!.containerPath, readonly: true },
        { type: 'bind', source: pemDir, target: path.dirname(pem.certificatePath), readonly: true },
      ],
      cmd: nginxCommand(t.nginx),
      ports: [
        { container: t.nginx.listenPort, host: t.nginx.publishedPort, hostIp: address },
        { container: t.nginx.https!.listenPort, host: t.nginx.https!.publishedPort, hostIp: address },
      ],
    });
    await waitFor(() => execIn(t.nginx.container, nginxHealthcheckCommand(t.nginx).slice(1)).then(() => true), {
      timeoutMs: 30_000,
      what: 'the nginx healthcheck',
    });
  }, 180_000);

  afterAll(async () => {
    await sandbox.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
    ca.remove();
  });

  it('routes every server name over HTTPS with a certificate that verifies for that name', async () => {
    for (const s of t.nginx.servers) {
      const reply = await httpsGet(target, s.serverName, '/users/sign_in');
      const seen = JSON.parse(reply.body) as { identity: string; headers: Record<string, string> };
      const container = upstreamContainerOf(t, s);
      expect([reply.status, seen.identity, seen.headers['x-forwarded-proto'], seen.headers['x-forwarded-ssl']]).toEqual(
        [200, container, 'https', 'on'],
      );
      expect(reply.peer.subject).toBe(s.kind === 'rocketchat' ? `rocketchat.${domain}` : `*.${domain}`);
    }
    await expect(httpsGet(target, `unknown.${domain}`, '/')).rejects.toThrow();
  });

  it('agrees the hybrid post-quantum group X25519MLKEM768 with a client offering only it (OpenSSL 3.5)', async () => {
    // The image is nginx on Debian trixie, as the pinned -trixie one: the config carries the guideline's
    // hybrid group, and an OpenSSL 3.5 client that offers nothing else completes a TLS 1.3 handshake with it.
    expect(renderNginxConfig(t.nginx)).toContain('ssl_ecdh_curve X25519MLKEM768:X25519:prime256v1:secp384r1;');
    const name = t.nginx.servers[0].serverName;
    const out = await execIn(t.nginx.container, [
      'sh',
      '-c',
      `openssl s_client -connect 127.0.0.1:${t.nginx.https!.listenPort} -servername ${name} -groups X25519MLKEM768 </dev/null 2>&1`,
    ]);
    const lines = out.split('\n').map((l) => l.trimEnd());
    expect(lines.filter((l) => /^(Negotiated TLS1\.3 group|New, TLSv1\.3)/.test(l))).toEqual([
      'Negotiated TLS1.3 group: X25519MLKEM768',
      'New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384',
    ]);
  });

  it('redirects HTTP to HTTPS for every served name', async () => {
    for (const s of t.nginx.servers) {
      const out = await execIn(t.nginx.container, [
        'curl',
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code} %{redirect_url}',
        '-H',
        `Host: ${s.serverName}`,
        `http://127.0.0.1:${t.nginx.listenPort}/a/b?c=d`,
      ]);
      expect(out).toBe(`308 https://${s.serverName}:${t.nginx.publicPort}/a/b?c=d`);
    }
  });

  it.each([
    [
      'a key that is not the certificate’s',
      () => [wildcard.chainFile, ca.leaf({ names: [`*.${domain}`] }).keyFile],
      /gitlab\.kytes-files\.test: the key .* does not belong to the certificate/,
    ],
    [
      'a certificate that does not cover a name',
      () => {
        const p = ca.leaf({ names: [`gitlab.${domain}`] });
        return [p.chainFile, p.keyFile];
      },
      /gitlab-another\.kytes-files\.test: the certificate .* does not cover gitlab-another\.kytes-files\.test/,
    ],
    [
      'an expired certificate',
      () => {
        const p = ca.leaf({ names: [`*.${domain}`], notBefore: days(-90), notAfter: days(-1) });
        return [p.chainFile, p.keyFile];
      },
      /gitlab\.kytes-files\.test: the certificate .* expired on /,
    ],
    [
      'a certificate expiring within minValidDays',
      () => {
        const p = ca.leaf({ names: [`*.${domain}`], notAfter: days(5) });
        return [p.chainFile, p.keyFile];
      },
      /gitlab\.kytes-files\.test: the certificate .* expires on .*, in 4 day\(s\), within kytes:tls\.minValidDays \(14\)/,
    ],
    [
      'a missing file',
      () => [path.join(dir, 'missing.pem'), wildcard.keyFile],
      /gitlab\.kytes-files\.test: the certificate file .*missing\.pem does not exist/,
    ],
  ])(
    'kytes-tls prepare refuses %s, naming the hostname, and changes nothing',
    async (_what, files, message) => {
      const [cert, key] = files();
      const before = await serveLinks();
      const refused = await run(scriptFor(withFiles(cert, key)), 'prepare');
      expect(refused.code).toBe(1);
      expect(refused.out).toMatch(/refusing the certificate files, nothing was changed/);
      expect(refused.out).toMatch(message);
      expect(await serveLinks()).toBe(before);
      expect((await httpsGet(target, `gitlab.${domain}`, '/')).peer.subject).toBe(`*.${domain}`);
    },
    60_000,
  );

  it('renew copies a replaced host file and reloads nginx without a restart', async () => {
    const startedAt = await containerStartedAt(t.nginx.container);
    const before = (await httpsGet(target, `gitlab.${domain}`, '/')).peer.serial;
    const fresh = ca.leaf({ names: [`*.${domain}`] });
    fs.copyFileSync(fresh.chainFile, wildcard.chainFile);
    fs.copyFileSync(fresh.keyFile, wildcard.keyFile);
    const renewed = await run(scriptFor(t), 'renew');
    expect(renewed.out).toContain('nginx reloaded');
    expect(renewed.code).toBe(0);
    const after = await waitFor(
      async () => {
        const s = (await httpsGet(target, `gitlab.${domain}`, '/')).peer.serial;
        return s !== before ? s : undefined;
      },
      { timeoutMs: 30_000, what: 'the new certificate served' },
    );
    expect(after).not.toBe(before);
    expect(await containerStartedAt(t.nginx.container)).toBe(startedAt);
    expect((await run(scriptFor(t), 'renew')).out).toContain('no certificate changed');
  }, 60_000);

  it('status shows where each certificate comes from and when it expires', async () => {
    const status = await run(scriptFor(t), 'status');
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/^gitlab\.kytes-files\.test +host +\d{4}-\d{2}-\d{2} \(8\d d\) .*Kytes Test CA/m);
    expect(status.out).toMatch(/^rocketchat\.kytes-files\.test +pem +\d{4}-\d{2}-\d{2} \(8\d d\)/m);
  }, 30_000);

  it('status with nginx stopped: one line saying why nothing can be read, not "no certificate" per name', async () => {
    await docker(['stop', t.nginx.container]);
    try {
      const status = await run(scriptFor(t), 'status');
      expect(status.code).toBe(1);
      expect(status.out.trimEnd().split('\n').pop()).toMatch(
        new RegExp(
          `^\\S+ kytes-tls status \\(.*\\): error: nginx container ${t.nginx.container} is not running, and the certificates it serves are read inside it: run pulumi up \\(or docker start ${t.nginx.container}\\); nothing was changed$`,
        ),
      );
      expect(status.out).not.toContain('no certificate at');
    } finally {
      await docker(['start', t.nginx.container]);
    }
  }, 60_000);
});
