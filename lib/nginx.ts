import { renderTemplate } from './render';
import { NginxTopology } from './topology';
import { upstreamVariable } from './topology/nginx';
import { integerLiteral, nginxVariable, nginxWord } from './sinks';
import { parseImageRef } from './versions';

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

/** How nginx runs: in the foreground, on the config Kytes renders into its config volume. */
export function nginxCommand(nginx: NginxTopology): string[] {
  return ['nginx', '-c', nginx.configPath, '-g', 'daemon off;'];
}

/**
 * A graceful reload (new workers take new connections, old ones finish theirs, WebSockets included),
 * run inside the container; `-c` names the config the master runs, so nginx finds the same pid file.
 */
export function nginxReloadCommand(nginx: NginxTopology): string[] {
  return ['nginx', '-c', nginx.configPath, '-s', 'reload'];
}

/**
 * Mozilla's "intermediate" server-side TLS configuration, guideline 6.0 (mozilla/ssl-config-generator,
 * `src/static/guidelines/6.0.json`, 2026-04-06), as its generator renders it for nginx: TLS 1.2 and 1.3,
 * ECDHE with AES-GCM or ChaCha20 only, client cipher preference, 1-day session cache. The guideline's
 * groups start with the hybrid post-quantum X25519MLKEM768, which only OpenSSL 3.5 and later know; the
 * generator drops it below 3.5 (`src/js/state.js`), and so does {@link tlsGroupsFor}.
 */
export const MOZILLA_INTERMEDIATE = {
  guideline: '6.0',
  protocols: ['TLSv1.2', 'TLSv1.3'],
  groups: ['X25519MLKEM768', 'X25519', 'prime256v1', 'secp384r1'],
  ciphers: [
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ],
} as const;

/** Needs OpenSSL 3.5+: an older OpenSSL refuses the unknown group and nginx does not start. */
const HYBRID_GROUP = 'X25519MLKEM768';

/**
 * The key-exchange groups for the nginx image in use. The hybrid group only where the image is known to
 * link OpenSSL 3.5 or later: the Debian `-trixie` variants (nginx/docker-nginx `stable/debian/Dockerfile`
 * builds on `debian:trixie-slim`, whose libssl is 3.5). Any other tag or a digest-only pin (`-bookworm`
 * links 3.0; Alpine and custom images unknown) gets the groups every OpenSSL 3 knows.
 */
export function tlsGroupsFor(image: string): readonly string[] {
  const tag = parseImageRef(image).tag ?? '';
  return /(^|-)trixie$/.test(tag)
    ? MOZILLA_INTERMEDIATE.groups
    : MOZILLA_INTERMEDIATE.groups.filter((g) => g !== HYBRID_GROUP);
}

/** Renders nginx's whole config (at `nginx.configPath`). Byte-identical for equal inputs. */
export function renderNginxConfig(nginx: NginxTopology): string {
  // Every value is a bare nginx token, checked by its sink function (lib/sinks.ts) before it is written.
  const https = nginx.https;
  return renderTemplate('nginx.conf.hbs', {
    resolver: nginxWord(nginx.resolver),
    listenPort: integerLiteral(nginx.listenPort),
    publicScheme: nginxWord(nginx.publicScheme),
    publicPort: integerLiteral(nginx.publicPort),
    forwardedSsl: nginx.publicScheme === 'https' ? 'on' : 'off',
    healthPath: nginxWord(NGINX_HEALTH_PATH),
    variablesHashBucketSize: integerLiteral(nginx.variablesHashBucketSize),
    hstsMaxAge: nginx.hstsMaxAge === undefined ? null : integerLiteral(nginx.hstsMaxAge),
    https: https
      ? {
          listenPort: integerLiteral(https.listenPort),
          acmeWebroot: https.acmeWebroot === undefined ? null : nginxWord(https.acmeWebroot),
          // Users see publicPort; 443 is implied by https://.
          redirectPort: nginx.publicPort === 443 ? '' : `:${integerLiteral(nginx.publicPort)}`,
          profile: {
            guideline: MOZILLA_INTERMEDIATE.guideline,
            protocols: MOZILLA_INTERMEDIATE.protocols.join(' '),
            groups: tlsGroupsFor(nginx.image).join(':'),
            ciphers: MOZILLA_INTERMEDIATE.ciphers.join(':'),
          },
        }
      : null,
    servers: nginx.servers.map((s) => ({
      title: s.kind === 'gitlab' ? `GitLab instance ${nginxWord(s.name)}` : 'Rocket.Chat',
      serverName: nginxWord(s.serverName),
      listen: https ? `${integerLiteral(https.listenPort)} ssl` : integerLiteral(nginx.listenPort),
      clientMaxBodySize: nginxWord(s.clientMaxBodySize),
      readTimeout: integerLiteral(s.readTimeoutSeconds),
      upstream: { host: nginxWord(s.upstream.host), port: integerLiteral(s.upstream.port) },
      variable: nginxVariable(upstreamVariable(s)),
      tls: s.tls
        ? {
            certificatePath: nginxWord(s.tls.certificatePath),
            keyPath: nginxWord(s.tls.keyPath),
            stapling: s.tls.stapling,
          }
        : null,
    })),
  });
}
