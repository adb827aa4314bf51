import { ConfigError, parseConfig } from '../lib/config';
import { deriveTopology, Topology, TopologyError } from '../lib/topology';

/**
 * Cross-field rules of lib/config and lib/topology at their edges, on parseConfig → deriveTopology (no
 * program run): each refusal with its exact message, each near miss accepted. The messages are written
 * here as literals: they are what an operator reads.
 */

const MASTER = 'kytes:masterSecret';
const TEST_SECRET = 'test-master-secret-0123456789abcdef0123456789';

/** `kytes:` values as a user writes them in Pulumi.<stack>.yaml (objects become JSON, as Pulumi hands them). */
function derive(values: Record<string, unknown>): Topology {
  const flat: Record<string, string> = { [MASTER]: TEST_SECRET };
  for (const [k, v] of Object.entries(values))
    flat[`kytes:${k}`] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return deriveTopology(
    parseConfig(flat, (k) => k === MASTER),
    'dev',
  );
}

function problems(values: Record<string, unknown>): string[] {
  try {
    derive(values);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof TopologyError) return e.problems;
    throw e;
  }
  return [];
}

const ACME = { mode: 'acme', acme: { email: 'ops@kytes.io', directory: 'https://acme.kytes.test:14000/dir' } };
const oneInstance = (sshBindAddress: string, sshPort = 2222) => ({
  sshBindAddress,
  instances: [{ name: 'main', sshPort }],
});

describe('published host ports: the same port clashes on the same address or with 0.0.0.0 on either side', () => {
  const clash =
    'kytes:gitlab.instances[0].sshPort: host port 2222 is already published by kytes:proxy.httpPort; choose another port';

  it.each([
    ['127.0.0.1', '0.0.0.0'],
    ['0.0.0.0', '127.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['127.0.0.1', '127.0.0.1'],
  ])('nginx on %s:2222 and GitLab SSH on %s:2222 clash', (proxyAddress, sshAddress) => {
    expect(problems({ proxy: { httpPort: 2222, bindAddress: proxyAddress }, gitlab: oneInstance(sshAddress) })).toEqual(
      [clash],
    );
  });

  it('the HTTPS port clashes with an SSH port on 0.0.0.0 too', () => {
    expect(
      problems({
        proxy: { httpPort: 8080, httpsPort: 2222, bindAddress: '127.0.0.1' },
        tls: ACME,
        gitlab: oneInstance('0.0.0.0'),
      }),
    ).toEqual([
      'kytes:gitlab.instances[0].sshPort: host port 2222 is already published by kytes:proxy.httpsPort; choose another port',
    ]);
  });

  it('two specific addresses share a port: both published', () => {
    const t = derive({ proxy: { httpPort: 2222, bindAddress: '127.0.0.1' }, gitlab: oneInstance('10.0.0.5') });
    expect(t.published).toEqual([
      { owner: 'kytes:proxy.httpPort', bindAddress: '127.0.0.1', port: 2222 },
      { owner: 'kytes:gitlab.instances[0].sshPort', bindAddress: '10.0.0.5', port: 2222 },
    ]);
  });
});

describe('plain HTTP on 443 behind "https" (kytes:proxy.httpPort 443, publicScheme https, TLS off)', () => {
  const refusal =
    'kytes:proxy.httpPort: 443 with publicScheme https and kytes:tls.mode off; nginx would serve plain HTTP on 443: set kytes:tls.mode to files or acme, or publish nginx on another port behind the TLS proxy';

  it('is refused when nothing says where users connect', () => {
    expect(problems({ proxy: { httpPort: 443, publicScheme: 'https' } })).toEqual([refusal]);
  });

  it.each([
    [
      'an explicit publicPort (the TLS proxy is elsewhere)',
      { proxy: { httpPort: 443, publicScheme: 'https', publicPort: 8443 } },
    ],
    ['plain http on 443', { proxy: { httpPort: 443, publicScheme: 'http' } }],
    ['https in front of another port', { proxy: { httpPort: 444, publicScheme: 'https' } }],
    ['Kytes terminating TLS, with plain HTTP on 443', { proxy: { httpPort: 443, httpsPort: 8443 }, tls: ACME }],
    [
      'Kytes terminating TLS, publicScheme https said again',
      { proxy: { httpPort: 443, httpsPort: 8443, publicScheme: 'https' }, tls: ACME },
    ],
  ])('is accepted with %s', (_what, values) => {
    expect(problems(values)).toEqual([]);
  });

  it('the accepted forms give the URLs users see', () => {
    const urls = (values: Record<string, unknown>) => derive(values).gitlab[0].externalUrl;
    expect([
      urls({ proxy: { httpPort: 443, publicScheme: 'https', publicPort: 8443 } }),
      urls({ proxy: { httpPort: 443, publicScheme: 'http' } }),
      urls({ proxy: { httpPort: 444, publicScheme: 'https' } }),
      urls({ proxy: { httpPort: 443, httpsPort: 8443 }, tls: ACME }),
    ]).toEqual([
      'https://gitlab.kytes.localhost:8443',
      'http://gitlab.kytes.localhost:443',
      'https://gitlab.kytes.localhost',
      'https://gitlab.kytes.localhost:8443',
    ]);
  });
});

describe('default GitLab hostnames (docs: gitlab.<domain> for main, gitlab-<name>.<domain> otherwise)', () => {
  it('names each instance without a hostname from its name, dashes kept; a given hostname wins', () => {
    const t = derive({
      domain: 'kytes.io',
      gitlab: {
        instances: [
          { name: 'main', sshPort: 2222 },
          { name: 'ci-runner', sshPort: 2223 },
          { name: 'girofle', hostname: 'code.example.org', sshPort: 2224 },
        ],
      },
    });
    expect(t.gitlab.map((g) => [g.hostname, g.externalUrl, g.sshCloneHost])).toEqual([
      ['gitlab.kytes.io', 'http://gitlab.kytes.io', 'gitlab.kytes.io:2222'],
      ['gitlab-ci-runner.kytes.io', 'http://gitlab-ci-runner.kytes.io', 'gitlab-ci-runner.kytes.io:2223'],
      ['code.example.org', 'http://code.example.org', 'code.example.org:2224'],
    ]);
    expect(t.nginx.servers.map((s) => s.serverName)).toEqual([
      'gitlab.kytes.io',
      'gitlab-ci-runner.kytes.io',
      'code.example.org',
      'rocketchat.kytes.io',
    ]);
  });

  it('an instance not named main never gets gitlab.<domain>, even alone', () => {
    expect(derive({ gitlab: { instances: [{ name: 'gitlab', sshPort: 2222 }] } }).gitlab[0].hostname).toBe(
      'gitlab-gitlab.kytes.localhost',
    );
  });
});

describe('kytes:backup.dir: letters, digits and . _ + @ - only, so no space', () => {
  it.each([
    [
      '/srv/my backups',
      'kytes:backup.dir: received "/srv/my backups"; allowed: a path of letters, digits and . _ + @ - (not "my backups")',
    ],
    [
      '/srv/backups ',
      'kytes:backup.dir: received "/srv/backups "; allowed: a path of letters, digits and . _ + @ - (not "backups ")',
    ],
    [
      ' /srv/backups',
      'kytes:backup.dir: received " /srv/backups"; allowed: an absolute path such as /srv/kytes/backups',
    ],
  ])('%j is refused', (dir, message) => {
    expect(problems({ backup: { dir } })).toEqual([message]);
  });

  it('the same path with a dash instead of the space is accepted', () => {
    expect(derive({ backup: { dir: '/srv/my-backups' } }).ops.backupDir).toBe('/srv/my-backups');
  });
});
