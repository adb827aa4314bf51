import { renderTemplate } from './render';
import { NginxTopology } from './topology';
import { upstreamVariable } from './topology/nginx';
import { integerLiteral, nginxVariable, nginxWord } from './sinks';

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

export { upstreamVariable };

/** Renders the whole `/etc/nginx/nginx.conf` (at `nginx.configPath`). Byte-identical for equal inputs. */
export function renderNginxConfig(nginx: NginxTopology): string {
  // Every value is a bare nginx token, checked by its sink function (lib/sinks.ts) before it is written.
  return renderTemplate('nginx.conf.hbs', {
    resolver: nginxWord(nginx.resolver),
    listenPort: integerLiteral(nginx.listenPort),
    publicScheme: nginxWord(nginx.publicScheme),
    publicPort: integerLiteral(nginx.publicPort),
    forwardedSsl: nginx.publicScheme === 'https' ? 'on' : 'off',
    healthPath: nginxWord(NGINX_HEALTH_PATH),
    variablesHashBucketSize: integerLiteral(nginx.variablesHashBucketSize),
    servers: nginx.servers.map((s) => ({
      title: s.kind === 'gitlab' ? `GitLab instance ${nginxWord(s.name)}` : 'Rocket.Chat',
      serverName: nginxWord(s.serverName),
      clientMaxBodySize: nginxWord(s.clientMaxBodySize),
      readTimeout: integerLiteral(s.readTimeoutSeconds),
      upstream: { host: nginxWord(s.upstream.host), port: integerLiteral(s.upstream.port) },
      variable: nginxVariable(upstreamVariable(s)),
    })),
  });
}
