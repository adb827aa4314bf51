import fc from 'fast-check';
import { NGINX_HEALTH_PATH, nginxHealthcheckCommand, renderNginxConfig } from '../lib/nginx';
import { Topology } from '../lib/topology';
import { children, layout, only, parseNginx } from './integration/fixtures/nginx/parse-nginx';
import { stackValues, stackValuesArb, topologyOf } from './integration/fixtures/nginx/stacks';

/** Runs of the property test; each renders and parses one whole nginx.conf (~1 ms). */
const PROPERTY_RUNS = 300;

const DEV = stackValues('dev');
const PROD = stackValues('prod');
const dev = topologyOf(DEV, 'dev');
const prod = topologyOf(PROD, 'prod');

const headers = (scheme: string, port: string, ssl: string) => [
  ['Upgrade', '$http_upgrade'],
  ['Connection', '$connection_upgrade'],
  ['Host', '$http_host'],
  ['X-Real-IP', '$remote_addr'],
  ['X-Forwarded-For', '$proxy_add_x_forwarded_for'],
  ['X-Forwarded-Proto', scheme],
  ['X-Forwarded-Host', '$host'],
  ['X-Forwarded-Port', port],
  ['X-Forwarded-Ssl', ssl],
];

describe('renderNginxConfig on Pulumi.dev.yaml', () => {
  const conf = renderNginxConfig(dev.nginx);
  const { http, defaultServer, servers } = layout(conf);

  it('has one server per service, each listening on the proxy port with its target and body limit', () => {
    expect(servers.map((s) => [s.serverName, s.listen, s.target, s.clientMaxBodySize])).toEqual([
      ['gitlab.kytes.localhost', ['8080'], 'http://gitlab-main:80', '0'],
      ['rocketchat.kytes.localhost', ['8080'], 'http://rocketchat:3000', '200m'],
    ]);
  });

  it('passes the exact forwarding headers, with the public scheme and port', () => {
    expect(servers.map((s) => s.headers)).toEqual([headers('http', '8080', 'off'), headers('http', '8080', 'off')]);
  });

  it('upgrades WebSockets and streams to the upstream', () => {
    expect(only(http, 'map').args).toEqual(['$http_upgrade', '$connection_upgrade']);
    expect(only(http, 'map').block).toEqual([
      { name: 'default', args: ['upgrade'] },
      { name: '', args: ['close'] },
    ]);
    const streaming = ['proxy_http_version', 'proxy_buffering', 'proxy_request_buffering'];
    const streamed = [
      ['proxy_http_version', '1.1'],
      ['proxy_buffering', 'off'],
      ['proxy_request_buffering', 'off'],
    ];
    expect(servers.map((s) => streaming.map((d) => [d, ...only(s.location, d).args]))).toEqual([streamed, streamed]);
  });

  it("waits an hour for GitLab's answer (Git over HTTP, like omnibus' own nginx), 300 s for Rocket.Chat", () => {
    expect(servers.map((s) => [s.serverName, ...only(s.location, 'proxy_read_timeout').args])).toEqual([
      ['gitlab.kytes.localhost', '3600s'],
      ['rocketchat.kytes.localhost', '300s'],
    ]);
  });

  it('resolves upstreams per request through Docker DNS', () => {
    expect(only(http, 'resolver').args).toEqual(['127.0.0.11', 'valid=10s', 'ipv6=off']);
    expect(servers.map((s) => only(s.location, 'proxy_pass').args)).toEqual([
      ['$upstream_gitlab_main'],
      ['$upstream_rocketchat'],
    ]);
  });

  it('answers unknown hosts with 404 and the health path with 200 ok on the default server', () => {
    expect(only(defaultServer, 'listen').args).toEqual(['8080', 'default_server']);
    const locations = children(defaultServer, 'location');
    expect(locations.map((l) => [l.args, only(l.block, 'return').args])).toEqual([
      [
        ['=', NGINX_HEALTH_PATH],
        ['200', 'ok'],
      ],
      [['/'], ['404', 'kytes: unknown host\n']],
    ]);
  });

  it('logs to the container output and includes the MIME types of both nginx builds', () => {
    const top = parseNginx(conf);
    expect(only(top, 'error_log').args).toEqual(['/dev/stderr', 'warn']);
    expect(only(http, 'access_log').args).toEqual(['/dev/stdout', 'kytes']);
    expect(only(http, 'include').args).toEqual(['/etc/nginx/mime.types']);
    expect(children(top, 'pid')).toEqual([]);
  });

  it('logs the path without its query string: $uri, never $request_uri (GitLab takes private_token in query strings)', () => {
    // Written down from templates/nginx.conf.hbs as reviewed: in nginx, $uri is the normalised path without
    // arguments and $request_uri the original URI with them (nginx.org, ngx_http_core_module, "Embedded Variables").
    expect(conf).toContain(
      `    log_format kytes '$remote_addr $host "$request_method $uri $server_protocol" $status $body_bytes_sent $request_time';\n`,
    );
    expect(only(http, 'log_format').args).toEqual([
      'kytes',
      '$remote_addr $host "$request_method $uri $server_protocol" $status $body_bytes_sent $request_time',
    ]);
    expect(conf).not.toContain('$request_uri');
    expect(conf).not.toContain('$args');
  });

  it('is byte-identical for equal inputs', () => {
    expect(renderNginxConfig(topologyOf(DEV, 'dev').nginx)).toBe(conf);
  });

  it('probes health with curl on the listen port', () => {
    expect(nginxHealthcheckCommand(dev.nginx)).toEqual([
      'CMD',
      'curl',
      '-fsS',
      '-o',
      '/dev/null',
      'http://127.0.0.1:8080/nginx-health',
    ]);
  });
});

describe('renderNginxConfig on Pulumi.prod.yaml', () => {
  const { servers, defaultServer } = layout(renderNginxConfig(prod.nginx));

  it('routes each GitLab instance and Rocket.Chat to its own alias, over HTTPS (Let’s Encrypt)', () => {
    expect(servers.map((s) => [s.serverName, s.listen, s.target])).toEqual([
      ['gitlab.kytes.io', ['443', 'ssl'], 'http://gitlab-main:80'],
      ['girofle.kytes.io', ['443', 'ssl'], 'http://gitlab-girofle:80'],
      ['rocketchat.kytes.io', ['443', 'ssl'], 'http://rocketchat:3000'],
    ]);
    expect(servers.map((s) => only(s.location, 'proxy_pass').args[0])).toEqual([
      '$upstream_gitlab_main',
      '$upstream_gitlab_girofle',
      '$upstream_rocketchat',
    ]);
    expect(only(defaultServer, 'listen').args).toEqual(['80', 'default_server']);
  });

  it('tells upstreams about TLS terminated in front', () => {
    const t = topologyOf({ ...PROD, tls: { mode: 'off' }, proxy: { httpPort: 8081, publicScheme: 'https' } }, 'prod');
    expect(layout(renderNginxConfig(t.nginx)).servers.map((s) => s.headers)).toEqual([
      headers('https', '443', 'on'),
      headers('https', '443', 'on'),
      headers('https', '443', 'on'),
    ]);
  });

  it('names the upstream variable of a dashed instance with _ (nginx ends a variable name at "-")', () => {
    const t = topologyOf(
      {
        ...PROD,
        gitlab: {
          instances: [
            { name: 'main', sshPort: 2222 },
            { name: 'ci-runner-2', sshPort: 2223 },
          ],
        },
      },
      'prod',
    );
    const dashed = layout(renderNginxConfig(t.nginx)).servers;
    expect(
      dashed.map((s) => [s.serverName, ...only(s.location, 'set').args, ...only(s.location, 'proxy_pass').args]),
    ).toEqual([
      ['gitlab.kytes.io', '$upstream_gitlab_main', 'http://gitlab-main:80', '$upstream_gitlab_main'],
      [
        'gitlab-ci-runner-2.kytes.io',
        '$upstream_gitlab_ci_runner_2',
        'http://gitlab-ci-runner-2:80',
        '$upstream_gitlab_ci_runner_2',
      ],
      ['rocketchat.kytes.io', '$upstream_rocketchat', 'http://rocketchat:3000', '$upstream_rocketchat'],
    ]);
  });

  it('leaves Rocket.Chat out when it is disabled', () => {
    const t = topologyOf({ ...PROD, rocketchat: { enabled: false } }, 'prod');
    expect(layout(renderNginxConfig(t.nginx)).servers.map((s) => s.serverName)).toEqual([
      'gitlab.kytes.io',
      'girofle.kytes.io',
    ]);
  });
});

/** The container each alias names, and the port that container listens on. */
function services(t: Topology): Map<string, { port: number; publicUrl: string }> {
  const m = new Map(t.gitlab.map((g) => [g.alias, { port: g.httpPort, publicUrl: g.externalUrl }]));
  if (t.rocketchat) m.set(t.rocketchat.alias, { port: t.rocketchat.port, publicUrl: t.rocketchat.rootUrl });
  return m;
}

describe('renderNginxConfig on generated configs', () => {
  it(`routes every server_name to the container serving that URL (${PROPERTY_RUNS} runs)`, () => {
    fc.assert(
      fc.property(stackValuesArb, (values) => {
        const t = topologyOf(values, 'gen');
        const { servers, defaultServer } = layout(renderNginxConfig(t.nginx));
        const byAlias = services(t);
        expect(servers.length).toBe(byAlias.size);
        expect(new Set(servers.map((s) => s.serverName)).size).toBe(servers.length);
        expect(only(defaultServer, 'listen').args).toEqual([String(t.nginx.listenPort), 'default_server']);
        for (const s of servers) {
          const target = new URL(s.target);
          const service = byAlias.get(target.hostname);
          expect(service).toBeDefined();
          if (!service) return;
          // new URL drops a scheme-default port, hence the fallback.
          expect(Number(target.port || 80)).toBe(service.port);
          const pub = new URL(service.publicUrl);
          expect(s.serverName).toBe(pub.hostname);
          expect(s.listen).toEqual([String(t.nginx.listenPort)]);
          const h = new Map(s.headers);
          expect(h.get('X-Forwarded-Proto')).toBe(pub.protocol.replace(':', ''));
          expect(h.get('X-Forwarded-Port')).toBe(pub.port || (pub.protocol === 'https:' ? '443' : '80'));
          expect(h.get('X-Forwarded-Ssl')).toBe(pub.protocol === 'https:' ? 'on' : 'off');
        }
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });
});
