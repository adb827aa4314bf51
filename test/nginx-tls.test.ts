import fc from 'fast-check';
import { MOZILLA_INTERMEDIATE, renderNginxConfig, tlsGroupsFor } from '../lib/nginx';
import { Topology } from '../lib/topology';
import { children, Directive, layout, only, parseNginx } from './integration/fixtures/nginx/parse-nginx';
import { stackValues, topologyOf } from './integration/fixtures/nginx/stacks';
import { tlsStackValuesArb, TEST_ACME_DIRECTORY } from './integration/fixtures/tls/stacks';

const PROPERTY_RUNS = 200;

const acmeDev = (extra: Record<string, unknown> = {}) =>
  topologyOf(
    {
      ...stackValues('dev'),
      proxy: { httpPort: 8080, httpsPort: 8443, bindAddress: '127.0.0.1' },
      tls: { mode: 'acme', acme: { email: 'ops@example.org', directory: TEST_ACME_DIRECTORY }, ...extra },
    },
    'dev',
  );

const servers = (conf: string) => children(only(parseNginx(conf), 'http').block, 'server');
const listens = (s: Directive) => children(s.block, 'listen').map((l) => l.args.join(' '));

describe('tlsGroupsFor: the hybrid post-quantum group only where OpenSSL 3.5+ is known', () => {
  it.each([
    ['nginx:1.30.4-trixie', true],
    ['nginx:trixie', true],
    ['registry.example.org:5000/nginx:1.30.4-trixie@sha256:' + 'a'.repeat(64), true],
    ['nginx:1.30.4-bookworm', false],
    ['nginx:1.30.4-alpine', false],
    ['nginx:1.30.4', false],
    ['nginx@sha256:' + 'b'.repeat(64), false],
    ['example.org/trixie/nginx:1.30', false],
    ['nginx:1.30-nottrixie', false],
  ])('%s → hybrid group %s', (image, hybrid) => {
    expect(tlsGroupsFor(image)).toEqual(
      hybrid ? ['X25519MLKEM768', 'X25519', 'prime256v1', 'secp384r1'] : ['X25519', 'prime256v1', 'secp384r1'],
    );
  });

  it('renders the groups of the configured image', () => {
    const bookworm = acmeDev();
    const conf = renderNginxConfig({ ...bookworm.nginx, image: 'nginx:1.30.4-bookworm' });
    expect(only(only(parseNginx(conf), 'http').block ?? [], 'ssl_ecdh_curve').args).toEqual([
      'X25519:prime256v1:secp384r1',
    ]);
  });
});

describe('renderNginxConfig with TLS (acme, dev stack on 8080/8443)', () => {
  const t = acmeDev();
  const conf = renderNginxConfig(t.nginx);
  const http = only(parseNginx(conf), 'http').block ?? [];

  it('applies the Mozilla intermediate settings at http level', () => {
    expect(
      ['ssl_protocols', 'ssl_ecdh_curve', 'ssl_ciphers', 'ssl_prefer_server_ciphers', 'ssl_session_timeout'].map(
        (d) => [d, only(http, d).args.join(' ')],
      ),
    ).toEqual([
      ['ssl_protocols', 'TLSv1.2 TLSv1.3'],
      // The default image is nginx's -trixie variant (OpenSSL 3.5): the guideline's groups, hybrid first.
      ['ssl_ecdh_curve', 'X25519MLKEM768:X25519:prime256v1:secp384r1'],
      ['ssl_ciphers', MOZILLA_INTERMEDIATE.ciphers.join(':')],
      ['ssl_prefer_server_ciphers', 'off'],
      ['ssl_session_timeout', '1d'],
    ]);
    expect(only(http, 'ssl_session_cache').args).toEqual(['shared:MozSSL:10m']);
    expect(only(http, 'ssl_session_tickets').args).toEqual(['off']);
  });

  it('serves each hostname on 8443 with its own certificate from the TLS volume', () => {
    const { servers: proxied } = layout(conf);
    expect(proxied.map((s) => [s.serverName, s.listen.join(' ')])).toEqual([
      ['gitlab.kytes.localhost', '8443 ssl'],
      ['rocketchat.kytes.localhost', '8443 ssl'],
    ]);
    expect(
      servers(conf)
        .filter((x) => children(x.block, 'ssl_certificate').length > 0)
        .map((x) => [
          only(x.block, 'server_name').args[0],
          ...only(x.block, 'ssl_certificate').args,
          ...only(x.block, 'ssl_certificate_key').args,
        ]),
    ).toEqual([
      [
        'gitlab.kytes.localhost',
        '/etc/kytes/tls/serve/gitlab.kytes.localhost/fullchain.pem',
        '/etc/kytes/tls/serve/gitlab.kytes.localhost/privkey.pem',
      ],
      [
        'rocketchat.kytes.localhost',
        '/etc/kytes/tls/serve/rocketchat.kytes.localhost/fullchain.pem',
        '/etc/kytes/tls/serve/rocketchat.kytes.localhost/privkey.pem',
      ],
    ]);
  });

  it('tells upstreams the public scheme and port, and removes their own HSTS header', () => {
    expect(
      layout(conf).servers.map((s) => {
        const h = new Map(s.headers);
        return [
          s.serverName,
          h.get('X-Forwarded-Proto'),
          h.get('X-Forwarded-Port'),
          h.get('X-Forwarded-Ssl'),
          ...only(s.location, 'proxy_hide_header').args,
        ];
      }),
    ).toEqual([
      ['gitlab.kytes.localhost', 'https', '8443', 'on', 'Strict-Transport-Security'],
      ['rocketchat.kytes.localhost', 'https', '8443', 'on', 'Strict-Transport-Security'],
    ]);
  });

  it('answers ACME challenges on port 8080 from the webroot and redirects the rest to https', () => {
    const plain = servers(conf).find((s) => only(s.block, 'listen').args.join(' ') === '8080');
    expect(only(plain?.block, 'server_name').args).toEqual(['gitlab.kytes.localhost', 'rocketchat.kytes.localhost']);
    const [acme, rest] = children(plain?.block, 'location');
    expect([acme.args, only(acme.block, 'root').args]).toEqual([
      ['^~', '/.well-known/acme-challenge/'],
      ['/var/www/acme'],
    ]);
    expect([rest.args, only(rest.block, 'return').args]).toEqual([['/'], ['308', 'https://$host:8443$request_uri']]);
  });

  it('refuses the TLS handshake for names it does not serve, and keeps the health check on HTTP', () => {
    const byListen = servers(conf).map(listens);
    expect(byListen).toContainEqual(['8443 ssl default_server']);
    expect(byListen).toContainEqual(['8080 default_server']);
    const reject = servers(conf).find((s) => listens(s)[0] === '8443 ssl default_server');
    expect(only(reject?.block, 'ssl_reject_handshake').args).toEqual(['on']);
  });

  it('staples OCSP for a private ACME CA only (Let’s Encrypt certificates have no responder)', () => {
    const stapled = (tt: Topology) =>
      servers(renderNginxConfig(tt.nginx)).filter((s) => children(s.block, 'ssl_stapling').length > 0).length;
    expect(stapled(t)).toBe(2);
    const le = topologyOf(
      {
        ...stackValues('prod'),
        tls: { mode: 'acme', acme: { email: 'ops@kytes.io' } },
      },
      'prod',
    );
    expect(stapled(le)).toBe(0);
  });

  it('sends HSTS only when asked, with the configured max-age', () => {
    expect(conf).not.toMatch(/Strict-Transport-Security "/);
    const hsts = renderNginxConfig(acmeDev({ hsts: true, hstsMaxAge: 31536000 }).nginx);
    expect(
      servers(hsts)
        .filter((x) => children(x.block, 'add_header').length > 0)
        .map((x) => [only(x.block, 'server_name').args[0], ...only(x.block, 'add_header').args]),
    ).toEqual([
      ['gitlab.kytes.localhost', 'Strict-Transport-Security', 'max-age=31536000', 'always'],
      ['rocketchat.kytes.localhost', 'Strict-Transport-Security', 'max-age=31536000', 'always'],
    ]);
  });

  it('redirects without a port when users see 443', () => {
    const nat = topologyOf(
      {
        ...stackValues('dev'),
        proxy: { httpPort: 8080, httpsPort: 8443, publicPort: 443 },
        tls: { mode: 'acme', acme: { email: 'ops@example.org', directory: TEST_ACME_DIRECTORY } },
      },
      'dev',
    );
    expect(renderNginxConfig(nat.nginx)).toContain('return 308 https://$host$request_uri;');
    expect(nat.gitlab[0].externalUrl).toBe('https://gitlab.kytes.localhost');
  });
});

/** The URL users are given for a served hostname, from the service topology. */
function publicUrls(t: Topology): Map<string, string> {
  const m = new Map(t.gitlab.map((g) => [g.hostname, g.externalUrl]));
  if (t.rocketchat) m.set(t.rocketchat.hostname, t.rocketchat.rootUrl);
  return m;
}

describe('renderNginxConfig on generated configs with TLS in every mode', () => {
  it(`gives every served hostname a certificate and an HTTPS server block; URLs agree with the scheme (${PROPERTY_RUNS} runs)`, () => {
    fc.assert(
      fc.property(tlsStackValuesArb, (values) => {
        const t = topologyOf(values, 'gen');
        const conf = renderNginxConfig(t.nginx);
        const urls = publicUrls(t);
        const on = t.tls.mode !== 'off';
        expect(t.tls.certificates.map((c) => c.hostname)).toEqual(on ? [...urls.keys()] : []);
        for (const [host, url] of urls) {
          const u = new URL(url);
          const block = servers(conf).find(
            (s) =>
              children(s.block, 'server_name')[0]?.args.join(' ') === host &&
              children(s.block, 'location').some((l) => children(l.block, 'proxy_pass').length > 0),
          );
          expect(block).toBeDefined();
          if (!on) {
            expect(listens(block!)).toEqual([String(t.nginx.listenPort)]);
            continue;
          }
          expect(u.protocol).toBe('https:');
          expect(Number(u.port || 443)).toBe(t.nginx.publicPort);
          expect(listens(block!)).toEqual([`${t.nginx.https?.listenPort} ssl`]);
          const cert = t.tls.certificates.find((c) => c.hostname === host)!;
          expect(only(block!.block, 'ssl_certificate').args).toEqual([cert.certificatePath]);
          expect(only(block!.block, 'ssl_certificate_key').args).toEqual([cert.keyPath]);
          const h = new Map(
            children(children(block!.block, 'location')[0].block, 'proxy_set_header').map((d) => [
              d.args[0],
              d.args[1],
            ]),
          );
          expect([h.get('X-Forwarded-Proto'), h.get('X-Forwarded-Port')]).toEqual([
            'https',
            String(t.nginx.publicPort),
          ]);
        }
        if (on) {
          const redirect = servers(conf).find((s) =>
            children(s.block, 'location').some((l) => children(l.block, 'return').some((r) => r.args[0] === '308')),
          );
          expect(only(redirect?.block, 'server_name').args).toEqual([...urls.keys()]);
          expect(t.published.map((p) => p.port)).toContain(t.nginx.https?.publishedPort);
        }
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });
});
