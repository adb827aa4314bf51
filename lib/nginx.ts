import { renderTemplate } from './render';
import { NginxServer, NginxTopology } from './topology';

/**
 * Path answered with 200 "ok" by the default server: the container healthcheck probes it on 127.0.0.1,
 * which matches no `server_name`, so it checks that nginx serves requests without touching an upstream.
 */
export const NGINX_HEALTH_PATH = '/nginx-health';

/**
 * The healthcheck command run inside the nginx container. `curl` is in the official nginx Debian image
 * (and in the Debian-built test image); `nginx -t` only checks the file, not that the server answers.
 */
export function nginxHealthcheckCommand(nginx: NginxTopology): string[] {
  return ['CMD', 'curl', '-fsS', '-o', '/dev/null', `http://127.0.0.1:${nginx.listenPort}${NGINX_HEALTH_PATH}`];
}

/**
 * The nginx variable holding one server's upstream URL. A variable in `proxy_pass` makes nginx resolve
 * the name per request; one per server keeps each server's target visible in the file.
 */
export function upstreamVariable(server: Pick<NginxServer, 'kind' | 'name'>): string {
  const suffix = server.kind === 'rocketchat' ? '' : `_${server.name.replace(/-/g, '_')}`;
  return `$upstream_${server.kind}${suffix}`;
}

/** Renders the whole `/etc/nginx/nginx.conf` (at `nginx.configPath`). Byte-identical for equal inputs. */
export function renderNginxConfig(nginx: NginxTopology): string {
  return renderTemplate('nginx.conf.hbs', {
    resolver: nginx.resolver,
    listenPort: nginx.listenPort,
    publicScheme: nginx.publicScheme,
    publicPort: nginx.publicPort,
    forwardedSsl: nginx.publicScheme === 'https' ? 'on' : 'off',
    healthPath: NGINX_HEALTH_PATH,
    servers: nginx.servers.map((s) => ({
      title: s.kind === 'gitlab' ? `GitLab instance ${s.name}` : 'Rocket.Chat',
      serverName: s.serverName,
      clientMaxBodySize: s.clientMaxBodySize,
      readTimeout: s.readTimeoutSeconds,
      upstream: { host: s.upstream.host, port: s.upstream.port },
      variable: upstreamVariable(s),
    })),
  });
}
