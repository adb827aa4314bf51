import { spawnSync } from 'child_process';
import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { ConfigError, isSafeHostPath, parseConfig } from '../lib/config';
import { deriveTopology, Topology, TopologyError } from '../lib/topology';
import { renderTlsCronFile, renderTlsScript } from '../lib/tls-script';
import { days, Pair, TestCa } from './helpers/certs';
import { isSecretValue, runProgram, stackConfig, unwrap } from './helpers/program';

const MASTER = 'kytes:masterSecret';
const SECRET = { [MASTER]: 'test-master-secret-0123456789abcdef0123456789' };
const PROD_HOSTS = ['gitlab.kytes.io', 'girofle.kytes.io', 'rocketchat.kytes.io'];

/** The prod stack's values with `tls` and extra keys; `kytes:tls` is a secret unless `plainTls`. */
function flat(extra: Record<string, unknown>): Record<string, string> {
  // The prod stack without its own kytes:tls (Let's Encrypt): each test says what it wants.
  const { 'kytes:tls': _own, ...prod } = stackConfig('prod');
  void _own;
  const all: Record<string, string> = { ...prod, ...SECRET };
  for (const [k, v] of Object.entries(extra)) all[`kytes:${k}`] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return all;
}
const secretTls = (key: string) => key === MASTER || key === 'kytes:tls';
function topology(extra: Record<string, unknown>, now = new Date(), isSecret = (k: string) => k === MASTER): Topology {
  return deriveTopology(parseConfig(flat(extra), isSecret), 'prod', now);
}
function problems(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError || e instanceof TopologyError) return e.problems;
    throw e;
  }
  return [];
}

describe('kytes:tls config', () => {
  it('is off by default: plain HTTP, as before', () => {
    const t = topology({});
    expect([t.tls.mode, t.tls.certificates, t.nginx.https, t.gitlab[0].externalUrl]).toEqual([
      'off',
      [],
      undefined,
      'http://gitlab.kytes.io',
    ]);
  });

  it('makes every URL https on the HTTPS port when nginx terminates TLS', () => {
    const t = topology({ tls: { mode: 'acme', acme: { email: 'ops@kytes.io' } } });
    expect([t.gitlab.map((g) => g.externalUrl), t.rocketchat?.rootUrl]).toEqual([
      ['https://gitlab.kytes.io', 'https://girofle.kytes.io'],
      'https://rocketchat.kytes.io',
    ]);
    const odd = topology({
      proxy: { httpPort: 8080, httpsPort: 8443 },
      tls: { mode: 'acme', acme: { email: 'ops@kytes.io' } },
    });
    expect(odd.gitlab[0].externalUrl).toBe('https://gitlab.kytes.io:8443');
    expect(odd.published.map((p) => [p.owner, p.port])).toContainEqual(['kytes:proxy.httpsPort', 8443]);
  });

  it('keeps "TLS terminated in front" possible with TLS off', () => {
    const t = topology({ proxy: { httpPort: 8081, publicScheme: 'https' } });
    expect([t.gitlab[0].externalUrl, t.nginx.https, t.nginx.publicPort]).toEqual([
      'https://gitlab.kytes.io',
      undefined,
      443,
    ]);
  });

  it.each([
    [
      { tls: { mode: 'files' } },
      'kytes:tls.certificates: received nothing; allowed: at least one certificate in files mode',
    ],
    [
      { tls: { mode: 'acme' } },
      'kytes:tls.acme: received nothing; allowed: an acme section with at least email in acme mode',
    ],
    [
      { tls: { mode: 'off', acme: { email: 'ops@kytes.io' } } },
      'kytes:tls.acme: received {"email":"ops@kytes.io"}; allowed: an acme section only in acme mode',
    ],
    [
      { tls: { mode: 'acme', acme: { email: 'ops@kytes.io' } }, proxy: { publicScheme: 'http' } },
      'kytes:proxy.publicScheme: http with kytes:tls.mode acme; nginx serves HTTPS and redirects HTTP to it: remove publicScheme',
    ],
    [
      { tls: { mode: 'acme', acme: { email: 'ops@kytes.io' } }, proxy: { httpPort: 443 } },
      'kytes:proxy.httpsPort: host port 443 is already published by kytes:proxy.httpPort; choose another port',
    ],
    [
      { tls: { hsts: true } },
      'kytes:tls.hsts: true with plain HTTP; browsers ignore HSTS over HTTP: turn TLS on or drop hsts',
    ],
    [
      { proxy: { httpPort: 443, publicScheme: 'https' } },
      'kytes:proxy.httpPort: 443 with publicScheme https and kytes:tls.mode off; nginx would serve plain HTTP on 443: set kytes:tls.mode to files or acme, or publish nginx on another port behind the TLS proxy',
    ],
  ])('refuses %j', (extra, message) => {
    expect(problems(() => topology(extra))).toEqual([message]);
  });

  it.each([
    'relative/fullchain.pem',
    '/etc/ssl/../shadow',
    '/etc/ssl/./x.pem',
    '/etc//ssl/x.pem',
    '/etc/ssl/',
    '/etc/ssl/a b.pem',
    '/etc/ssl/$(reboot).pem',
    '/etc/ssl/`id`.pem',
    "/etc/ssl/a'b.pem",
    '/etc/ssl/a;b.pem',
    '/etc/ssl/*.pem',
    '/etc/ssl/-rf',
    '/etc/ssl/x.pem\n* * * * * root sh',
  ])('refuses the host path %j, saying what a path must be', (p) => {
    expect(
      problems(() =>
        topology({ tls: { mode: 'files', certificates: [{ certificateFile: p, keyFile: '/etc/ssl/k.pem' }] } }),
      ),
    ).toEqual([
      ...(/\n/.test(p)
        ? [
            `kytes:tls.certificates[0].certificateFile: received ${JSON.stringify(p)}; allowed: text without control characters (NUL, newline, tab, escape, bidi overrides)`,
          ]
        : []),
      `kytes:tls.certificates[0].certificateFile: received ${JSON.stringify(p)}; allowed: an absolute, normalised path on the Docker host (the certificate chain, leaf first) made of letters, digits and . _ @ + - /, such as /etc/ssl/kytes/fullchain.pem`,
    ]);
  });

  it('accepts only paths without shell syntax, already normalised (property)', () => {
    // Path-shaped strings: segments that are safe, empty, dot or dot-dot, option-like, or arbitrary text
    // (an arbitrary string alone is almost never an absolute path, and would leave nothing to check).
    const segment = fc.oneof(
      { arbitrary: fc.constantFrom('etc', 'ssl', 'kytes', 'x.pem', 'k@y+1_2'), weight: 4 },
      { arbitrary: fc.constantFrom('', '.', '..', '-rf', 'a b', '$(id)', '~'), weight: 1 },
      { arbitrary: fc.string({ maxLength: 6 }), weight: 1 },
    );
    const pathLike = fc
      .tuple(fc.constantFrom('/', '', './'), fc.array(segment, { maxLength: 5 }), fc.constantFrom('', '/'))
      .map(([start, segments, end]) => start + segments.join('/') + end);
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(pathLike, (p) => {
        if (!isSafeHostPath(p)) {
          refused++;
          return;
        }
        accepted++;
        expect(p).toMatch(/^\/[A-Za-z0-9._@+/-]+$/);
        expect(path.posix.normalize(p)).toBe(p);
        expect(p.endsWith('/')).toBe(false);
        expect(
          p
            .split('/')
            .slice(1)
            .filter((seg) => seg === '.' || seg === '..' || seg.startsWith('-')),
        ).toEqual([]);
      }),
      { numRuns: 2000, seed: 7 },
    );
    // Both sides were reached (fixed seed): the checks above ran on accepted paths.
    expect([accepted > 50, refused > 50]).toEqual([true, true]);
  });

  it('needs the hostnames of each certificate when there are several', () => {
    const pair = { certificateFile: '/etc/ssl/a.pem', keyFile: '/etc/ssl/a.key' };
    expect(
      problems(() =>
        topology({ tls: { mode: 'files', certificates: [pair, { ...pair, hostnames: ['gitlab.kytes.io'] }] } }),
      ),
    ).toEqual([
      'kytes:tls.certificates[0].hostnames: received nothing; allowed: the hostnames this certificate serves (required when there are several certificates)',
    ]);
  });

  it('refuses mixed or half pairs', () => {
    expect(
      problems(() =>
        topology({
          tls: {
            mode: 'files',
            certificates: [{ certificateFile: '/etc/ssl/a.pem', keyPem: '-----BEGIN PRIVATE KEY-----' }],
          },
        }),
      ),
    ).toEqual([
      'kytes:tls.certificates[0]: received PEM text (not shown); allowed: either certificateFile and keyFile (paths on the Docker host) or certificatePem and keyPem, not both',
    ]);
  });
});

describe('files mode with PEM certificates (openssl-made), checked before anything is created', () => {
  const ca = new TestCa();
  let wildcard: Pair;
  afterAll(() => ca.remove());
  beforeAll(() => {
    wildcard = ca.leaf({ names: ['*.kytes.io'] });
  });
  const topology = (extra: Record<string, unknown>, now = new Date(), isSecret = secretTls) =>
    deriveTopology(parseConfig(flat(extra), isSecret), 'prod', now);
  const files = (certificates: unknown[], minValidDays?: number) => ({
    tls: { mode: 'files', certificates, ...(minValidDays ? { minValidDays } : {}) },
  });
  const pem = (p: Pair, hostnames?: string[]) => ({
    certificatePem: p.chainPem,
    keyPem: p.keyPem,
    ...(hostnames ? { hostnames } : {}),
  });

  it('serves one wildcard pair for every name, uploaded where nginx reads it', () => {
    const t = topology(files([pem(wildcard)]));
    expect(
      t.tls.certificates.map((c) => [c.hostname, c.source.kind, c.certificatePath, c.keyPath, c.stapling]),
    ).toEqual(
      PROD_HOSTS.map((h) => [h, 'pem', `/etc/kytes/pem/${h}/fullchain.pem`, `/etc/kytes/pem/${h}/privkey.pem`, false]),
    );
    expect(t.tls.volume).toBeUndefined();
  });

  it('staples OCSP only for a certificate that names a responder', () => {
    const ocsp = ca.leaf({ names: PROD_HOSTS, ocspUrl: 'http://ocsp.kytes.io' });
    expect(topology(files([pem(ocsp)])).tls.certificates.every((c) => c.stapling)).toBe(true);
  });

  it('refuses a key that is not the certificate’s, naming the hostnames', () => {
    const other = ca.leaf({ names: ['*.kytes.io'] });
    expect(problems(() => topology(files([{ ...pem(wildcard), keyPem: other.keyPem }])))).toEqual([
      'kytes:tls.certificates[0].keyPem (for gitlab.kytes.io, girofle.kytes.io, rocketchat.kytes.io): the key does not belong to the certificate CN=*.kytes.io; give the key the certificate was issued for',
    ]);
  });

  it('refuses a certificate that does not cover a served name (one label per wildcard)', () => {
    const narrow = ca.leaf({ names: ['gitlab.kytes.io', '*.chat.kytes.io'] });
    expect(problems(() => topology(files([pem(narrow)])))).toEqual([
      'kytes:tls.certificates[0].certificatePem: the certificate CN=gitlab.kytes.io does not cover girofle.kytes.io (it names gitlab.kytes.io, *.chat.kytes.io); use a certificate whose subjectAltName includes girofle.kytes.io',
      'kytes:tls.certificates[0].certificatePem: the certificate CN=gitlab.kytes.io does not cover rocketchat.kytes.io (it names gitlab.kytes.io, *.chat.kytes.io); use a certificate whose subjectAltName includes rocketchat.kytes.io',
    ]);
  });

  it('refuses an expired certificate and one expiring within minValidDays', () => {
    const end = new Date(new X509Certificate(wildcard.leafPem).validTo);
    const dateOf = end.toISOString().slice(0, 10);
    expect(problems(() => topology(files([pem(wildcard)]), new Date(end.getTime() + 86_400_000)))).toEqual([
      `kytes:tls.certificates[0].certificatePem (for gitlab.kytes.io, girofle.kytes.io, rocketchat.kytes.io): the certificate expired on ${dateOf}; renew it and set the new one`,
    ]);
    expect(problems(() => topology(files([pem(wildcard)], 30), new Date(end.getTime() - 10 * 86_400_000)))).toEqual([
      `kytes:tls.certificates[0].certificatePem (for gitlab.kytes.io, girofle.kytes.io, rocketchat.kytes.io): the certificate expires on ${dateOf}, in 10 day(s), within kytes:tls.minValidDays (30); renew it first`,
    ]);
  });

  it('refuses a chain out of order and a certificate not yet valid', () => {
    const future = ca.leaf({ names: ['*.kytes.io'], notBefore: days(2), notAfter: days(60) });
    expect(
      problems(() => topology(files([{ ...pem(wildcard), certificatePem: ca.certPem + wildcard.leafPem }]))),
    ).toContainEqual(
      expect.stringMatching(
        /^kytes:tls\.certificates\[0\]\.keyPem \(for .*\): the key does not belong to the certificate CN=Kytes Test CA/,
      ),
    );
    expect(problems(() => topology(files([pem(future)])))).toEqual([
      expect.stringMatching(
        /^kytes:tls\.certificates\[0\]\.certificatePem \(for .*\): the certificate is not valid before \d{4}-\d{2}-\d{2}$/,
      ),
    ]);
  });

  it('matches each served name to exactly one entry', () => {
    const two = [
      pem(wildcard, ['gitlab.kytes.io', 'unknown.kytes.io']),
      pem(wildcard, ['gitlab.kytes.io', 'rocketchat.kytes.io']),
    ];
    expect(problems(() => topology(files(two)))).toEqual([
      'kytes:tls.certificates[0].hostnames: unknown.kytes.io is not a hostname nginx serves (it serves gitlab.kytes.io, girofle.kytes.io, rocketchat.kytes.io)',
      'kytes:tls.certificates[1].hostnames: gitlab.kytes.io is already served by kytes:tls.certificates[0]; list it once',
      'kytes:tls.certificates: no certificate for girofle.kytes.io, which nginx serves; add girofle.kytes.io to the hostnames of an entry',
    ]);
  });

  it('wants the private key set with --secret, and never shows PEM text in an error', () => {
    const plain = problems(() => topology(files([pem(wildcard)]), new Date(), (k) => k === MASTER));
    expect(plain).toEqual([
      "kytes:tls.certificates[0].keyPem: received a plain-text value; allowed: a secret only (set it with `pulumi config set --secret --path 'kytes:tls.certificates[0].keyPem' < key.pem`)",
    ]);
    const broken = [
      problems(() => topology(files([{ ...pem(wildcard), keyPem: wildcard.keyPem.replace('KEY-----', 'KEY') }]))),
      problems(() => topology(files([{ ...pem(wildcard), extra: 1 }]), new Date(), (k) => k === MASTER)),
      problems(() =>
        topology({ tls: { mode: 'acme', certificates: [pem(wildcard)] } }, new Date(), (k) => k === MASTER),
      ),
    ].flat();
    expect(broken.length).toBeGreaterThanOrEqual(3);
    const body = (p: string) => p.split('\n').slice(1, -1).join('\n');
    for (const p of broken) {
      expect(p).not.toContain(body(wildcard.keyPem).slice(0, 40));
      expect(p).not.toContain(body(wildcard.leafPem).slice(0, 40));
      expect(p).not.toMatch(/-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----/);
    }
  });
});

describe('acme mode: names that cannot get a public certificate', () => {
  it.each([
    ['kytes.localhost', 'gitlab.kytes.localhost (under .localhost, a special-use name)'],
    ['corp.internal', 'gitlab.corp.internal (under .internal, a special-use name)'],
    ['kytes.test', 'gitlab.kytes.test (under .test, a special-use name)'],
  ])('refuses %s with Let’s Encrypt, allows it with a private directory', (domain, why) => {
    const base = { domain, gitlab: { instances: [{ name: 'main', sshPort: 2222 }] }, rocketchat: { enabled: false } };
    expect(problems(() => topology({ ...base, tls: { mode: 'acme', acme: { email: 'ops@kytes.io' } } }))).toEqual([
      `kytes:tls.mode: acme cannot get a public certificate for ${why}; use a public DNS name, files mode, or a private ACME server in kytes:tls.acme.directory`,
    ]);
    const custom = topology({
      ...base,
      tls: { mode: 'acme', acme: { email: 'ops@kytes.io', directory: 'https://ca.corp.internal/acme/dir' } },
    });
    expect([custom.tls.acme?.custom, custom.tls.acme?.directoryUrl]).toEqual([
      true,
      'https://ca.corp.internal/acme/dir',
    ]);
  });

  it('refuses an IP address as hostname', () => {
    const base = {
      gitlab: { instances: [{ name: 'main', hostname: '203.0.113.10', sshPort: 2222 }] },
      rocketchat: { enabled: false },
    };
    // Refused before the ACME rule: no hostname may be an IP literal (nginx's own probe would hit it).
    expect(problems(() => topology({ ...base, tls: { mode: 'acme', acme: { email: 'ops@kytes.io' } } }))).toEqual([
      'kytes:gitlab.instances[0].hostname: received "203.0.113.10"; allowed: a DNS name, not an IP address (its last label must not be all digits)',
    ]);
  });

  it('uses Let’s Encrypt production by default, staging on request, and a CA bundle only for a private server', () => {
    const le = topology({ tls: { mode: 'acme', acme: { email: 'ops@kytes.io' } } });
    expect([le.tls.acme?.directoryUrl, le.tls.acme?.custom, le.tls.certificates.every((c) => !c.stapling)]).toEqual([
      'https://acme-v02.api.letsencrypt.org/directory',
      false,
      true,
    ]);
    const staging = topology({
      tls: { mode: 'acme', acme: { email: 'ops@kytes.io', directory: 'letsencrypt-staging' } },
    });
    expect(staging.tls.acme?.directoryUrl).toBe('https://acme-staging-v02.api.letsencrypt.org/directory');
    expect(
      problems(() =>
        topology({
          tls: { mode: 'acme', acme: { email: 'ops@kytes.io', caBundle: '-----BEGIN CERTIFICATE-----\nx\n' } },
        }),
      ),
    ).toEqual([
      "kytes:tls.acme.caBundle: only for a private ACME server; Let's Encrypt is trusted as is: remove it or set kytes:tls.acme.directory",
    ]);
  });
});

function shellProblems(text: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-tls-sh-'));
  const file = path.join(dir, 'kytes-tls');
  fs.writeFileSync(file, text);
  const out: string[] = [];
  const syntax = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
  if (syntax.status !== 0) out.push(syntax.stderr);
  const lint = spawnSync('shellcheck', ['-s', 'bash', file], { encoding: 'utf8' });
  if (lint.error) throw new Error('shellcheck is not installed');
  if (lint.status !== 0) out.push(lint.stdout);
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}

describe('the kytes-tls script', () => {
  const acme = topology({ tls: { mode: 'acme', acme: { email: 'ops@kytes.io' } } });
  const hostile = topology({
    tls: {
      mode: 'acme',
      acme: {
        email: "o'ps$(id)@kytes.io".replace(/['$()]/g, ''),
        directory: "https://ca.example.org/dir?a='$(reboot)'&b=`id`",
      },
    },
  });
  const files = topology({
    tls: {
      mode: 'files',
      certificates: [{ certificateFile: '/etc/ssl/kytes/fullchain.pem', keyFile: '/etc/ssl/kytes/privkey.pem' }],
    },
  });

  it.each([
    ['acme', acme],
    ['acme with a hostile directory URL', hostile],
    ['files', files],
  ])('%s: passes bash -n and shellcheck', (_what, t) => {
    expect(shellProblems(renderTlsScript(t))).toEqual([]);
  });

  it('holds every value as bash reads it back, whatever the characters', () => {
    const text = renderTlsScript(hostile);
    const head = text.slice(0, text.indexOf('LOCK_FILE='));
    const r = spawnSync(
      'bash',
      ['-c', `${head}\nprintf '%s\\n' "$ACME_DIRECTORY" "\${HOSTS[@]}" "\${SOURCE[gitlab.kytes.io]}"`],
      {
        encoding: 'utf8',
      },
    );
    expect(r.stdout.split('\n').slice(0, -1)).toEqual([hostile.tls.acme?.directoryUrl, ...PROD_HOSTS, 'acme']);
  });

  it('renews from a cron file of its own', () => {
    expect(renderTlsCronFile(acme)).toBe(
      [
        '# Kytes stack prod (kytes-prod): ACME renewal. Managed by Pulumi; set kytes:tls instead of editing.',
        'SHELL=/bin/bash',
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '17 3,15 * * * root /opt/kytes/tls/kytes-prod/kytes-tls renew >> /var/log/kytes-tls-kytes-prod.log 2>&1',
        '',
      ].join('\n'),
    );
  });
});

describe('Pulumi program with TLS', () => {
  const acmeConfig = {
    ...stackConfig('prod'),
    'kytes:tls': JSON.stringify({ mode: 'acme', acme: { email: 'ops@kytes.io' } }),
  };

  it('acme: TLS volume retained, webroot, script, prepare before nginx, issuance after it, renewal cron', async () => {
    const { resources } = await runProgram('prod', acmeConfig);
    const by = (n: string) => resources.find((r) => r.name === n)!;
    expect(
      resources
        .filter((r) => r.options.parent === 'kytes-prod-tls')
        .map((r) => `${r.type} ${r.name}`)
        .sort(),
    ).toEqual([
      'command:local:Command kytes-prod-tls-issue',
      'command:local:Command kytes-prod-tls-prepare',
      'command:local:Command kytes-prod-tls-renewal',
      'command:local:Command kytes-prod-tls-script',
      'docker:index/volume:Volume kytes-prod-tls-acme-webroot',
      'docker:index/volume:Volume kytes-prod-tls-volume',
    ]);
    expect(unwrap(by('kytes-prod-tls-volume').inputs)).toEqual({
      name: 'kytes-prod-tls',
      labels: [
        { label: 'kytes.prefix', value: 'kytes-prod' },
        { label: 'kytes.retain-on-delete', value: 'true' },
      ],
    });
    expect(by('kytes-prod-tls-volume').options.retainOnDelete).toBe(true);
    expect(by('kytes-prod-nginx-container').options.dependsOn).toContain('kytes-prod-tls-prepare');
    // A new hostname's certificate is in the volume before nginx -t checks the config that names it.
    expect(by('kytes-prod-nginx-apply-config').options.dependsOn).toContain('kytes-prod-tls-prepare');
    expect(by('kytes-prod-tls-issue').options.dependsOn).toEqual(
      expect.arrayContaining(['kytes-prod-nginx-container', 'kytes-prod-tls-prepare']),
    );
    // Over SSH the script is wrapped in `/bin/bash -c '…'`, hence the quoting around the path.
    expect(unwrap(by('kytes-prod-tls-issue').inputs.create)).toMatch(
      /exec \S*\/opt\/kytes\/tls\/kytes-prod\/kytes-tls\S* issue'$/,
    );
    const nginx = unwrap(by('kytes-prod-nginx-container').inputs) as Record<string, unknown>;
    expect(nginx.ports).toEqual([
      { internal: 80, external: 80, ip: '0.0.0.0', protocol: 'tcp' },
      { internal: 443, external: 443, ip: '0.0.0.0', protocol: 'tcp' },
    ]);
    expect(nginx.volumes).toEqual([
      { volumeName: 'kytes-prod-nginx-config', containerPath: '/etc/nginx/kytes', readOnly: true },
      { volumeName: 'kytes-prod-tls', containerPath: '/etc/kytes/tls', readOnly: true },
      { volumeName: 'kytes-prod-acme-webroot', containerPath: '/var/www/acme', readOnly: true },
    ]);
    expect(unwrap(by('kytes-prod-tls-renewal').inputs.stdin)).toContain('kytes-tls renew');
  }, 60_000);

  it('files with PEM: the key reaches nginx only as a Pulumi secret, and no command carries it', async () => {
    const ca = new TestCa();
    const pair = ca.leaf({ names: ['*.kytes.io'] });
    ca.remove();
    const config = {
      ...stackConfig('prod'),
      'kytes:tls': JSON.stringify({
        mode: 'files',
        certificates: [{ certificatePem: pair.chainPem, keyPem: pair.keyPem }],
      }),
    };
    const { resources } = await runProgram('prod', config, { secretKeys: ['kytes:tls'] });
    const nginx = resources.find((r) => r.name === 'kytes-prod-nginx-container')!;
    const uploads = nginx.inputs.uploads as unknown[];
    const keys = (unwrap(uploads) as { file: string; permissions: string }[]).filter((u) =>
      u.file.endsWith('privkey.pem'),
    );
    expect(keys.map((u) => [u.file, u.permissions])).toEqual(
      PROD_HOSTS.map((h) => [`/etc/kytes/pem/${h}/privkey.pem`, '0600']),
    );
    // The key file's content is a secret (the whole upload list is then secret in state).
    expect(
      isSecretValue(uploads) ||
        (uploads as unknown[]).some((u) => isSecretValue(u) || isSecretValue((u as { content: unknown }).content)),
    ).toBe(true);
    const keyBody = pair.keyPem.split('\n')[1];
    for (const r of resources) {
      if (r.name === 'kytes-prod-nginx-container') continue;
      expect(JSON.stringify(unwrap(r.inputs))).not.toContain(keyBody);
    }
    // No renewal on the host: nothing of it lives there, the script is installed for `status` only.
    expect(resources.filter((r) => r.name.startsWith('kytes-prod-tls-')).map((r) => r.name)).toEqual([
      'kytes-prod-tls-script',
    ]);
  }, 60_000);
});
