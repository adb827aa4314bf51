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

/**
 * Mozilla's "intermediate" server-side TLS configuration, guideline 6.0 (mozilla/ssl-config-generator,
 * `src/static/guidelines/6.0.json`, 2026-04-06), as its generator renders it for nginx with OpenSSL < 3.5:
 * TLS 1.2 and 1.3, ECDHE with AES-GCM or ChaCha20 only, client cipher preference, 1-day session cache.
 * The groups leave out X25519MLKEM768, which OpenSSL 3.0 (Debian bookworm, hence nginx `-bookworm`
 * images) does not know: nginx would refuse to start.
 */
export const MOZILLA_INTERMEDIATE = {
  guideline: '6.0',
  protocols: ['TLSv1.2', 'TLSv1.3'],
  groups: ['X25519', 'prime256v1', 'secp384r1'],
  ciphers: [
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ],
} as const;

/** Renders the whole `/etc/nginx/nginx.conf` (at `nginx.configPath`). Byte-identical for equal inputs. */
export function renderNginxConfig(nginx: NginxTopology): string {
  const https = nginx.https;
  return renderTemplate('nginx.conf.hbs', {
    resolver: nginx.resolver,
    listenPort: nginx.listenPort,
    publicScheme: nginx.publicScheme,
    publicPort: nginx.publicPort,
    forwardedSsl: nginx.publicScheme === 'https' ? 'on' : 'off',
    healthPath: NGINX_HEALTH_PATH,
    hstsMaxAge: nginx.hstsMaxAge ?? null,
    https: https
      ? {
          listenPort: https.listenPort,
          acmeWebroot: https.acmeWebroot ?? null,
          // Users see publicPort; 443 is implied by https://.
          redirectPort: nginx.publicPort === 443 ? '' : `:${nginx.publicPort}`,
          profile: {
            guideline: MOZILLA_INTERMEDIATE.guideline,
            protocols: MOZILLA_INTERMEDIATE.protocols.join(' '),
            groups: MOZILLA_INTERMEDIATE.groups.join(':'),
            ciphers: MOZILLA_INTERMEDIATE.ciphers.join(':'),
          },
        }
      : null,
    servers: nginx.servers.map((s) => ({
      title: s.kind === 'gitlab' ? `GitLab instance ${s.name}` : 'Rocket.Chat',
      serverName: s.serverName,
      listen: https ? `${https.listenPort} ssl` : String(nginx.listenPort),
      clientMaxBodySize: s.clientMaxBodySize,
      upstream: { host: s.upstream.host, port: s.upstream.port },
      variable: upstreamVariable(s),
      tls: s.tls ? { certificatePath: s.tls.certificatePath, keyPath: s.tls.keyPath, stapling: s.tls.stapling } : null,
    })),
  });
}
